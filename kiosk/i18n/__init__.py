"""Patron-facing text in the patron's language: gettext catalogues managed and compiled with Babel, and
dates, numbers and money formatted with Babel in the patron's locale.

Messages are keys (`Text("pin.wrong", left=2)`); each language's `<code>.po` in this folder holds their
wording, with plural forms where a number is counted (`PLURALS`). A key missing in a language falls back
along the language's chain (Sámi and Kven readers in Norway read bokmål; Skolt Sámi and Kven readers
often Finnish), then English, then the key itself, so a gap is a readable line, never a crash; the tests
fail on any gap in a complete catalogue.

What a library system said in its own words (the `ils` parameter of a refusal) is never put into our
sentences: `library_words(text)` gives it to the UI, which shows it apart, as the library's words.

Which languages a patron is offered: `offered_languages()`. The complete ones always; the drafts only
after `enable_languages([...])` (the station calls it with `[station] extra_languages`), and only when
their catalogue has every message. See docs/TRANSLATING.md.
"""

from __future__ import annotations

from collections.abc import Iterable

from kiosk.core import Text
from kiosk.i18n.catalogues import PLURALS, CatalogueError, CatalogueStatus, status, translations
from kiosk.i18n.formatting import format_date, format_money, format_number
from kiosk.i18n.languages import (
    COMPLETE_LANGUAGES,
    DRAFT_LANGUAGES,
    LANGUAGES,
    STAFF_LANGUAGES,
    UnknownLanguage,
    language,
)

__all__ = [
    "COMPLETE_LANGUAGES",
    "DRAFT_LANGUAGES",
    "LANGUAGES",
    "LIBRARY_WORDS_PARAM",
    "PLURALS",
    "STAFF_LANGUAGES",
    "CatalogueError",
    "CatalogueStatus",
    "UnknownLanguage",
    "enable_languages",
    "enabled_drafts",
    "format_date",
    "format_money",
    "format_number",
    "library_words",
    "lookup",
    "offered_languages",
    "status",
    "translate",
]

LIBRARY_WORDS_PARAM = "ils"  # a Text parameter holding the library system's own message

_enabled: frozenset[str] = frozenset()


def enable_languages(codes: Iterable[str]) -> tuple[str, ...]:
    """Offer these draft languages too (from `[station] extra_languages`); returns what is now offered.
    Raises UnknownLanguage for a code that is not a draft language."""
    global _enabled
    wanted = frozenset(codes)
    for code in sorted(wanted):
        if language(code).code not in DRAFT_LANGUAGES:
            raise UnknownLanguage(
                f"{code!r} is offered already; extra_languages takes draft languages: "
                + ", ".join(DRAFT_LANGUAGES)
            )
    _enabled = wanted
    translations.cache_clear()
    return offered_languages()


def enabled_drafts() -> frozenset[str]:
    return _enabled


def offered_languages() -> tuple[str, ...]:
    """The languages a patron may choose, in the picker's order: complete ones, and enabled drafts whose
    catalogue has every message (a button that would show another language is never offered)."""
    patron_keys = _patron_keys()
    return tuple(
        code
        for code in LANGUAGES
        if code in COMPLETE_LANGUAGES or (code in _enabled and status(code, patron_keys).complete)
    )


def _patron_keys() -> set[str]:
    from kiosk.i18n.template import patron_keys

    return patron_keys()


def _raw(key: str, language: str, count: int | None) -> str | None:
    found = translations(language, _enabled)
    text = found.ngettext(key, key, count) if count is not None else found.gettext(key)
    return None if text == key else str(text)


def _count(key: str, params: dict[str, str]) -> int | None:
    name = PLURALS.get(key)
    if name is None:
        return None
    try:
        return int(params.get(name, ""))
    except ValueError:
        return 0  # a count that is not a number reads as the "other" form


def lookup(key: str, language: str) -> str | None:
    """The message's wording in `language` (or its fallbacks), None when no catalogue has it."""
    return _raw(key, language, 1 if key in PLURALS else None)


def _formatted(params: dict[str, str], language: str) -> dict[str, str]:
    if params.get("date"):
        params["date"] = format_date(params["date"], language)
    if params.get("amount"):
        params["amount"] = format_money(params["amount"], language, params.get("currency", ""))
    return params


def translate(text: Text, language: str) -> str:
    """The message in `language`, with its dates and money in the patron's locale; the library system's
    own words (`ils`) are left out: see `library_words`."""
    params = text.kwargs()
    template = _raw(text.key, language, _count(text.key, params))
    if template is None:
        return text.key
    try:
        return template.format(**_formatted(params, language))
    except (KeyError, IndexError, ValueError):
        # A translation with a broken placeholder must not take the screen down (the tests catch it).
        return template


def library_words(text: Text | None) -> str:
    """What the library system said in its own words, to be shown apart ("" when it said nothing)."""
    if text is None:
        return ""
    return text.kwargs().get(LIBRARY_WORDS_PARAM, "").strip()
