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
so a patron can always find their own; they are data, not translations. No flags: a flag stands for a
country, and Sámi, Kven, Swedish or Russian speakers are not one country each.

What the library system said in its own words (`library_words`) is shown apart, as the library's words.
"""

from __future__ import annotations

from kiosk.core import Text
from kiosk.i18n import LANGUAGES, library_words, lookup, offered_languages, translate

# Messages that report something gone wrong: shown as errors (icon, colour, and the words), never as a
# plain instruction. Keys or key prefixes.
ERROR_KEYS = (
    "identify.card_unknown",
    "identify.service_unavailable",
    "pin.wrong",
    "pin.too_many_attempts",
    "pin.digits_only",
    "pin.too_long",
    "menu.blocked",
    "menu.offline_blocked",
    "goodbye.receipt_failed",
    "out_of_order.",
    "refusal.",
    "row.service_error",
    "row.unreadable",
)


def languages() -> list[tuple[str, str]]:
    """(code, endonym) of the languages offered to patrons, in the picker's order."""
    return [(code, LANGUAGES[code]) for code in offered_languages()]


def is_error(text: Text | None) -> bool:
    return text is not None and any(
        text.key == k or (k.endswith(".") and text.key.startswith(k)) for k in ERROR_KEYS
    )


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


__all__ = ["ERROR_KEYS", "is_error", "languages", "library_words", "tr", "tr_optional"]
