"""Every patron-facing string the UI shows comes through here, from `kiosk.i18n.translate`.

The UI also needs a few strings of its own chrome (button labels, state words, keypad labels). They are
message keys too, so the catalogue owns their wording in every language:

    action.<action>            button label for each `Action` (action.borrow, action.more_time, ...)
    row.state.<state>          word in the row badge (row.state.working|done|refused|attention)
    offline.notice             the discreet offline marker
    idle.warning               the idle overlay's question ("Do you need more time?")
    pin.ok / pin.erase         keypad keys (PIN and card number)
    identify.card_number       caption above the typed card number
    language.choose            caption above the language picker
    staff.*                    the staff screen (in the station's staff language; en and nb only, the
                               others fall back): staff.heading, staff.pending, staff.conflicts,
                               staff.operation.<operation>, staff.reason.<refusal reason>, ...

Language names are endonyms (each language's name in itself), shown the same whatever the current language,
so a patron can always find their own; they are data, not translations.
"""

from __future__ import annotations

from kiosk.core import Text
from kiosk.i18n import LANGUAGES, lookup, translate

# Flag drawn next to each language's own name (names come from kiosk.i18n.LANGUAGES).
FLAGS: dict[str, str] = {
    "nb": "no",
    "nn": "no",
    "se": "sami",
    "smj": "sami",
    "sma": "sami",
    "sms": "sami",
    "fkv": "kven",
    "fi": "fi",
    "sv": "se",
    "ru": "ru",
    "en": "gb",
}


def languages() -> list[tuple[str, str, str]]:
    """(code, endonym, flag) in the order of the picker."""
    return [(code, name, FLAGS.get(code, "")) for code, name in LANGUAGES.items()]


def tr(text: Text | str | None, language: str, **params: object) -> str:
    """Translate a `Text` (or a bare key with parameters) into `language`; None gives ""."""
    if text is None:
        return ""
    if isinstance(text, str):
        text = Text.of(text, **params)
    return translate(text, language)


def tr_optional(key: str, language: str) -> str:
    """UI chrome that may be left out while a catalogue lacks it (the icon still says it): "" if missing."""
    return translate(Text(key), language) if lookup(key, language) is not None else ""
