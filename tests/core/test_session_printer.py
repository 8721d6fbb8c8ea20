"""Rule 11: a receipt is offered only when the printer can print; otherwise the patron is told before
choosing, and the only choice is no receipt."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.core import (
    Action,
    CardPresented,
    CheckoutDone,
    PadTag,
    PatronLoaded,
    PatronSession,
    PinEntered,
    Pressed,
    PrinterChanged,
    PrintReceipt,
    ScreenName,
    SecurityWritten,
    SessionPolicy,
    Show,
    TagKind,
    TagsChanged,
    Text,
)
from server_api.circulation import CheckoutOutcome, PatronAccount
from tests.core.sessions import DUE, T0, at

BOOK = PadTag(uid=b"\xe0\x04\x01\x00\x00\x00\x00\x01", kind=TagKind.ITEM, item_id="item1")


def at_the_receipt_choice(printer_ok: bool):  # type: ignore[no-untyped-def]
    session = PatronSession(SessionPolicy(), T0)
    session.handle(PrinterChanged(printer_ok, at(0), "ok" if printer_ok else "paper_out"))
    session.handle(Pressed(Action.BORROW, at(1)))
    session.handle(CardPresented("N001", at(2)))
    session.handle(PinEntered("1234", at(3)))
    session.handle(PatronLoaded(PatronAccount("N001", True, True, may_borrow=True), at(4)))
    session.handle(TagsChanged((BOOK,), at(5)))
    session.handle(CheckoutDone(CheckoutOutcome("item1", ok=True, title="Boka", due=DUE), at(6)))
    session.handle(SecurityWritten("item1", True, at(7)))
    session.handle(Pressed(Action.FINISH, at(8)))
    assert session.screen().name is ScreenName.RECEIPT
    return session


def test_with_the_printer_out_of_paper_the_receipt_choice_says_so_and_offers_only_no_receipt() -> None:
    session = at_the_receipt_choice(printer_ok=False)
    screen = session.screen()
    assert screen.actions == (Action.NO_RECEIPT,)
    assert screen.message == Text("receipt.printer_unavailable")
    assert not [
        c for c in session.handle(Pressed(Action.PRINT_RECEIPT, at(9))) if isinstance(c, PrintReceipt)
    ]  # a stale press
    session.handle(Pressed(Action.NO_RECEIPT, at(10)))
    assert session.screen().name is ScreenName.GOODBYE


def test_a_printer_that_comes_back_while_the_patron_chooses_offers_the_receipt_again() -> None:
    session = at_the_receipt_choice(printer_ok=False)
    out = session.handle(PrinterChanged(True, at(9), "ok"))
    (shown,) = [c.screen for c in out if isinstance(c, Show)]
    assert shown.actions == (Action.PRINT_RECEIPT, Action.NO_RECEIPT)
    assert shown.message == Text("receipt.instruction")
    assert [c for c in session.handle(Pressed(Action.PRINT_RECEIPT, at(10))) if isinstance(c, PrintReceipt)]


def test_a_printer_that_can_print_changes_nothing_and_the_state_outlives_the_session() -> None:
    session = at_the_receipt_choice(printer_ok=True)
    assert session.screen().actions == (Action.PRINT_RECEIPT, Action.NO_RECEIPT)
    session.handle(PrinterChanged(False, at(9), "cover_open"))
    session.handle(Pressed(Action.NO_RECEIPT, at(10)))
    assert session.printer_can_print is False  # the printer's state is the station's, not the patron's


_PRESSES = st.sampled_from(
    [Action.BORROW, Action.FINISH, Action.PRINT_RECEIPT, Action.NO_RECEIPT, Action.RETURN]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_PRESSES, st.booleans()), max_size=30))
def test_no_receipt_is_ever_sent_to_a_printer_the_station_said_cannot_print(
    steps: list[Action | bool],
) -> None:
    session = at_the_receipt_choice(printer_ok=True)
    can_print = True
    for n, step in enumerate(steps, start=9):
        if isinstance(step, bool):
            can_print = step
            out = session.handle(PrinterChanged(step, at(n)))
        else:
            out = session.handle(Pressed(step, at(n)))
        if not can_print:
            assert not [c for c in out if isinstance(c, PrintReceipt)]
        if session.screen().name is ScreenName.RECEIPT:
            assert (Action.PRINT_RECEIPT in session.screen().actions) is can_print
