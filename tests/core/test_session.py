"""The patron session's rules, one scenario per test. Pure: no I/O, time passed in by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.core import (
    AFI_IN_LIBRARY,
    AFI_ON_LOAN,
    Action,
    Authenticate,
    CardBook,
    CardPresented,
    CardRecord,
    CardSource,
    Checkin,
    CheckinDone,
    Checkout,
    CheckoutDone,
    CirculationFailed,
    EndPatronSession,
    OfflineChanged,
    OfflinePolicy,
    Operation,
    PatronLoaded,
    PatronSession,
    PinEntered,
    Pressed,
    PrintReceipt,
    PrintStaffSlip,
    RowState,
    ScreenName,
    SecurityWritten,
    SessionPolicy,
    Show,
    TagsChanged,
    Text,
    Tick,
    WriteSecurity,
    card_pseudonym,
)
from server_api.circulation import (
    CheckinOutcome,
    CheckoutOutcome,
    PatronAccount,
    RefusalReason,
    Route,
    RouteKind,
    SecurityAction,
)
from tests.core.sessions import DUE, T0, at, item_tag, of

PATRON = PatronAccount(patron_id="N001", found=True, pin_ok=True, name="Máret Ánne", may_borrow=True)


def logged_in(policy: SessionPolicy | None = None) -> PatronSession:
    """A session where the demo patron has pressed Borrow, shown the card and typed the right PIN."""
    session = PatronSession(policy or SessionPolicy(), T0)
    session.handle(Pressed(Action.BORROW, at(1)))
    session.handle(CardPresented("N001", at(2)))
    out = session.handle(PinEntered("1234", at(3)))
    assert of(out, Authenticate) == [Authenticate("N001", "1234")]
    session.handle(PatronLoaded(PATRON, at(4)))
    assert session.screen().name is ScreenName.BORROW
    return session


def test_borrowing_a_stack_sends_one_checkout_per_item_at_once():
    session = logged_in()
    out = session.handle(TagsChanged((item_tag(1), item_tag(2), item_tag(3)), at(5)))
    assert [c.item_id for c in of(out, Checkout)] == ["item1", "item2", "item3"]
    assert all(row.state is RowState.WORKING for row in session.screen().rows)


def test_a_loan_is_done_only_after_the_security_write_is_verified():
    session = logged_in()
    session.handle(TagsChanged((item_tag(1),), at(5)))
    out = session.handle(CheckoutDone(CheckoutOutcome("item1", ok=True, title="Giellagáldu", due=DUE), at(6)))
    assert of(out, WriteSecurity) == [WriteSecurity("item1", (item_tag(1).uid,), AFI_ON_LOAN)]
    assert session.screen().rows[0].state is RowState.WORKING
    session.handle(SecurityWritten("item1", True, at(7)))
    row = session.screen().rows[0]
    assert row.state is RowState.DONE
    assert row.text.key == "row.borrowed" and row.text.kwargs()["date"] == "2026-12-13"


def test_the_library_system_can_say_leave_the_security_alone():
    session = logged_in()
    session.handle(TagsChanged((item_tag(1),), at(5)))
    out = session.handle(
        CheckoutDone(CheckoutOutcome("item1", ok=True, due=DUE, security=SecurityAction.LEAVE), at(6))
    )
    assert of(out, WriteSecurity) == []
    assert session.screen().rows[0].state is RowState.DONE


def test_a_failed_security_write_asks_for_the_item_back_and_retries_when_it_returns():
    session = logged_in()
    session.handle(TagsChanged((item_tag(1),), at(5)))
    session.handle(CheckoutDone(CheckoutOutcome("item1", ok=True, due=DUE), at(6)))
    session.handle(SecurityWritten("item1", False, at(7), "tag left the field"))
    row = session.screen().rows[0]
    assert row.state is RowState.ATTENTION and row.text.key == "row.security_failed"
    session.handle(TagsChanged((), at(8)))  # lifted off
    out = session.handle(TagsChanged((item_tag(1),), at(9)))  # put back
    assert of(out, WriteSecurity) == [WriteSecurity("item1", (item_tag(1).uid,), AFI_ON_LOAN)]
    assert of(out, Checkout) == []  # never lent twice


def test_a_set_is_lent_only_when_all_its_parts_are_on_the_pad():
    session = logged_in()
    out = session.handle(TagsChanged((item_tag(1, "cdbox", 1, 2),), at(5)))
    assert of(out, Checkout) == []
    row = session.screen().rows[0]
    assert row.state is RowState.ATTENTION
    assert row.text.key == "row.missing_part" and row.text.kwargs() == {"missing": "2", "parts": "2"}
    out = session.handle(TagsChanged((item_tag(1, "cdbox", 1, 2), item_tag(2, "cdbox", 2, 2)), at(6)))
    assert of(out, Checkout) == [Checkout("N001", "cdbox", "1234")]
    session.handle(CheckoutDone(CheckoutOutcome("cdbox", ok=True, due=DUE), at(7)))
    # both discs get their security written
    assert session.items["cdbox"].uids == (item_tag(1).uid, item_tag(2).uid)


def test_a_refused_loan_shows_the_library_systems_own_words():
    session = logged_in()
    session.handle(TagsChanged((item_tag(1),), at(5)))
    out = session.handle(
        CheckoutDone(
            CheckoutOutcome(
                "item1",
                ok=False,
                reason=RefusalReason.ON_HOLD_FOR_ANOTHER,
                screen_message="Reservert for annen låner",
            ),
            at(6),
        )
    )
    assert of(out, WriteSecurity) == []
    row = session.screen().rows[0]
    assert row.state is RowState.REFUSED
    assert row.text.key == "refusal.on_hold_for_another"
    assert row.text.kwargs()["ils"] == "Reservert for annen låner"


def test_returning_needs_no_card_and_routes_without_naming_the_hold_patron():
    session = PatronSession(SessionPolicy(), T0)
    session.handle(Pressed(Action.RETURN, at(1)))
    out = session.handle(TagsChanged((item_tag(1),), at(2)))
    assert of(out, Checkin) == [Checkin("item1")]
    route = Route(
        RouteKind.HOLD_SHELF,
        "tromso",
        "Tromsø bibliotek",
        hold_patron_id="N007",
        hold_patron_name="Ivan Petrov",
        alert_type="01",
    )
    out = session.handle(CheckinDone(CheckinOutcome("item1", ok=True, title="Book", route=route), at(3)))
    assert of(out, PrintStaffSlip) == [PrintStaffSlip("item1", "Book", route)]
    assert of(out, WriteSecurity) == [WriteSecurity("item1", (item_tag(1).uid,), AFI_IN_LIBRARY)]
    session.handle(SecurityWritten("item1", True, at(4)))
    screen_text = repr(session.screen())
    assert "Ivan" not in screen_text and "N007" not in screen_text
    assert session.screen().rows[0].text.key == "route.hold_shelf"


def test_a_refused_return_leaves_the_security_bit_as_it_was():
    session = PatronSession(SessionPolicy(), T0)
    session.handle(Pressed(Action.RETURN, at(1)))
    session.handle(TagsChanged((item_tag(1),), at(2)))
    out = session.handle(
        CheckinDone(
            CheckinOutcome(
                "item1", ok=False, route=Route(RouteKind.STAFF), reason=RefusalReason.ITEM_NOT_FOUND
            ),
            at(3),
        )
    )
    assert of(out, WriteSecurity) == []
    assert session.screen().rows[0].state is RowState.REFUSED


def test_wrong_pins_are_counted_and_end_with_the_card_resting_for_the_cooldown():
    session = PatronSession(SessionPolicy(max_pin_attempts=3), T0)
    session.handle(CardPresented("N001", at(1)))
    for attempt in range(1, 4):
        session.handle(PinEntered("0000", at(attempt * 2)))
        session.handle(PatronLoaded(PatronAccount("N001", found=True, pin_ok=False), at(attempt * 2 + 1)))
        if attempt < 3:
            assert session.screen().name is ScreenName.PIN
            assert session.screen().message.kwargs() == {"left": str(3 - attempt)}
    assert session.screen().name is ScreenName.WELCOME
    assert session.screen().message == Text.of("pin.resting", minutes=5)
    assert session.pin is None


def test_the_pin_never_shows_in_a_repr():
    assert "1234" not in repr(PinEntered("1234", T0))
    assert "1234" not in repr(Authenticate("N001", "1234"))
    assert "1234" not in repr(Checkout("N001", "item1", "1234"))


def test_idle_sessions_warn_then_end_but_never_while_an_item_is_in_flight():
    policy = SessionPolicy(idle_timeout=timedelta(seconds=60), idle_warning=timedelta(seconds=20))
    session = logged_in(policy)
    session.handle(TagsChanged((item_tag(1),), at(5)))  # checkout in flight
    session.handle(Tick(at(500)))
    assert session.screen().name is ScreenName.BORROW  # waits for the library system
    session.handle(CheckoutDone(CheckoutOutcome("item1", ok=True, due=DUE), at(501)))
    session.handle(SecurityWritten("item1", True, at(502)))
    session.handle(Tick(at(502 + 41)))
    assert session.screen().idle_warning
    session.handle(Pressed(Action.MORE_TIME, at(502 + 45)))
    assert not session.screen().idle_warning
    out = session.handle(Tick(at(502 + 45 + 61)))
    assert of(out, EndPatronSession) == [EndPatronSession("N001")]
    assert session.screen().name is ScreenName.WELCOME
    assert session.account is None and session.pin is None


def a_book_left_on_the_pad() -> PatronSession:
    """A patron borrowed item1, finished, and walked away without it; the session is over."""
    session = logged_in()
    session.handle(TagsChanged((item_tag(1),), at(5)))
    session.handle(CheckoutDone(CheckoutOutcome("item1", ok=True, due=DUE), at(6)))
    session.handle(SecurityWritten("item1", True, at(7)))
    session.handle(Pressed(Action.FINISH, at(8)))
    session.handle(Pressed(Action.NO_RECEIPT, at(9)))
    session.handle(Tick(at(20)))
    return session


def test_items_left_on_the_pad_are_not_taken_by_the_next_patron():
    session = a_book_left_on_the_pad()
    assert session.screen().name is ScreenName.WELCOME
    # the next patron returns; the forgotten book is still lying there
    session.handle(Pressed(Action.RETURN, at(30)))
    out = session.handle(TagsChanged((item_tag(1), item_tag(2)), at(31)))
    assert of(out, Checkin) == [Checkin("item2")]


def test_the_patron_is_told_to_lift_items_the_pad_never_saw_leave():
    """Lifted and put back faster than the pad notices: ignored (rule 8), but never silently."""
    session = a_book_left_on_the_pad()
    session.handle(Pressed(Action.RETURN, at(30)))
    assert session.screen().message is not None
    assert session.screen().message.key == "pad.lift_and_replace"
    session.handle(TagsChanged((), at(31)))  # lifted off
    assert session.screen().message is None or session.screen().message.key != "pad.lift_and_replace"
    out = session.handle(TagsChanged((item_tag(1),), at(32)))  # and back on: now it is returned
    assert of(out, Checkin) == [Checkin("item1")]


def test_a_receipt_lists_what_was_done():
    session = logged_in()
    session.handle(TagsChanged((item_tag(1),), at(5)))
    session.handle(CheckoutDone(CheckoutOutcome("item1", ok=True, title="Boka", due=DUE), at(6)))
    session.handle(SecurityWritten("item1", True, at(7)))
    session.handle(Pressed(Action.FINISH, at(8)))
    assert session.screen().name is ScreenName.RECEIPT
    out = session.handle(Pressed(Action.PRINT_RECEIPT, at(9)))
    (receipt,) = of(out, PrintReceipt)
    assert [line.kwargs()["title"] for line in receipt.lines] == ["Boka"]
    assert session.screen().name is ScreenName.GOODBYE


def test_a_lost_reply_is_reported_not_guessed():
    session = logged_in()
    session.handle(TagsChanged((item_tag(1),), at(5)))
    out = session.handle(CirculationFailed(Operation.CHECKOUT, "item1", "no reply", at(10)))
    assert of(out, WriteSecurity) == []
    assert session.screen().rows[0].text.key == "row.service_error"


def test_a_blocked_patron_may_return_but_not_borrow():
    session = PatronSession(SessionPolicy(), T0)
    session.handle(CardPresented("N009", at(1)))
    session.handle(PinEntered("1111", at(2)))
    blocked = PatronAccount("N009", found=True, pin_ok=True, may_borrow=False, blocks=("card lost",))
    session.handle(PatronLoaded(blocked, at(3)))
    screen = session.screen()
    assert screen.name is ScreenName.MENU
    assert Action.BORROW not in screen.actions and Action.RETURN in screen.actions
    assert screen.message.key == "menu.blocked"
    out = session.handle(Pressed(Action.BORROW, at(4)))  # a stale press does nothing
    assert session.screen().name is ScreenName.MENU and not of(out, Checkout)


# -------------------------------------------------------------- properties

_events = st.one_of(
    st.builds(lambda a, s: Pressed(a, at(s)), st.sampled_from(list(Action)), st.integers(0, 300)),
    st.builds(lambda s: CardPresented("N001", at(s)), st.integers(0, 300)),
    st.builds(
        lambda p, s: PinEntered(p, at(s)), st.sampled_from(["1234", "0000", "12a"]), st.integers(0, 300)
    ),
    st.builds(
        lambda ok, s: PatronLoaded(PatronAccount("N001", True, ok, may_borrow=True), at(s)),
        st.booleans(),
        st.integers(0, 300),
    ),
    st.builds(
        lambda ns, s: TagsChanged(tuple(item_tag(n) for n in sorted(set(ns))), at(s)),
        st.lists(st.integers(1, 4), max_size=4),
        st.integers(0, 300),
    ),
    st.builds(
        lambda n, ok, s: CheckoutDone(CheckoutOutcome(f"item{n}", ok, due=DUE), at(s)),
        st.integers(1, 4),
        st.booleans(),
        st.integers(0, 300),
    ),
    st.builds(
        lambda n, ok, s: CheckinDone(CheckinOutcome(f"item{n}", ok), at(s)),
        st.integers(1, 4),
        st.booleans(),
        st.integers(0, 300),
    ),
    st.builds(
        lambda n, ok, s: SecurityWritten(f"item{n}", ok, at(s)),
        st.integers(1, 4),
        st.booleans(),
        st.integers(0, 300),
    ),
    st.builds(lambda s: Tick(at(s)), st.integers(0, 600)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_events, max_size=40))
def test_any_sequence_of_events_keeps_the_rules(events):
    """Whatever happens: no loan without an identified patron, no item lent twice in one session,
    and the screen always shows something valid."""
    session = PatronSession(SessionPolicy(), T0)
    lent: set[str] = set()
    for event in events:
        out = session.handle(event)
        for command in out:
            if isinstance(command, Checkout):
                assert session.account is not None and session.account.pin_ok
                assert command.item_id not in lent
                lent.add(command.item_id)
            if isinstance(command, Show):
                assert command.screen.name in ScreenName
        if session.mode.value == "welcome":
            lent.clear()
            assert session.pin is None


def test_an_identified_patron_can_switch_from_returning_to_borrowing_without_re_lending_returns():
    session = logged_in()
    session.handle(Pressed(Action.RETURN, at(5)))
    out = session.handle(TagsChanged((item_tag(1),), at(6)))
    assert of(out, Checkin) == [Checkin("item1")]
    session.handle(CheckinDone(CheckinOutcome("item1", ok=True), at(7)))
    session.handle(SecurityWritten("item1", True, at(8)))
    assert Action.BORROW in session.screen().actions
    out = session.handle(Pressed(Action.BORROW, at(9)))
    assert of(out, Checkout) == []  # the returned book still on the pad is not lent again
    out = session.handle(TagsChanged((item_tag(1), item_tag(2)), at(10)))
    assert of(out, Checkout) == [Checkout("N001", "item2", "1234")]


def test_returning_without_a_card_offers_no_borrowing():
    session = PatronSession(SessionPolicy(), T0)
    session.handle(Pressed(Action.RETURN, at(1)))
    assert Action.BORROW not in session.screen().actions


def test_the_staff_slip_says_who_a_hold_is_for_with_what_the_library_system_gave():
    from kiosk.station import hold_patron_label

    def shelf(name: str, patron_id: str) -> Route:
        return Route(RouteKind.HOLD_SHELF, hold_patron_name=name, hold_patron_id=patron_id)

    assert hold_patron_label(shelf("Aili Kemi", "219000000003")) == "Aili Kemi (219000000003)"
    assert hold_patron_label(shelf("Aili Kemi", "")) == "Aili Kemi"  # a profile whose CY is internal
    assert hold_patron_label(shelf("", "219000000003")) == "219000000003"


# ---------------------------------------------------------------- offline (rule 10)


KEY = card_pseudonym(b"a station's secret, 32 bytes ...")


def known_cards(*cards: str, blocked: bool = False) -> CardBook:
    """Cards the station saw accepted online yesterday."""
    yesterday = T0 - timedelta(days=1)
    return CardBook(KEY, {KEY(c): CardRecord(blocked, authenticated_at=yesterday) for c in cards})


def offline_session(policy: SessionPolicy | None = None, **memory) -> PatronSession:  # type: ignore[no-untyped-def]
    memory.setdefault("cards", known_cards("N001"))
    session = PatronSession(policy or SessionPolicy(), T0, **memory)
    session.handle(OfflineChanged(True, T0))
    return session


def offline_borrower(policy: SessionPolicy | None = None, **memory) -> PatronSession:  # type: ignore[no-untyped-def]
    """The patron of a known card, scanned with the station's serial scanner, after pressing Borrow."""
    session = offline_session(policy, **memory)
    session.handle(Pressed(Action.BORROW, at(1)))
    out = session.handle(CardPresented("N001", at(2), CardSource.SERIAL_SCANNER))
    assert of(out, Authenticate) == []  # nothing to ask: the library system is out of reach
    assert session.screen().name is ScreenName.BORROW  # and no PIN: it could not be checked
    return session


