"""A patron's receipt is built with the printer's layout builders, with the words in the patron's
language from the kiosk's catalogues; a visit that borrowed and returned gets one receipt of each. Slips
show a hold patron only as far as the library's [receipts] hold_patron allows."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from drivers.printer.file_printer import render_text
from kiosk.config import ConfigError, ReceiptsSection, load
from kiosk.core import PrintReceipt, PrintStaffSlip, Text
from kiosk.station import patron_receipts, slip_receipt
from server_api.circulation import Route, RouteKind

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


def slip(kind: RouteKind) -> PrintStaffSlip:
    route = Route(
        kind,
        destination_id="2012000",
        destination_name="Alta bibliotek",
        hold_patron_id="23900012345678",
        hold_patron_name="Ánde Ŋuolja",
    )
    return PrintStaffSlip("21900000000018", "Brødrene Løvehjerte", route)


def test_a_hold_slip_shows_the_hold_patron_only_as_far_as_the_library_allows() -> None:
    default = slip_receipt(slip(RouteKind.HOLD_SHELF), "nb", "Tromsø bibliotek", AT, None)
    assert default is not None and default.kind == "hold_slip"
    text = " ".join(render_text(default).split())
    assert "Reservert for: Á. Ŋ. …5678" in text and "Hentes på: Alta bibliotek" in text
    assert "Ánde" not in text and "23900012345678" not in text
    nothing = ReceiptsSection(hold_patron="nothing").layout("Tromsø bibliotek")
    bare = slip_receipt(slip(RouteKind.HOLD_SHELF), "nb", "Tromsø bibliotek", AT, nothing)
    assert bare is not None and "…5678" not in render_text(bare) and "Á." not in render_text(bare)
    transit = slip_receipt(slip(RouteKind.TRANSIT), "nb", "Tromsø bibliotek", AT, None)
    assert transit is not None and "Sendes til" in render_text(transit) and "Ánde" not in render_text(transit)
    assert slip_receipt(slip(RouteKind.STAFF), "nb", "Tromsø bibliotek", AT, None) is None


def test_the_librarys_receipts_section_prints_its_header_hours_and_account_qr(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(
        '[receipts]\nheader = ["Grønnegata 94", "77 79 00 00"]\nopening_hours = ["Man-fre 10-19"]\n'
        'account_url = "https://bibliotek.example.no/konto"\nhold_patron = "last_digits"\n',
        encoding="utf-8",
    )
    layout = load(path).receipts.layout("Tromsø bibliotek")
    (loan, _) = patron_receipts(visit("nb"), "Tromsø bibliotek", AT, layout)
    text = render_text(loan)
    assert "Grønnegata 94" in text and "Åpningstider" in text and "Man-fre 10-19" in text
    assert loan.qr == "https://bibliotek.example.no/konto" and "Lånene dine på nett" in text
    assert loan.footer == "Takk for besøket!"  # no footer of its own: the catalogue's
    for bad, words in (
        ('hold_patron = "everything"', "hold_patron: 'everything' is not one of nothing"),
        ("hold_patron_digits = 12", "hold_patron_digits: 12 is out of range"),
        ('account_url = "bibliotek.example.no"', "account_url must be a web address"),
        ('logo = "/nonexistent/logo.png"', "the receipt logo /nonexistent/logo.png does not exist"),
    ):
        path.write_text(f"[receipts]\n{bad}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=re.escape(words)):
            load(path)
