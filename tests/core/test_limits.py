"""What a PIN and a card number may be: the rules live in kiosk.core, the keypads only stop at them."""

from __future__ import annotations

from kiosk.core import (
    CARD_NUMBER_MAX_LENGTH,
    PIN_MAX_DIGITS,
    Action,
    Authenticate,
    CardPresented,
    PatronSession,
    PinEntered,
    Pressed,
    ScreenName,
    SessionPolicy,
)
from tests.core.sessions import T0, at


def at_the_pin() -> PatronSession:
    session = PatronSession(SessionPolicy(), T0)
    session.handle(CardPresented("N001", at(1)))
    assert session.screen().name is ScreenName.PIN
    return session


def test_a_pin_of_the_longest_length_is_sent():
    session = at_the_pin()
    out = session.handle(PinEntered("1" * PIN_MAX_DIGITS, at(2)))
    assert [c for c in out if isinstance(c, Authenticate)] == [Authenticate("N001", "1" * PIN_MAX_DIGITS)]


def test_a_pin_longer_than_the_limit_is_not_sent_and_the_patron_is_told_the_limit():
    session = at_the_pin()
    out = session.handle(PinEntered("1" * (PIN_MAX_DIGITS + 1), at(2)))
    assert not [c for c in out if isinstance(c, Authenticate)]
    screen = session.screen()
    assert screen.name is ScreenName.PIN and screen.message is not None
    assert screen.message.key == "pin.too_long" and screen.message.kwargs() == {"digits": str(PIN_MAX_DIGITS)}
    assert session.pin is None


def test_a_pin_of_letters_or_other_scripts_digits_is_not_sent():
    for pin in ("12a4", "", "١٢٣٤", "12 4"):  # Arabic-Indic digits are digits to Python, not to SIP2
        session = at_the_pin()
        out = session.handle(PinEntered(pin, at(2)))
        assert not [c for c in out if isinstance(c, Authenticate)], pin
        assert session.screen().message is not None and session.screen().message.key == "pin.digits_only"


def test_a_card_number_of_the_longest_length_is_taken():
    session = PatronSession(SessionPolicy(), T0)
    session.handle(CardPresented("2" * CARD_NUMBER_MAX_LENGTH, at(1)))
    assert session.screen().name is ScreenName.PIN


def test_an_empty_or_overlong_card_number_is_not_taken_and_the_patron_is_told():
    for card in ("", "   ", "2" * (CARD_NUMBER_MAX_LENGTH + 1)):
        session = PatronSession(SessionPolicy(), T0)
        session.handle(Pressed(Action.BORROW, at(1)))
        session.handle(CardPresented(card, at(2)))
        screen = session.screen()
        assert screen.name is ScreenName.IDENTIFY, card
        assert screen.message is not None and screen.message.key == "identify.card_unknown"
