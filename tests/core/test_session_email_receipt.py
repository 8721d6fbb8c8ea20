"""Rule 11, e-mail: a receipt by e-mail is offered online, where the station sends them (through the
gateway), to a patron whose library system has an address; the screen shows the address only masked;
the card (never an address, never a name) goes to the station; a receipt that did not go is said."""

from __future__ import annotations

from kiosk.core import (
    Action,
    CardPresented,
    CheckoutDone,
    EmailReceipt,
    OfflineChanged,
    PadTag,
    PatronLoaded,
    PatronSession,
    PinEntered,
    Pressed,
    PrinterChanged,
    PrintReceipt,
    ReceiptPrinted,
    ScreenName,
    SecurityWritten,
    SessionPolicy,
    TagKind,
    TagsChanged,
    Text,
)
from server_api.circulation import CheckoutOutcome, PatronAccount, masked_email
from tests.core.sessions import DUE, T0, at, of

BOOK = PadTag(uid=b"\xe0\x04\x01\x00\x00\x00\x00\x01", kind=TagKind.ITEM, item_id="item1")
SHOWN = "a•••@e•••.no"


def at_the_receipt_choice(email: str = SHOWN, *, email_receipts: bool = True) -> PatronSession:
    session = PatronSession(SessionPolicy(email_receipts=email_receipts), T0)
    session.handle(Pressed(Action.BORROW, at(1)))
    session.handle(CardPresented("N001", at(2)))
    session.handle(PinEntered("1234", at(3)))
    account = PatronAccount("N001", True, True, name="Ánde Ŋuolja", may_borrow=True, email=email)
    session.handle(PatronLoaded(account, at(4)))
    session.handle(TagsChanged((BOOK,), at(5)))
    session.handle(CheckoutDone(CheckoutOutcome("item1", ok=True, title="Boka", due=DUE), at(6)))
    session.handle(SecurityWritten("item1", True, at(7)))
    session.handle(Pressed(Action.FINISH, at(8)))
    assert session.screen().name is ScreenName.RECEIPT
    return session


def test_an_address_in_the_library_system_offers_the_receipt_by_email_with_the_address_masked() -> None:
    screen = at_the_receipt_choice().screen()
    assert screen.actions == (Action.PRINT_RECEIPT, Action.EMAIL_RECEIPT, Action.NO_RECEIPT)
    assert screen.details == (Text.of("receipt.email_to", address=SHOWN),)


def test_a_full_address_is_never_on_the_screen() -> None:
    screen = at_the_receipt_choice("ande.nuolja@example.no").screen()
    assert screen.details == (Text.of("receipt.email_to", address=SHOWN),)
    assert "ande.nuolja" not in repr(screen)


def test_the_email_receipt_carries_the_card_and_the_receipt_only() -> None:
    session = at_the_receipt_choice()
    out = session.handle(Pressed(Action.EMAIL_RECEIPT, at(9)))
    (command,) = of(out, EmailReceipt)
    assert command.patron_id == "N001" and isinstance(command.receipt, PrintReceipt)
    assert command.receipt.lines[0].kwargs()["title"] == "Boka"
    assert "Ánde" not in repr(command) and "@" not in repr(command)
    assert not of(out, PrintReceipt)  # not printed as well
    assert session.screen().name is ScreenName.GOODBYE
    assert session.screen().message == Text("goodbye.receipt_emailed")


def test_an_email_receipt_that_did_not_go_is_said_on_the_goodbye_screen() -> None:
    session = at_the_receipt_choice()
    session.handle(Pressed(Action.EMAIL_RECEIPT, at(9)))
    session.handle(ReceiptPrinted(False, at(10), "the mail server cannot be reached", emailed=True))
    assert session.screen().message == Text("goodbye.email_failed")


def test_no_address_or_a_station_without_email_receipts_offers_no_email_button() -> None:
    for session in (at_the_receipt_choice(""), at_the_receipt_choice(email_receipts=False)):
        screen = session.screen()
        assert Action.EMAIL_RECEIPT not in screen.actions and screen.details == ()
        assert not of(session.handle(Pressed(Action.EMAIL_RECEIPT, at(9))), EmailReceipt)  # a stale press


def test_offline_no_email_receipt_is_offered_not_even_queued() -> None:
    session = at_the_receipt_choice()
    session.handle(OfflineChanged(True, at(9)))
    assert Action.EMAIL_RECEIPT not in session.screen().actions
    assert not of(session.handle(Pressed(Action.EMAIL_RECEIPT, at(10))), EmailReceipt)


def test_with_the_printer_out_the_email_receipt_is_still_offered() -> None:
    session = at_the_receipt_choice()
    session.handle(PrinterChanged(False, at(9), "paper_out"))
    screen = session.screen()
    assert screen.actions == (Action.EMAIL_RECEIPT, Action.NO_RECEIPT)
    assert screen.message == Text("receipt.printer_unavailable")


def test_masking_keeps_the_first_letters_and_the_top_level_domain_only() -> None:
    assert masked_email("ole.martin@bibliotek.tromso.no") == "o•••@b•••.no"
    assert masked_email(masked_email("ole.martin@bibliotek.tromso.no")) == "o•••@b•••.no"
    for nonsense in ("", "ole", "@example.no", "ole@localhost"):
        assert masked_email(nonsense) == ""
