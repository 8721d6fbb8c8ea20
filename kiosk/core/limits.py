"""What a PIN and a card number may look like. The keypads stop at these lengths and the session refuses
anything else with a message, whichever way it came in (keypad, scanner, script)."""

from __future__ import annotations

from kiosk.core.screens import Text

PIN_MAX_DIGITS = 8  # SIP2 PINs are 4-6 digits in the libraries we know; 8 leaves room
CARD_NUMBER_MAX_LENGTH = 20  # the longest library card number (barcode or tag) the keypad takes


def pin_problem(pin: str) -> Text | None:
    """Why `pin` cannot be sent as a PIN, or None. ASCII digits only: it goes into SIP2's AD field."""
    if not (pin.isascii() and pin.isdigit()):
        return Text("pin.digits_only")
    if len(pin) > PIN_MAX_DIGITS:
        return Text.of("pin.too_long", digits=PIN_MAX_DIGITS)
    return None


def card_problem(card_id: str) -> Text | None:
    """Why `card_id` (already stripped) cannot be a library card number, or None."""
    if not card_id or len(card_id) > CARD_NUMBER_MAX_LENGTH:
        return Text("identify.card_unknown")
    return None