def test_offline_a_card_alone_opens_the_session_and_no_pin_goes_anywhere():
    session = offline_borrower()
    out = session.handle(TagsChanged((item_tag(1),), at(5)))
    (checkout,) = of(out, Checkout)
    assert checkout.offline and checkout.pin is None
    assert checkout.due == datetime(2026, 12, 6, 23, 59)  # loan_days (14) ahead, at 23:59
    assert session.screen().offline


def test_offline_loans_stop_at_the_session_limit_with_a_reason():
    session = offline_borrower(SessionPolicy(offline=OfflinePolicy(max_items_per_session=2)))
    out = session.handle(TagsChanged(tuple(item_tag(n) for n in (1, 2, 3)), at(5)))
    assert len(of(out, Checkout)) == 2
    refused = [row for row in session.screen().rows if row.state is RowState.REFUSED]
    assert [row.text.key for row in refused] == ["refusal.offline_limit"]


def test_offline_loans_count_what_the_patron_borrowed_offline_before():
    """Across visits and restarts: the journal's count of unconfirmed offline loans comes in."""
    policy = SessionPolicy(offline=OfflinePolicy(max_items_per_patron=3))
    session = offline_borrower(policy, offline_loans={"N001": 2})
    out = session.handle(TagsChanged((item_tag(1), item_tag(2)), at(5)))
    assert len(of(out, Checkout)) == 1


