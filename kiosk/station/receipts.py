"""A patron's receipt from the session's `PrintReceipt`, built with the printer's layout builders
(`drivers.printer.layout`: loan, return and renewal receipts) and the words in the patron's language
(`Labels` from the kiosk's catalogues). A visit that borrowed and returned gets a loan receipt and a return
receipt. No patron name: a receipt left behind must not say whose loans these are. Hold-shelf and transit
slips come from the layout's slip builders, in the staff language. An e-mail receipt (`receipt_email`) is
the same receipts as plain text, with the account page as a link instead of its QR code."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from drivers.printer.layout import (
    Labels,
    LibraryLayout,
    LoanLine,
    RenewalLine,
    ReturnLine,
    hold_slip,
    loan_receipt,
    renewal_receipt,
    return_receipt,
    transit_slip,
)
from drivers.printer.receipt import Receipt
from kiosk.core import PrintReceipt, PrintStaffSlip, Text
from kiosk.i18n import translate
from server_api.circulation import RouteKind


def receipt_labels(language: str) -> Labels:
    # Each key written out (not derived from `fields(Labels)`): Babel extracts the catalogue's keys from
    # literal strings, and a label without its key fails tests/i18n (the template would be stale).
    def word(key: str) -> str:
        return translate(Text(key), language)

    return Labels(
        loans=word("receipt.label.loans"),
        returns=word("receipt.label.returns"),
        renewals=word("receipt.label.renewals"),
        due=word("receipt.label.due"),
        returned=word("receipt.label.returned"),
        not_renewed=word("receipt.label.not_renewed"),
        opening_hours=word("receipt.label.opening_hours"),
        account=word("receipt.label.account"),
        hold_slip=word("receipt.label.hold_slip"),
        transit_slip=word("receipt.label.transit_slip"),
        hold_for=word("receipt.label.hold_for"),
        pick_up_at=word("receipt.label.pick_up_at"),
        send_to=word("receipt.label.send_to"),
    )


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _layout(layout: LibraryLayout | None, library_name: str, language: str) -> LibraryLayout:
    """The library's layout ([receipts]) with its name, and the catalogue's thank-you line unless the
    library wrote its own footer."""
    footer = (translate(Text("receipt.footer"), language),)
    if layout is None:
        return LibraryLayout(library_name=library_name, footer=footer)
    return replace(layout, library_name=library_name, footer=layout.footer or footer)


def patron_receipts(
    command: PrintReceipt, library_name: str, printed_at: datetime, layout: LibraryLayout | None = None
) -> list[Receipt]:
    """The receipts for one visit: loans, returns and renewals, each kind on its own (none: nothing done)."""
    language = command.language
    layout = _layout(layout, library_name or translate(command.heading, language), language)
    labels = receipt_labels(language)
    loans: list[LoanLine] = []
    returns: list[ReturnLine] = []
    renewals: list[RenewalLine] = []
    for line in command.lines:
        values = line.kwargs()
        title, item_id, due = values.get("title", ""), values.get("item", ""), _day(values.get("date", ""))
        if line.key == "receipt.borrowed":
            loans.append(LoanLine(title, item_id, due))
        elif line.key == "receipt.returned":
            returns.append(ReturnLine(title, item_id))
        elif line.key == "receipt.renewed":
            renewals.append(RenewalLine(title, item_id, due))
    receipts = []
    if loans:
        receipts.append(loan_receipt(layout, labels, loans, printed_at=printed_at, language=language))
    if returns:
        receipts.append(return_receipt(layout, labels, returns, printed_at=printed_at, language=language))
    if renewals:
        receipts.append(renewal_receipt(layout, labels, renewals, printed_at=printed_at, language=language))
    return receipts


def receipt_email(
    command: PrintReceipt, library_name: str, printed_at: datetime, layout: LibraryLayout | None = None
) -> tuple[str, str]:
    """The subject and the plain-text body of the visit's receipts by e-mail, in the patron's language."""
    language = command.language
    receipts = patron_receipts(command, library_name, printed_at, layout)
    parts = ["\n".join(line.text for line in receipt.layout()).strip() for receipt in receipts]
    if receipts and receipts[0].qr:
        parts.append(f"{receipt_labels(language).account}: {receipts[0].qr}")
    name = receipts[0].library_name if receipts else library_name
    subject = translate(Text.of("receipt.email_subject", library=name), language)
    return subject, "\n\n".join(parts) + "\n"


def slip_receipt(
    command: PrintStaffSlip,
    language: str,
    library_name: str,
    printed_at: datetime,
    layout: LibraryLayout | None,
) -> Receipt | None:
    """A hold-shelf or transit slip built by the layout (the hold patron only as far as the library's
    `hold_patron` allows); None for other routes."""
    route, labels = command.route, receipt_labels(language)
    layout = _layout(layout, library_name or translate(Text("slip.heading"), language), language)
    where = route.destination_name or route.destination_id
    if route.kind is RouteKind.HOLD_SHELF:
        return hold_slip(
            layout,
            labels,
            title=command.title,
            item_id=command.item_id,
            pickup_location=where,
            patron_name=route.hold_patron_name,
            patron_card=route.hold_patron_id,
            printed_at=printed_at,
            language=language,
        )
    if route.kind is RouteKind.TRANSIT:
        return transit_slip(
            layout,
            labels,
            title=command.title,
            item_id=command.item_id,
            destination=where,
            printed_at=printed_at,
            language=language,
        )
    return None


__all__ = ["patron_receipts", "receipt_email", "receipt_labels", "slip_receipt"]
