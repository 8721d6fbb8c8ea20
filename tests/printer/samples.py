"""The receipts the golden and simulator tests print: one of each kind, in Northern Sámi, Skolt Sámi,
Norwegian and Russian, for a library whose layout has every part (logo, header, hours, footer, QR)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from drivers.printer.layout import (
    HoldPatronPolicy,
    HoldPatronShown,
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
from drivers.printer.settings import PrinterSettings

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
LOGO = GOLDEN / "logo.png"
SAMI_REFERENCE = HERE / "reference-sami-receipt.png"
# The staff slips as the simulator renders them: routing text in triple size, the hold patron masked.
SLIP_REFERENCES = {
    "hold_slip": HERE / "reference-hold-slip.png",
    "transit_slip": HERE / "reference-transit-slip.png",
}
WHEN = datetime(2025, 3, 14, 9, 26, 53)

SAMI_LABELS = Labels(
    loans="Luoikkahat",
    returns="Máhcahuvvon",
    renewals="Ođasmahttojuvvon",
    due="Máhcat",
    returned="Máhcahuvvon",
    not_renewed="Ii ođasmahttojuvvon",
    opening_hours="Rabasáiggit",
    account="Du loanat neahtas",
    hold_slip="Várrejuvvon",
    transit_slip="Sáddejuvvo",
    hold_for="Geasa",
    pick_up_at="Viežžat",
    send_to="Sádde",
)


def layout(*, logo: bool = True) -> LibraryLayout:
    return LibraryLayout(
        library_name="Kárášjoga girjerádju",
        header=("Kárášjohka 9730", "78 46 00 00"),
        opening_hours=("Mán–bea 10–18", "Lávv 11–15"),
        footer=("Giitu ja bures boahtin!",),
        logo=LOGO if logo else None,
        account_url="https://bibliotek.example.no/konto",
        hold_patron=HoldPatronPolicy(HoldPatronShown.INITIALS_AND_LAST_DIGITS, 4),
    )


def loan() -> Receipt:
    loans = [
        LoanLine("Sofies verden", "03011234567890", date(2025, 4, 4)),
        LoanLine("Áddjá ja njoammil: ŋ ŧ đ č š ž", "03011234567891", date(2025, 4, 4)),
        LoanLine("Ǥǥ ǩ ʒ ǯ ʹ — sääʹmǩiõll", "03011234567892", date(2025, 4, 11)),
        LoanLine("Сказки народов Севера", "03011234567893", None),
    ]
    return loan_receipt(layout(), SAMI_LABELS, loans, printed_at=WHEN, language="se")


def returns() -> Receipt:
    items = [ReturnLine("Sofies verden", "03011234567890"), ReturnLine("Čáhcerávga", "03011234567894")]
    return return_receipt(layout(logo=False), SAMI_LABELS, items, printed_at=WHEN, language="se")


def renewal() -> Receipt:
    items = [
        RenewalLine("Sofies verden", "03011234567890", date(2025, 5, 2)),
        RenewalLine("Máŋggabealat", "03011234567895", None, renewed=False, reason="várrejuvvon"),
    ]
    return renewal_receipt(layout(logo=False), SAMI_LABELS, items, printed_at=WHEN, language="se")


def hold() -> Receipt:
    return hold_slip(
        layout(logo=False),
        SAMI_LABELS,
        title="Áddjá ja njoammil",
        item_id="03011234567891",
        pickup_location="Kárášjoga girjerádju",
        patron_name="Ánde Ŋuolja",
        patron_card="23900012345678",
        printed_at=WHEN,
        language="se",
    )


def transit() -> Receipt:
    return transit_slip(
        layout(logo=False),
        SAMI_LABELS,
        title="Sofies verden",
        item_id="03011234567890",
        destination="Harstad bibliotek",
        printed_at=WHEN,
        language="se",
    )


RECEIPTS = {"loan": loan, "return": returns, "renewal": renewal, "hold_slip": hold, "transit_slip": transit}

# A TM-T88V (80 mm, 512 dots) with the Nordic code page first and Cyrillic second.
GOLDEN_SETTINGS = dict(profile="TM-T88V", code_pages=("CP865", "CP866"), dots_per_line=512, cut="partial")


def device_settings(path: Path) -> PrinterSettings:
    return PrinterSettings(connection="device", device=str(path), **GOLDEN_SETTINGS)  # type: ignore[arg-type]
