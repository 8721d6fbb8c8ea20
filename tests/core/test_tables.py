"""The session's tables, checked against the session itself: every button a screen offers moves the mode
as `PRESSES` lists, every other press and every input in `NO_OPS` leaves the session as it was, and a
change the tables do not list raises. Pure: no I/O, time passed in by hand."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.core import (
    FIRST_STAGES,
    HAPPENINGS,
    ITEM_STEPS,
    NO_OPS,
    PRESSES,
    SCREENS,
    Action,
    Authenticate,
    CardPresented,
    CheckinDone,
    CheckoutDone,
    CirculationFailed,
    Event,
    Happening,
    IllegalTransition,
    ItemStep,
    LanguageChosen,
    Mode,
    OfflineChanged,
    Operation,
    PatronLoaded,
    PatronSession,
    PinEntered,
    Pressed,
    ReceiptPrinted,
    RenewDone,
    SecurityWritten,
    SessionPolicy,
    Show,
    Stage,
    TagsChanged,
    Tick,
    Unexpected,
    next_mode,
    next_stage,
)
from server_api.circulation import CheckinOutcome, CheckoutOutcome, Loan, PatronAccount, RenewOutcome
from tests.core.sessions import DUE, T0, at, feed, item_tag

PATRON = PatronAccount(
    patron_id="N001",
    found=True,
    pin_ok=True,
    name="Máret Ánne",
    may_borrow=True,
    loans=(Loan("loan1", "Giellagáldu", DUE),),
)


def _identified(*first: Event) -> PatronSession:
    session = PatronSession(SessionPolicy(), T0)
    for event in first:
        session.handle(event)
    session.handle(CardPresented("N001", at(2)))
    session.handle(PinEntered("1234", at(3)))
    session.handle(PatronLoaded(PATRON, at(4)))
    return session


# One way to bring a session into each mode, the way a patron would.
IN_MODE: dict[Mode, Callable[[], PatronSession]] = {
    Mode.WELCOME: lambda: PatronSession(SessionPolicy(), T0),
    Mode.IDENTIFY: lambda: feed(PatronSession(SessionPolicy(), T0), Pressed(Action.BORROW, at(1))),
    Mode.PIN: lambda: feed(PatronSession(SessionPolicy(), T0), CardPresented("N001", at(1))),
    Mode.AUTHENTICATING: lambda: feed(
        PatronSession(SessionPolicy(), T0), CardPresented("N001", at(1)), PinEntered("1234", at(2))
    ),
    Mode.MENU: lambda: _identified(),
    Mode.BORROW: lambda: _identified(Pressed(Action.BORROW, at(1))),
    Mode.RETURN: lambda: feed(PatronSession(SessionPolicy(), T0), Pressed(Action.RETURN, at(1))),
    Mode.ACCOUNT: lambda: feed(_identified(), Pressed(Action.ACCOUNT, at(5))),
    Mode.RECEIPT: lambda: feed(
        _identified(Pressed(Action.BORROW, at(1))),
        TagsChanged((item_tag(1),), at(5)),
        CheckoutDone(CheckoutOutcome("item1", ok=True, due=DUE), at(6)),
        SecurityWritten("item1", True, at(7)),
        Pressed(Action.FINISH, at(8)),
    ),
    Mode.GOODBYE: lambda: feed(_identified(), Pressed(Action.FINISH, at(5))),
}


def test_there_is_a_way_into_every_mode():
    for mode, make in IN_MODE.items():
        assert make().mode is mode


def test_every_button_a_screen_offers_is_in_the_table_and_every_listed_button_is_offered():
    offered = {(mode, action) for mode, spec in SCREENS.items() for action in spec.actions + spec.row_actions}
    assert offered == set(PRESSES)


@pytest.mark.parametrize("mode", list(Mode))
@pytest.mark.parametrize("action", list(Action))
def test_every_press_moves_the_mode_as_the_table_lists_or_is_a_stale_press_that_changes_nothing(
    mode: Mode, action: Action
):
    session = IN_MODE[mode]()
    offered = action in session.screen().actions
    items_before = dict(session.items)
    out = session.handle(Pressed(action, at(50)))
    if not offered:
        assert session.mode is mode
        assert session.items == items_before
        assert [c for c in out if not isinstance(c, Show)] == []
        return
    expected = PRESSES[(mode, action)]
    if expected is Mode.RECEIPT and not any(i.stage is Stage.DONE for i in session.items.values()):
        expected = HAPPENINGS[(Mode.RECEIPT, Happening.NOTHING_TO_PRINT)]
    assert session.mode is expected


@pytest.mark.parametrize(("kind", "mode"), sorted(NO_OPS, key=lambda key: (key[0].__name__, key[1].value)))
def test_input_a_mode_does_not_take_is_a_listed_no_op_that_changes_nothing(kind: type, mode: Mode):
    session = IN_MODE[mode]()
    event = {
        CardPresented: CardPresented("N002", at(50)),
        PinEntered: PinEntered("9999", at(50)),
        ReceiptPrinted: ReceiptPrinted(False, at(50), "out of paper"),
    }[kind]
    screen = session.screen()
    out = session.handle(event)
    assert session.mode is mode
    assert [c for c in out if not isinstance(c, Show)] == []
    assert session.screen().message == screen.message


def test_a_mode_change_the_tables_do_not_list_raises():
    assert next_mode(Mode.WELCOME, Action.RETURN) is Mode.RETURN
    with pytest.raises(IllegalTransition):
        next_mode(Mode.WELCOME, Action.FINISH)
    with pytest.raises(IllegalTransition):
        next_mode(Mode.WELCOME, Happening.ENDED)  # nobody to forget
    with pytest.raises(IllegalTransition):
        next_mode(Mode.GOODBYE, Happening.KNOWN)


def test_an_item_stage_change_the_table_does_not_list_raises():
    assert next_stage(Stage.SECURING, ItemStep.WRITTEN) is Stage.DONE
    with pytest.raises(IllegalTransition):
        next_stage(Stage.DONE, ItemStep.WRITTEN)  # never written twice
    with pytest.raises(IllegalTransition):
        next_stage(Stage.REFUSED, ItemStep.ACCEPTED)  # a refusal is final in a session


def _reachable(start: set[str], edges: list[tuple[str, str]]) -> set[str]:
    seen = set(start)
    while True:
        more = {b for a, b in edges if a in seen} - seen
        if not more:
            return seen
        seen |= more


def test_every_mode_can_be_reached_and_every_mode_but_welcome_can_end():
    edges = [(a.value, b.value) for (a, _), b in [*PRESSES.items(), *HAPPENINGS.items()]]
    assert _reachable({Mode.WELCOME.value}, edges) == {m.value for m in Mode}
    assert {mode for (mode, step) in HAPPENINGS if step is Happening.ENDED} == set(Mode) - {Mode.WELCOME}


def test_every_item_stage_can_be_reached_from_where_items_are_born():
    edges = [(a.value, b.value) for (a, _), b in ITEM_STEPS.items()]
    assert _reachable({s.value for s in FIRST_STAGES}, edges) == {s.value for s in Stage}


# -------------------------------------------------------------- whatever happens, the tables hold


@functools.cache
def _chaos(known: tuple[str, ...]) -> st.SearchStrategy[Event]:
    """Any event at all; results name an item the session has (or a stray one) and answer in any way."""
    item = st.sampled_from([*known, "item1", "loan1"])
    t = st.just(T0)  # the test sets the time
    ok = st.booleans()
    return st.one_of(
        st.builds(Pressed, st.sampled_from(list(Action)), t),
        st.builds(CardPresented, st.just("N001"), t),
        st.builds(PinEntered, st.sampled_from(["1234", "0000", "12a", "123456789"]), t),
        st.builds(
            lambda found, pin_ok, may: PatronLoaded(
                PatronAccount("N001", found, pin_ok, may_borrow=may, loans=PATRON.loans), T0
            ),
            ok,
            st.sampled_from([True, False, None]),
            ok,
        ),
        st.builds(
            lambda ns: TagsChanged(tuple(item_tag(n) for n in sorted(set(ns))), T0),
            st.lists(st.integers(1, 3), max_size=3),
        ),
        st.builds(lambda i, ok: CheckoutDone(CheckoutOutcome(i, ok, due=DUE), T0), item, ok),
        st.builds(lambda i, ok: CheckinDone(CheckinOutcome(i, ok), T0), item, ok),
        st.builds(lambda i, ok: RenewDone(RenewOutcome(i, ok, due=DUE), T0), item, ok),
        st.builds(SecurityWritten, item, ok, t),
        st.builds(lambda i, sent: CirculationFailed(Operation.CHECKOUT, i, "x", T0, sent), item, ok),
        st.builds(lambda sent: CirculationFailed(Operation.PATRON, "", "x", T0, sent), ok),
        st.builds(OfflineChanged, ok, t),
        st.builds(ReceiptPrinted, ok, t),
        st.builds(LanguageChosen, st.just("se"), t),
        st.builds(Tick, t),
    )


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(list(Mode)), st.booleans(), st.data())
def test_no_sequence_of_events_makes_the_session_leave_its_tables(
    start: Mode, undo: bool, data: st.DataObject
):
    """Outages, late and doubled replies, stray presses, from any mode: the session never tries a change
    the tables do not list (IllegalTransition), and what it could not take it reports without a PIN."""
    from dataclasses import replace

    from kiosk.core import SecurityFailurePolicy

    session = IN_MODE[start]()
    if undo:
        session.policy = session.stack.policy = replace(
            session.policy, security_failure=SecurityFailurePolicy.UNDO
        )
    now = at(50)
    for _ in range(data.draw(st.integers(5, 40))):
        known = tuple(key for key in session.items if not key.startswith("unreadable"))
        event = data.draw(_chaos(known))
        now += timedelta(seconds=data.draw(st.integers(0, 30)))  # time only moves forward, as at the station
        out = session.handle(replace(event, now=now))
        for command in out:
            if isinstance(command, Unexpected):
                assert "1234" not in repr(command) and "N001" not in repr(command)
        assert session.mode in SCREENS
        assert all(item.stage in Stage for item in session.items.values())


# -------------------------------------------------------------- rows the rule tests elsewhere do not reach


@pytest.mark.parametrize(
    "first", [(), (Pressed(Action.BORROW, at(1)),)], ids=["card on the pad", "after Borrow"]
)
def test_without_a_pin_required_the_card_alone_is_checked_with_the_library_system(first: tuple[Event, ...]):
    session = feed(PatronSession(SessionPolicy(pin_required=False), T0), *first)
    out = session.handle(CardPresented("N001", at(2)))
    assert session.mode is Mode.AUTHENTICATING
    assert [c for c in out if not isinstance(c, Show)] == [Authenticate("N001", None)]


def test_offline_a_card_seen_blocked_after_borrow_opens_the_menu_not_borrowing():
    session = PatronSession(SessionPolicy(), T0, known_blocked={"N001"})
    session.handle(OfflineChanged(True, at(0)))
    session.handle(Pressed(Action.BORROW, at(1)))
    session.handle(CardPresented("N001", at(2)))
    assert session.mode is Mode.MENU
    assert session.screen().message is not None and session.screen().message.key == "menu.offline_blocked"


@pytest.mark.parametrize(
    "mode", [m for m in Mode if m not in (Mode.WELCOME, Mode.AUTHENTICATING, Mode.GOODBYE)]
)
def test_every_mode_a_patron_can_leave_standing_ends_when_idle(mode: Mode):
    session = IN_MODE[mode]()
    session.handle(Tick(at(400)))
    assert session.mode is Mode.WELCOME
    assert session.account is None and session.pin is None and session.items == {}


@pytest.mark.parametrize(
    ("first", "back_to"),
    [((), Mode.WELCOME), ((Pressed(Action.BORROW, at(1)),), Mode.IDENTIFY)],
    ids=["card on the pad", "after Borrow"],
)
def test_a_card_the_library_system_does_not_answer_for_goes_back_where_it_came_and_says_why(
    first: tuple[Event, ...], back_to: Mode
):
    session = feed(
        PatronSession(SessionPolicy(), T0), *first, CardPresented("N001", at(2)), PinEntered("1234", at(3))
    )
    session.handle(CirculationFailed(Operation.PATRON, "", "no reply", at(4)))
    assert session.mode is back_to and session.pin is None
    assert session.screen().message is not None
    assert session.screen().message.key == "identify.service_unavailable"
