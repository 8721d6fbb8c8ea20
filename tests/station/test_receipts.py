"""A patron's receipt is built with the printer's layout builders, with the words in the patron's
language from the kiosk's catalogues; a visit that borrowed and returned gets one receipt of each."""

from __future__ import annotations

from datetime import datetime

from drivers.printer.file_printer import render_text
from kiosk.core import PrintReceipt, Text
from kiosk.station import patron_receipts

AT = datetime(2026, 12, 1, 15, 0)


def visit(language: str) -> PrintReceipt:
    return PrintReceipt(
        language=language,
        heading=Text("receipt.print_heading"),
        lines=(
            Text.of("receipt.borrowed", title="Beaivi, áhčážan", item="21900000000001", date="2026-12-22"),
            Text.of("receipt.returned", title="Sult", item="21900000000002", date=""),
        ),
    )


def test_a_visit_that_borrowed_and_returned_gets_a_loan_and_a_return_receipt_in_its_language() -> None:
    loan, returned = patron_receipts(visit("nb"), "Tromsø bibliotek", AT)
    assert (loan.kind, loan.title, returned.kind, returned.title) == (
        "loan",
        "Lån",
        "return",
        "Innleveringer",
    )
    text = render_text(loan)
    assert "Beaivi, áhčážan" in text and "Leveres: 2026-12-22" in text and "Tromsø bibliotek" in text
    assert "Levert: 2026-12-01" in render_text(returned) and returned.footer == "Takk for besøket!"
    (english, _) = patron_receipts(visit("en"), "Tromsø bibliotek", AT)
    assert english.title == "Loans" and "Due: 2026-12-22" in render_text(english)


def test_without_a_library_name_the_heading_stands_in_and_nothing_done_prints_nothing() -> None:
    loan, _ = patron_receipts(visit("nb"), "", AT)
    assert loan.library_name == "Kvittering"  # no library name configured: the heading instead
    assert patron_receipts(PrintReceipt("nb", Text("receipt.print_heading"), ()), "X", AT) == []
