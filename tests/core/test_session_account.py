"""The account screen's rules: loans (overdue marked), renewing one or all, and what renewing leaves for the
borrow and return screens. Pure: no I/O, time passed in by hand."""

from __future__ import annotations

from datetime import datetime

from kiosk.core import (
    Action,
    CardPresented,
    Checkin,
    Checkout,
    PatronLoaded,
    PatronSession,
    PinEntered,
    Pressed,
    Renew,
    RenewDone,
    RowState,
    ScreenName,
    SessionPolicy,
    TagsChanged,
)
from server_api.circulation import Loan, PatronAccount, RenewOutcome
from tests.core.sessions import T0, at, item_tag, of

OLD_DUE = datetime(2026, 11, 29, 23, 59, 0)
NEW_DUE = datetime(2026, 12, 20, 23, 59, 0)
LOANS = tuple(Loan(f"loan{n}", f"Title {n}", OLD_DUE) for n in range(1, 5))
PATRON = PatronAccount("N001", True, True, name="Máret Ánne", may_borrow=True, loans=LOANS)


def on_the_account_screen(account: PatronAccount = PATRON) -> PatronSession:
    session = PatronSession(SessionPolicy(), T0)
    session.handle(CardPresented("N001", at(1)))
    session.handle(PinEntered("1234", at(2)))
    session.handle(PatronLoaded(account, at(3)))
    session.handle(Pressed(Action.ACCOUNT, at(4)))
    assert session.screen().name is ScreenName.ACCOUNT
    return session


def renewed_all(session: PatronSession) -> None:
    out = session.handle(Pressed(Action.RENEW_ALL, at(5)))
    assert [c.item_id for c in of(out, Renew)] == [loan.item_id for loan in LOANS]  # type: ignore[attr-defined]
    for loan in LOANS:
        session.handle(RenewDone(RenewOutcome(loan.item_id, True, loan.title, NEW_DUE), at(6)))


def test_after_renew_all_back_and_borrow_the_books_placed_are_lent_and_the_renewals_stay_off_the_screen():
    session = on_the_account_screen()
    renewed_all(session)
    session.handle(Pressed(Action.BACK, at(7)))
    session.handle(Pressed(Action.BORROW, at(8)))
    out = session.handle(TagsChanged((item_tag(1, "new1"), item_tag(2, "new2"), item_tag(3, "new3")), at(9)))
    assert [c.item_id for c in of(out, Checkout)] == ["new1", "new2", "new3"]  # type: ignore[attr-defined]
    assert [row.item_id for row in session.screen().rows] == ["new1", "new2", "new3"]


def test_a_renewed_loan_placed_on_the_pad_can_still_be_borrowed_again_or_returned():
    session = on_the_account_screen()
    renewed_all(session)
    session.handle(Pressed(Action.BACK, at(7)))
    session.handle(Pressed(Action.RETURN, at(8)))
    out = session.handle(TagsChanged((item_tag(1, "loan1"),), at(9)))
    assert of(out, Checkin) == [Checkin("loan1")]


def test_after_renewing_the_loan_list_shows_the_new_due_dates():
    session = on_the_account_screen()
    renewed_all(session)
    assert session.account is not None
    assert [loan.due for loan in session.account.loans] == [NEW_DUE] * 4
    rows = session.screen().rows
    assert [row.due for row in rows] == [NEW_DUE] * 4
    assert all(row.state is RowState.DONE and row.text.key == "row.renewed" for row in rows)
    session.handle(Pressed(Action.BACK, at(7)))
    session.handle(Pressed(Action.ACCOUNT, at(8)))
    assert [row.due for row in session.screen().rows] == [NEW_DUE] * 4


def test_one_loan_can_be_renewed_by_its_own_button():
    session = on_the_account_screen()
    rows = session.screen().rows
    assert [row.item_id for row in rows] == ["loan1", "loan2", "loan3", "loan4"]
    assert all(row.actions == (Action.RENEW,) for row in rows)
    out = session.handle(Pressed(Action.RENEW, at(5), item_id="loan2"))
    assert of(out, Renew) == [Renew("N001", "loan2")]
    assert session.screen().rows[1].state is RowState.WORKING
    assert session.screen().rows[1].actions == ()  # in flight: not twice
    session.handle(RenewDone(RenewOutcome("loan2", True, "Title 2", NEW_DUE), at(6)))
    assert session.screen().rows[1].due == NEW_DUE
    assert session.screen().rows[0].due == OLD_DUE


def test_a_renew_press_for_an_item_the_patron_has_not_borrowed_does_nothing():
    session = on_the_account_screen()
    assert of(session.handle(Pressed(Action.RENEW, at(5), item_id="someone-elses")), Renew) == []
    assert of(session.handle(Pressed(Action.RENEW, at(5))), Renew) == []


def test_overdue_loans_are_marked_on_the_account_screen():
    overdue = PatronAccount(
        "N001", True, True, may_borrow=True, loans=(Loan("late", "Late", OLD_DUE, overdue=True), LOANS[0])
    )
    rows = on_the_account_screen(overdue).screen().rows
    assert rows[0].state is RowState.ATTENTION and rows[0].text.key == "account.overdue"
    assert rows[1].state is RowState.ON_LOAN and rows[1].text.key == "account.due"
