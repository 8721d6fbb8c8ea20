"""Offline is not an open door, and a PIN cannot be guessed by re-placing the card (rules 9 and 10).

Each test name is a rule: how a card arrived, its format, whether the station knows it, the per-card PIN
rest across sessions, and that what is remembered of a card is stored under a keyed pseudonym.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import pytest

from kiosk.core import (
    Action,
    Authenticate,
    CardBook,
    CardFormat,
    CardPresented,
    CardRecord,
    CardSource,
    CheckDigit,
    Checkout,
    CheckoutDone,
    OfflineChanged,
    OfflinePolicy,
    PadTag,
    PatronLoaded,
    PatronSession,
    PinEntered,
    Pressed,
    RememberCard,
    ScreenName,
    SecurityWritten,
    SessionPolicy,
    TagKind,
    TagsChanged,
    Text,
    Tick,
    card_pseudonym,
    is_physical,
)
from server_api.circulation import CheckoutOutcome, PatronAccount
from tests.core.sessions import T0, at, item_tag, of

SECRET = b"this station's own 32-byte key.."
KEY = card_pseudonym(SECRET)
CARD = "79927398713"  # passes Luhn


def card_on_pad(card_id: str = CARD) -> PadTag:
    return PadTag(uid=b"\xe0\x04\x01\x00\x00\x00\x01\xff", kind=TagKind.PATRON_CARD, item_id=card_id)


def seen(*cards: str, ago: timedelta = timedelta(days=1), listed: bool = False) -> CardBook:
    """Cards this station saw accepted online `ago` (or listed by the central service)."""
    record = CardRecord(authenticated_at=None if listed else T0 - ago, listed=listed)
    return CardBook(KEY, {KEY(card): record for card in cards})


def offline(policy: SessionPolicy | None = None, cards: CardBook | None = None) -> PatronSession:
    session = PatronSession(policy or SessionPolicy(), T0, cards=cards if cards is not None else seen(CARD))
    session.handle(OfflineChanged(True, T0))
    return session


def may_borrow_offline(session: PatronSession, event: CardPresented | TagsChanged) -> bool:
    """Show the card after pressing Borrow; then try to borrow an item."""
    session.handle(Pressed(Action.BORROW, at(1)))
    session.handle(event)
    out = session.handle(TagsChanged((*session.pad, item_tag(1)), at(3)))
    return bool(of(out, Checkout))


def refusal(session: PatronSession) -> str:
    message = session.screen().message
    return message.key if message is not None else ""


# ---------------------------------------------------------------- how the card arrived


def test_offline_a_known_card_read_from_the_pad_borrows():
    session = offline()
    assert may_borrow_offline(session, TagsChanged((card_on_pad(),), at(2)))


def test_offline_an_invented_card_number_typed_at_the_keypad_borrows_nothing():
    for invented in ("12345678", "20000000001", "N0042"):
        session = offline(cards=seen())
        assert not may_borrow_offline(session, CardPresented(invented, at(2)))
        assert session.screen().name is ScreenName.MENU  # returns stay possible
        assert refusal(session) == "menu.offline_card_typed"


def test_offline_a_real_patrons_number_typed_in_is_refused_because_it_was_typed():
    session = offline()  # the card is known: only the way it arrived is wrong
    assert not may_borrow_offline(session, CardPresented(CARD, at(2), CardSource.KEYPAD))
    assert refusal(session) == "menu.offline_card_typed"


def test_digits_from_a_keypad_are_typing_whatever_device_sends_them():
    assert not is_physical(CardSource.KEYPAD, "usb-Honeywell_Scanner-event-kbd")
    assert CardPresented(CARD, T0).source is CardSource.KEYPAD  # the default is typing


def test_a_wedge_scanner_counts_as_a_reader_only_when_the_station_names_its_input_device():
    assert is_physical(CardSource.WEDGE_SCANNER, "/dev/input/by-id/usb-Datalogic-event-kbd")
    assert not is_physical(CardSource.WEDGE_SCANNER, "")
    assert is_physical(CardSource.SERIAL_SCANNER, "") and is_physical(CardSource.PAD, "")
    session = offline()
    assert may_borrow_offline(session, CardPresented(CARD, at(2), CardSource.WEDGE_SCANNER, "event3"))


# ---------------------------------------------------------------- the library's card format


def test_the_card_format_checks_prefix_length_and_check_digit():
    luhn = CardFormat(prefixes=("799",), min_length=11, max_length=11, check_digit=CheckDigit.LUHN)
    assert luhn.accepts("79927398713")
    assert not luhn.accepts("79927398710")  # wrong check digit
    assert not luhn.accepts("89927398713")  # wrong prefix
    assert not luhn.accepts("7992739871")  # too short
    assert CardFormat().accepts("N001")  # the default: any number the keypad takes
    assert CardFormat(check_digit=CheckDigit.MOD_11_2).accepts("0000000280784807")  # ISO 7064 vector


def test_offline_a_scanned_number_that_fails_the_librarys_format_is_refused():
    policy = SessionPolicy(offline=OfflinePolicy(card_format=CardFormat(check_digit=CheckDigit.LUHN)))
    session = offline(policy, cards=seen("79927398710"))
    assert not may_borrow_offline(session, CardPresented("79927398710", at(2), CardSource.SERIAL_SCANNER))
    assert refusal(session) == "menu.offline_card_format"


# ---------------------------------------------------------------- a card the station knows


def test_offline_a_card_tag_this_station_never_saw_accepted_may_only_return():
    """A blank tag written with an invented (or a real) number is physical; nobody vouches for it."""
    session = offline(cards=seen())
    assert not may_borrow_offline(session, TagsChanged((card_on_pad(),), at(2)))
    assert refusal(session) == "menu.offline_card_not_known"


def test_offline_a_card_accepted_longer_ago_than_known_for_is_no_longer_known():
    policy = SessionPolicy(offline=OfflinePolicy(known_for=timedelta(days=30)))
    assert may_borrow_offline(
        offline(policy, seen(CARD, ago=timedelta(days=29))), TagsChanged((card_on_pad(),), at(2))
    )
    stale = offline(policy, seen(CARD, ago=timedelta(days=31)))
    assert not may_borrow_offline(stale, TagsChanged((card_on_pad(),), at(2)))


def test_offline_a_card_on_the_central_list_is_known_without_having_been_seen_here():
    session = offline(cards=seen(CARD, listed=True))
    assert may_borrow_offline(session, TagsChanged((card_on_pad(),), at(2)))


def test_a_card_accepted_online_is_known_offline_afterwards_and_the_station_remembers_it():
    session = PatronSession(SessionPolicy(pin_required=False), T0, cards=CardBook(KEY))
    session.handle(TagsChanged((card_on_pad(),), at(1)))
    out = session.handle(PatronLoaded(PatronAccount(CARD, found=True, pin_ok=None, may_borrow=True), at(2)))
    (remember,) = of(out, RememberCard)
    assert remember.record.authenticated_at == at(2) and not remember.record.blocked
    session.handle(Pressed(Action.FINISH, at(3)))
    session.handle(Pressed(Action.NO_RECEIPT, at(4)))
    session.handle(OfflineChanged(True, at(5)))
    session.handle(TagsChanged((), at(10)))  # the card is lifted off
    assert may_borrow_offline_after_goodbye(session)


def may_borrow_offline_after_goodbye(session: PatronSession) -> bool:
    session.handle(Tick(at(60)))
    assert session.screen().name is ScreenName.WELCOME
    session.handle(Pressed(Action.BORROW, at(61)))
    session.handle(TagsChanged((card_on_pad(),), at(62)))
    return bool(of(session.handle(TagsChanged((card_on_pad(), item_tag(1)), at(63))), Checkout))


# ---------------------------------------------------------------- the switches


def test_the_default_offline_policy_has_every_card_rule_switched_on():
    policy = OfflinePolicy()
    assert policy.physical_card and policy.known_card and policy.known_for == timedelta(days=30)


@pytest.mark.parametrize(
    ("switch", "event"),
    [
        ({"physical_card": False}, CardPresented(CARD, at(2))),
        ({"known_card": False}, TagsChanged((card_on_pad(),), at(2))),
    ],
)
def test_each_offline_card_rule_is_a_policy_switch(
    switch: dict[str, bool], event: CardPresented | TagsChanged
) -> None:
    cards = seen(CARD) if "physical_card" in switch else seen()
    assert not may_borrow_offline(offline(cards=cards), event)
    assert may_borrow_offline(offline(SessionPolicy(offline=OfflinePolicy(**switch)), cards), event)


def test_offline_loans_per_card_hold_across_the_sessions_of_one_run():
    policy = SessionPolicy(offline=OfflinePolicy(max_items_per_patron=1), goodbye_time=timedelta(0))
    session = offline(policy)
    assert may_borrow_offline(session, TagsChanged((card_on_pad(),), at(2)))
    session.handle(CheckoutDone(CheckoutOutcome("item1", ok=True, due=at(99)), at(4)))
    session.handle(SecurityWritten("item1", True, at(5)))
    session.handle(Pressed(Action.FINISH, at(6)))
    session.handle(Pressed(Action.NO_RECEIPT, at(7)))
    session.handle(TagsChanged((), at(8)))
    assert not may_borrow_offline_after_goodbye(session)


# ---------------------------------------------------------------- PIN guessing


def wrong_pin_session(session: PatronSession, start: float, tries: int = 3) -> int:
    """One visit: the card placed, wrong PINs until the session ends; the PINs the library system got."""
    sent = 0
    session.handle(TagsChanged((card_on_pad(),), at(start)))
    for n in range(tries):
        if session.screen().name is not ScreenName.PIN:
            break
        sent += len(of(session.handle(PinEntered("0000", at(start + 1 + 2 * n))), Authenticate))
        session.handle(PatronLoaded(PatronAccount(CARD, found=True, pin_ok=False), at(start + 2 + 2 * n)))
    session.handle(Pressed(Action.CANCEL, at(start + 9)))  # gives up (if the session has not ended)
    session.handle(TagsChanged((), at(start + 10)))  # and lifts the card off
    return sent


def test_re_placing_the_card_does_not_give_fresh_pin_tries():
    session = PatronSession(SessionPolicy(max_pin_attempts=3), T0, cards=CardBook(KEY))
    assert wrong_pin_session(session, 0, tries=2) == 2
    assert wrong_pin_session(session, 20) == 1  # the third wrong PIN in a row, whatever the session
    assert session.screen().message == Text.of("pin.resting", minutes=5)


def test_a_resting_cards_pin_never_reaches_the_library_system_and_the_patron_is_told_how_long():
    session = PatronSession(SessionPolicy(), T0, cards=CardBook(KEY))
    wrong_pin_session(session, 0)
    out = session.handle(TagsChanged((card_on_pad(),), at(70)))
    assert session.screen().name is ScreenName.WELCOME  # no PIN screen: nothing to guess with
    assert session.screen().message == Text.of("pin.resting", minutes=4)  # 5 min from the last wrong PIN
    assert of(out, Authenticate) == []


def test_thirty_wrong_pins_in_ten_sessions_reach_the_library_system_only_between_growing_rests():
    session = PatronSession(SessionPolicy(), T0, cards=CardBook(KEY))
    sent = sum(wrong_pin_session(session, visit * 30) for visit in range(10))  # ten visits in five minutes
    assert sent == 3  # the other 27 guesses met a resting card
    # The first rest (5 minutes) is over: one more guess, and the rest doubles.
    assert wrong_pin_session(session, 310) == 1
    assert session.screen().message == Text.of("pin.resting", minutes=10)
    assert session.identity.cards.recall(CARD).pin_failures == 4


def test_the_longest_rest_is_pin_cooldown_max():
    policy = SessionPolicy(pin_cooldown=timedelta(hours=1), pin_cooldown_max=timedelta(hours=2))
    record = CardRecord(pin_failures=20, pin_failed_at=T0)
    session = PatronSession(policy, T0, cards=CardBook(KEY, {KEY(CARD): record}))
    session.handle(TagsChanged((card_on_pad(),), at(1)))
    assert session.screen().message == Text.of("pin.resting", minutes=120)


def test_the_right_pin_clears_the_count_of_wrong_ones():
    session = PatronSession(SessionPolicy(), T0, cards=CardBook(KEY))
    wrong_pin_session(session, 0, tries=2)
    session.handle(TagsChanged((card_on_pad(),), at(20)))
    session.handle(PinEntered("1234", at(21)))
    out = session.handle(PatronLoaded(PatronAccount(CARD, found=True, pin_ok=True), at(22)))
    (remember,) = of(out, RememberCard)
    assert remember.record.pin_failures == 0 and remember.record.pin_failed_at is None


def test_without_a_cooldown_a_session_still_ends_after_max_pin_attempts():
    session = PatronSession(SessionPolicy(pin_cooldown=timedelta(0)), T0, cards=CardBook(KEY))
    assert wrong_pin_session(session, 0, tries=5) == 3
    assert session.screen().message == Text("pin.too_many_attempts")


# ---------------------------------------------------------------- what is remembered, and under what


def test_what_the_station_remembers_of_a_card_is_stored_under_a_keyed_pseudonym_never_the_number():
    session = PatronSession(SessionPolicy(), T0, cards=CardBook(KEY))
    wrong_pin_session(session, 0, tries=1)
    (key,) = session.identity.cards.records
    assert key == hmac.new(SECRET, CARD.encode(), hashlib.sha256).hexdigest()
    assert key != hashlib.sha256(CARD.encode()).hexdigest()  # not an unkeyed hash
    assert CARD not in key and card_pseudonym(b"another station's key, 32 bytes.")(CARD) != key
    assert CARD not in repr(RememberCard(CARD, False, key, CardRecord()))


def test_a_pseudonym_key_must_be_a_real_secret():
    with pytest.raises(ValueError, match="16 bytes"):
        card_pseudonym(b"short")


def test_a_session_end_forgets_the_records_no_rule_needs_any_more():
    old = CardRecord(authenticated_at=T0 - timedelta(days=400))
    book = CardBook(KEY, {KEY("old"): old, KEY("blocked"): CardRecord(blocked=True), KEY(CARD): CardRecord()})
    book.records[KEY(CARD)] = CardRecord(authenticated_at=T0)
    book.forget_before(T0 - timedelta(days=30))
    assert set(book.records) == {KEY("blocked"), KEY(CARD)}
