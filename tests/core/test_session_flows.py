"""Every flow complete: the account (holds, fees, offline), receipt texts that match what happened, nothing
of one patron left for the next, and only the languages the station offers. Pure: time passed in by hand."""

from __future__ import annotations

from datetime import timedelta

from kiosk.core import (
    Action,
    CardPresented,
    CheckinDone,
    CheckoutDone,
    LanguageChosen,
    OfflineChanged,
    PatronLoaded,
    PatronSession,
    PinEntered,
    Pressed,
    RenewDone,
    ScreenName,
    SecurityWritten,
    SessionPolicy,
    TagsChanged,
    Text,
    Tick,
)
from server_api.circulation import (
    CheckinOutcome,
    CheckoutOutcome,
    HoldReady,
    Loan,
    PatronAccount,
    RenewOutcome,
    Route,
    RouteKind,
    SecurityAction,
)
from tests.core.sessions import DUE, T0, at, item_tag

LOAN = Loan("loan1", "Giellagáldu", DUE)
PATRON = PatronAccount("N001", True, True, name="Máret Ánne", may_borrow=True, loans=(LOAN,))


def identified(account: PatronAccount = PATRON, policy: SessionPolicy | None = None) -> PatronSession:
    session = PatronSession(policy or SessionPolicy(), T0)
    session.handle(CardPresented("N001", at(1)))
    session.handle(PinEntered("1234", at(2)))
    session.handle(PatronLoaded(account, at(3)))
    assert session.screen().name is ScreenName.MENU
    return session


def keys(texts: tuple[Text, ...]) -> list[str]:
    return [t.key for t in texts]


def test_the_account_says_where_a_ready_hold_waits_and_what_is_owed():
    account = PatronAccount(
        "N001",
        True,
        True,
        may_borrow=True,
        holds_ready=(HoldReady("h1", "Ædnan", "Tromsø bibliotek"), HoldReady("h2", "Sult")),
        fees="250.00",
        currency="NOK",
    )
    session = identified(account)
    session.handle(Pressed(Action.ACCOUNT, at(4)))
    details = session.screen().details
    assert Text.of("account.hold_ready_at", library="Tromsø bibliotek", title="Ædnan") in details
    assert Text.of("account.hold_ready", title="Sult") in details
    assert Text.of("account.fees", amount="250.00", currency="NOK") in details
    assert Action.RENEW_ALL not in session.screen().actions  # nothing on loan: nothing to renew


def test_the_account_says_so_when_there_are_no_fees():
    for fees in ("", "0.00"):
        session = identified(PatronAccount("N001", True, True, may_borrow=True, loans=(LOAN,), fees=fees))
        session.handle(Pressed(Action.ACCOUNT, at(4)))
        assert "account.no_fees" in keys(session.screen().details)
        assert "account.fees" not in keys(session.screen().details)


def test_offline_the_account_explains_what_can_and_cannot_be_done_and_offers_no_renewal():
    session = identified()
    session.handle(OfflineChanged(True, at(4)))
    session.handle(Pressed(Action.ACCOUNT, at(5)))
    screen = session.screen()
    assert keys(screen.details) == ["account.offline"]
    assert Action.RENEW_ALL not in screen.actions
    assert all(row.actions == () for row in screen.rows)


def _finish(session: PatronSession, now: float) -> Text | None:
    session.handle(Pressed(Action.FINISH, at(now)))
    assert session.screen().name is ScreenName.RECEIPT
    return session.screen().message


def test_after_a_return_with_rows_for_the_hold_box_the_receipt_screen_never_says_take_what_lies_on_the_pad():
    session = identified()
    session.handle(Pressed(Action.RETURN, at(4)))
    session.handle(TagsChanged((item_tag(1),), at(5)))
    hold = Route(RouteKind.HOLD_SHELF)
    session.handle(
        CheckinDone(CheckinOutcome("item1", True, route=hold, security=SecurityAction.LEAVE), at(6))
    )
    assert _finish(session, 7) == Text("receipt.after_returns")


