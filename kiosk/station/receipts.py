"""A patron's receipt from the session's `PrintReceipt`, built with the printer's layout builders
(`drivers.printer.layout`: loan, return and renewal receipts) and the words in the patron's language
(`Labels` from the kiosk's catalogues). A visit that borrowed and returned gets a loan receipt and a return
receipt. No patron name: a receipt left behind must not say whose loans these are."""

from __future__ import annotations

from datetime import date, datetime

from drivers.printer.layout import (
    Labels,
    LibraryLayout,
    LoanLine,
    RenewalLine,
    ReturnLine,
    loan_receipt,
    renewal_receipt,
    return_receipt,
)
from drivers.printer.receipt import Receipt
from kiosk.core import PrintReceipt, Text
from kiosk.i18n import translate


def receipt_labels(language: str) -> Labels:
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
    )


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def patron_receipts(command: PrintReceipt, library_name: str, printed_at: datetime) -> list[Receipt]:
    """The receipts for one visit: loans, returns and renewals, each kind on its own (none: nothing done)."""
    language = command.language
    layout = LibraryLayout(
        library_name=library_name or translate(command.heading, language),
        footer=(translate(Text("receipt.footer"), language),),
    )
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


__all__ = ["patron_receipts", "receipt_labels"]
