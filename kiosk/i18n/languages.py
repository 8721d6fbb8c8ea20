"""The languages the station knows: their own names, how complete their catalogues are, and the CLDR
locale used for their dates, numbers and money.

`complete` languages are offered to every patron. `draft` languages (the Sámi languages and Kven, whose
catalogues are drafts marked fuzzy until a native speaker has reviewed them) are hidden until a library
enables them with `[station] extra_languages`; even then a language is offered only when its catalogue
has every message (see `kiosk.i18n.catalogues.status`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Completeness(enum.StrEnum):
    COMPLETE = "complete"
    DRAFT = "draft"


@dataclass(frozen=True)
class Language:
    code: str
    name: str  # the endonym, shown the same whatever the current language
    completeness: Completeness
    locale: str  # CLDR locale for dates, numbers and currency
    # CLDR date format: "long" (with the month's name) where CLDR has the names, else a numeric pattern
    date_format: str = "long"
    fallbacks: tuple[str, ...] = ()  # read when a message is missing, before English


_NUMERIC = "dd.MM.yyyy"  # Norwegian usage, for languages without month names in CLDR

_TABLE: tuple[Language, ...] = (
    Language("nb", "Norsk bokmål", Completeness.COMPLETE, "nb_NO"),
    Language("nn", "Norsk nynorsk", Completeness.COMPLETE, "nn_NO", fallbacks=("nb",)),
    Language("se", "Davvisámegiella", Completeness.DRAFT, "se_NO", _NUMERIC, ("nb",)),
    Language("smj", "Julevsámegiella", Completeness.DRAFT, "nb_NO", _NUMERIC, ("nb",)),
    Language("sma", "Åarjelsaemien", Completeness.DRAFT, "nb_NO", _NUMERIC, ("nb",)),
    Language("sms", "Sääʹmǩiõll", Completeness.DRAFT, "nb_NO", _NUMERIC, ("fi", "nb")),
    Language("fkv", "Kväänin kieli", Completeness.DRAFT, "nb_NO", _NUMERIC, ("fi", "nb")),
    Language("fi", "Suomi", Completeness.COMPLETE, "fi_FI"),
    Language("sv", "Svenska", Completeness.COMPLETE, "sv_SE", fallbacks=("nb",)),
    Language("ru", "Русский", Completeness.COMPLETE, "ru_RU"),
    # en_NO: English words with the Norwegian conventions a visitor meets here (13 December 2026, 250,00 kr)
    Language("en", "English", Completeness.COMPLETE, "en_NO"),
)

KNOWN: dict[str, Language] = {language.code: language for language in _TABLE}

# Every language, in the order of the language picker, with its own name.
LANGUAGES: dict[str, str] = {language.code: language.name for language in _TABLE}

COMPLETE_LANGUAGES: tuple[str, ...] = tuple(
    code for code, language in KNOWN.items() if language.completeness is Completeness.COMPLETE
)
DRAFT_LANGUAGES: tuple[str, ...] = tuple(
    code for code, language in KNOWN.items() if language.completeness is Completeness.DRAFT
)

# The staff screen and slips are written in every complete language (not reviewed by native speakers,
# as each catalogue's header says); a draft staff language falls back.
STAFF_LANGUAGES: tuple[str, ...] = COMPLETE_LANGUAGES


class UnknownLanguage(ValueError):
    """A language code the station has no catalogue for (the message lists the known ones)."""


def language(code: str) -> Language:
    try:
        return KNOWN[code]
    except KeyError:
        raise UnknownLanguage(f"unknown language {code!r}: the station knows {', '.join(KNOWN)}") from None


def chain(code: str) -> tuple[str, ...]:
    """Where a message is looked for: the language itself, its fallbacks, then English."""
    found = KNOWN.get(code)
    own = (code, *found.fallbacks) if found is not None else (code,)
    return tuple(dict.fromkeys((*own, "en")))