def test_offline_a_card_the_library_system_called_blocked_may_return_but_not_borrow():
    session = offline_session(cards=known_cards("N001", blocked=True))
    session.handle(CardPresented("N001", at(2), CardSource.PAD))
    screen = session.screen()
    assert screen.name is ScreenName.MENU and screen.message is not None
    assert screen.message.key == "menu.offline_blocked"
    session.handle(Pressed(Action.BORROW, at(3)))
    assert of(session.handle(TagsChanged((item_tag(1),), at(4))), Checkout) == []
    session.handle(Pressed(Action.RETURN, at(5)))
    assert of(session.handle(TagsChanged((item_tag(2),), at(6))), Checkin) == [Checkin("item2", offline=True)]


def test_offline_without_borrowing_returns_still_work():
    session = offline_session(SessionPolicy(offline=OfflinePolicy(borrowing=False)))
    session.handle(CardPresented("N001", at(2)))
    assert session.screen().message is not None
    assert session.screen().message.key == "menu.offline_no_borrowing"
    session.handle(Pressed(Action.RETURN, at(3)))
    out = session.handle(TagsChanged((item_tag(1),), at(4)))
    assert of(out, Checkin) == [Checkin("item1", offline=True)]


def test_an_item_that_never_reached_the_library_system_is_redone_offline():
    """The line went down under the request: certainly not sent, so it is taken under the offline
    policy once the station works offline (one that may have been sent is never redone)."""
    session = logged_in()
    session.handle(TagsChanged((item_tag(1), item_tag(2)), at(5)))
    session.handle(CirculationFailed(Operation.CHECKOUT, "item1", "refused", at(6), sent=False))
    session.handle(CirculationFailed(Operation.CHECKOUT, "item2", "no reply", at(6), sent=True))
    out = session.handle(OfflineChanged(True, at(7)))
    assert [c.item_id for c in of(out, Checkout)] == ["item1"]
    assert of(out, Checkout)[0].offline