def test_the_receipt_screen_after_loans_and_returns_says_to_take_the_loans_and_place_the_returns():
    session = identified()
    session.handle(Pressed(Action.BORROW, at(4)))
    session.handle(TagsChanged((item_tag(1),), at(5)))
    session.handle(CheckoutDone(CheckoutOutcome("item1", True, due=DUE), at(6)))
    session.handle(SecurityWritten("item1", True, at(7)))
    session.handle(Pressed(Action.RETURN, at(8)))
    session.handle(TagsChanged((item_tag(1), item_tag(2)), at(9)))
    session.handle(CheckinDone(CheckinOutcome("item2", True, security=SecurityAction.LEAVE), at(10)))
    assert _finish(session, 11) == Text("receipt.after_loans_and_returns")


def test_the_receipt_screen_after_loans_says_take_them_and_after_a_refusal_points_to_the_rows():
    session = identified()
    session.handle(Pressed(Action.BORROW, at(4)))
    session.handle(TagsChanged((item_tag(1), item_tag(2)), at(5)))
    session.handle(
        CheckoutDone(CheckoutOutcome("item1", True, due=DUE, security=SecurityAction.LEAVE), at(6))
    )
    session.handle(CheckoutDone(CheckoutOutcome("item2", False), at(6)))
    assert _finish(session, 7) == Text("receipt.after_loans_not_all")
    lent = identified()
    lent.handle(Pressed(Action.BORROW, at(4)))
    lent.handle(TagsChanged((item_tag(1),), at(5)))
    lent.handle(CheckoutDone(CheckoutOutcome("item1", True, due=DUE, security=SecurityAction.LEAVE), at(6)))
    assert _finish(lent, 7) == Text("receipt.instruction")


def test_the_receipt_screen_after_renewals_only_says_they_are_renewed():
    session = identified()
    session.handle(Pressed(Action.ACCOUNT, at(4)))
    session.handle(Pressed(Action.RENEW_ALL, at(5)))
    session.handle(RenewDone(RenewOutcome("loan1", True, due=DUE + timedelta(days=28)), at(6)))
    assert _finish(session, 7) == Text("receipt.after_renewals")


def test_the_goodbye_screen_times_out_to_the_welcome_screen():
    policy = SessionPolicy()
    session = identified(policy=policy)
    session.handle(Pressed(Action.BORROW, at(4)))
    session.handle(TagsChanged((item_tag(1),), at(5)))
    session.handle(
        CheckoutDone(CheckoutOutcome("item1", True, due=DUE, security=SecurityAction.LEAVE), at(6))
    )
    session.handle(Pressed(Action.FINISH, at(7)))
    session.handle(Pressed(Action.NO_RECEIPT, at(8)))
    assert session.screen().name is ScreenName.GOODBYE
    session.handle(Tick(at(8) + policy.goodbye_time))
    screen = session.screen()
    assert screen.name is ScreenName.WELCOME and screen.rows == () and screen.patron_name == ""


def test_the_session_ended_message_does_not_stay_up_for_the_next_person():
    policy = SessionPolicy()
    session = identified(policy=policy)
    ended = at(3) + policy.idle_timeout
    session.handle(Tick(ended))
    assert session.screen().name is ScreenName.WELCOME
    assert session.screen().message == Text("welcome.timed_out")
    session.handle(Tick(ended + policy.goodbye_time))
    assert session.screen().message == Text("welcome.instruction")


def test_the_session_refuses_a_language_the_station_does_not_offer():
    session = PatronSession(SessionPolicy(languages=frozenset({"nb", "en"})), T0)
    session.handle(LanguageChosen("se", at(1)))  # a draft this library has not enabled
    session.handle(LanguageChosen("xx", at(2)))
    assert session.screen().language == "nb"
    session.handle(LanguageChosen("en", at(3)))
    assert session.screen().language == "en"
