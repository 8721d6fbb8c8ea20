"""Patron-facing text in the patron's language.

Catalogues are gettext `.po` files in this folder (`<language>.po`, msgid = message key). They are read
directly at start-up: the files are small, and reading the source keeps translators' edits live without a
compile step on the device. A key missing in a language falls back along `FALLBACKS` (Sámi and Kven
speakers in Norway read bokmål; Skolt Sámi speakers in Neiden often read Finnish), then English, then
the key itself, so a gap shows up as a readable English line rather than a crash.
"""

from __future__ import annotations

import functools
import re
from datetime import date, datetime
from pathlib import Path

from kiosk.core import Text

CATALOGUE_DIR = Path(__file__).parent

# Languages the station offers, in the order of the language picker, with their own names.
LANGUAGES: dict[str, str] = {
    "nb": "Norsk bokmål",
    "nn": "Norsk nynorsk",
    "se": "Davvisámegiella",
    "smj": "Julevsámegiella",
    "sma": "Åarjelsaemien",
    "sms": "Sääʹmǩiõll",
    "fkv": "Kväänin kieli",
    "fi": "Suomi",
    "sv": "Svenska",
    "ru": "Русский",
    "en": "English",
}

FALLBACKS: dict[str, tuple[str, ...]] = {
    "nn": ("nb",),
    "se": ("nb",),
    "smj": ("nb",),
    "sma": ("nb",),
    "sms": ("fi", "nb"),
    "fkv": ("fi", "nb"),
    "sv": ("nb",),
}

DATE_FORMATS: dict[str, str] = {
    "en": "%d %b %Y",
    "fi": "%d.%m.%Y",
    "fkv": "%d.%m.%Y",
    "ru": "%d.%m.%Y",
    "sv": "%Y-%m-%d",
}
DEFAULT_DATE_FORMAT = "%d.%m.%Y"  # Norwegian and Sámi usage

_ENTRY = re.compile(r'^msgid\s+"(?P<id>.*)"\s*\nmsgstr\s+"(?P<str>.*)"', re.MULTILINE)


def parse_po(text: str) -> dict[str, str]:
    """Single-line msgid/msgstr pairs; the catalogues are written that way on purpose (one line each)."""
    entries: dict[str, str] = {}
    for match in _ENTRY.finditer(text):
        key, value = match.group("id"), match.group("str")
        if key and value:
            entries[key] = value.replace('\\"', '"').replace("\\n", "\n")
    return entries


@functools.cache
def catalogue(language: str) -> dict[str, str]:
    path = CATALOGUE_DIR / f"{language}.po"
    if not path.exists():
        return {}
    return parse_po(path.read_text(encoding="utf-8"))


def _chain(language: str) -> tuple[str, ...]:
    return (language, *FALLBACKS.get(language, ()), "en")


def format_date(value: str | date, language: str) -> str:
    when = value if isinstance(value, date) else datetime.fromisoformat(value)
    return when.strftime(DATE_FORMATS.get(language, DEFAULT_DATE_FORMAT))


def lookup(key: str, language: str) -> str | None:
    for lang in _chain(language):
        found = catalogue(lang).get(key)
        if found is not None:
            return found
    return None


def translate(text: Text, language: str) -> str:
    """The message in `language`; parameters named `date` are formatted as a local date."""
    template = lookup(text.key, language)
    if template is None:
        return text.key
    params = text.kwargs()
    if params.get("date"):
        params["date"] = format_date(params["date"], language)
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        # A translation with a broken placeholder must not take the screen down.
        return template
