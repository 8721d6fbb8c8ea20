"""Layouts as data (what a library may print about a hold patron) and printer settings with ranges."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from drivers.printer.codepages import code_page_number, first_code_page_for
from drivers.printer.file_printer import FilePrinter, ReceiptRenderer
from drivers.printer.fonts import find_receipt_font
from drivers.printer.layout import (
    HoldPatronPolicy,
    HoldPatronShown,
    Labels,
    LibraryLayout,
    RenewalLine,
    hold_slip,
    renewal_receipt,
)
from drivers.printer.settings import Connection, PrinterSettings
from tests.printer.samples import LOGO, SAMI_LABELS, WHEN, hold, layout, loan


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        (HoldPatronShown.NOTHING, ""),
        (HoldPatronShown.INITIALS, "Á. Ŋ."),
        (HoldPatronShown.LAST_DIGITS, "…5678"),
        (HoldPatronShown.INITIALS_AND_LAST_DIGITS, "Á. Ŋ. …5678"),
        (HoldPatronShown.FULL_NAME, "Ánde Ŋuolja"),
        (HoldPatronShown.NAME_AND_CARD, "Ánde Ŋuolja (23900012345678)"),
    ],
)
def test_a_hold_slip_shows_the_patron_only_as_far_as_the_library_allows(
    shown: HoldPatronShown, expected: str
) -> None:
    assert HoldPatronPolicy(shown).label("Ánde Ŋuolja", "23900012345678") == expected


def test_a_hold_slip_that_may_show_nobody_still_says_it_is_a_hold() -> None:
    texts = [line.text for line in hold().layout()]
    assert "Geasa: Á. Ŋ. …5678" in texts and "Viežžat: Kárášjoga girjerádju" in texts
    private = LibraryLayout("X", hold_patron=HoldPatronPolicy(HoldPatronShown.NOTHING))
    slip = hold_slip(
        private,
        Labels(),
        title="T",
        item_id="1",
        pickup_location="",
        patron_name="Ánde Ŋuolja",
        patron_card="239",
        printed_at=WHEN,
        language="en",
    )
    texts = [line.text for line in slip.layout()]
    assert "Hold" in texts and not any("Ŋuolja" in text or "239" in text for text in texts)


def test_the_number_of_card_digits_shown_is_bounded() -> None:
    assert HoldPatronPolicy(last_digits=2).label("A B", "12345") == "A. B. …45"
    for wrong in (0, 9):
        with pytest.raises(ValueError, match="1 to 8"):
            HoldPatronPolicy(last_digits=wrong)


def test_patron_receipts_carry_header_hours_footer_logo_and_account_qr() -> None:
    receipt = loan()
    texts = [line.text for line in receipt.layout()]
    assert texts[:3] == ["Kárášjoga girjerádju", "Luoikkahat", "2025-03-14 09:26"]
    assert "Kárášjohka 9730" in texts and "Rabasáiggit" in texts and "Mán–bea 10–18" in texts
    assert "Máhcat: 2025-04-04" in texts
    assert receipt.footer == "Giitu ja bures boahtin!" and receipt.logo == LOGO
    assert receipt.qr == "https://bibliotek.example.no/konto"


def test_a_renewal_that_failed_says_why() -> None:
    item = RenewalLine("Máŋggabealat", "1", None, renewed=False, reason="várrejuvvon")
    receipt = renewal_receipt(layout(logo=False), SAMI_LABELS, [item], printed_at=WHEN, language="se")
    assert "Ii ođasmahttojuvvon: várrejuvvon" in [line.text for line in receipt.layout()]
    ok = RenewalLine("A", "2", date(2025, 5, 2))
    receipt = renewal_receipt(layout(logo=False), SAMI_LABELS, [ok], printed_at=WHEN, language="se")
    assert "Máhcat: 2025-05-02" in [line.text for line in receipt.layout()]


def test_layouts_load_from_configuration_tables_and_reject_mistakes(tmp_path: Path) -> None:
    loaded = LibraryLayout.from_mapping(
        {
            "library_name": "Harstad bibliotek",
            "footer": "Takk!",
            "opening_hours": ["Man–fre 10–19"],
            "account_url": "https://harstad.example.no/min-side",
            "hold_patron": "initials",
            "hold_patron_digits": 3,
        }
    )
    assert loaded.footer == ("Takk!",) and loaded.hold_patron.shown is HoldPatronShown.INITIALS
    with pytest.raises(ValueError, match="unknown receipt layout keys: colour"):
        LibraryLayout.from_mapping({"library_name": "X", "colour": "red"})
    with pytest.raises(ValueError, match="https://"):
        LibraryLayout("X", account_url="bibliotek.example.no")
    with pytest.raises(ValueError, match="does not exist"):
        LibraryLayout("X", logo=tmp_path / "missing.png")
    with pytest.raises(ValueError, match="'everything'"):
        LibraryLayout.from_mapping({"library_name": "X", "hold_patron": "everything"})


def test_file_printer_png_has_the_logo_and_the_qr_code(tmp_path: Path) -> None:
    renderer = ReceiptRenderer(find_receipt_font())
    plain = renderer.render(dataclasses.replace(loan(), logo=None, qr=""))
    full = renderer.render(loan())
    assert full.height > plain.height + 150  # logo (60) and QR code (> 150)
    bottom = full.crop((0, full.height - 200, full.width, full.height - 16))
    assert bottom.getextrema()[0] == 0  # the QR code's black modules


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"connection": "bluetooth"}, "connection must be one of file, usb, serial, network, device"),
        ({"connection": "serial"}, "needs device"),
        ({"connection": "network"}, "needs host"),
        ({"connection": "usb"}, "usb_vendor_id and usb_product_id"),
        ({"connection": "network", "host": "10.0.0.9", "port": 70000}, "1 to 65535"),
        ({"baudrate": 12345}, "baudrate must be one of"),
        ({"dots_per_line": 600}, "dots_per_line must be one of"),
        ({"dots_per_line": 576}, "TM-T88V prints at most 512 dots"),
        ({"profile": "TM-X1"}, "unknown printer profile 'TM-X1'"),
        ({"code_pages": ("CP999",)}, "has no code page CP999"),
        ({"code_pages": ()}, "at least one code page"),
        ({"cut": "half"}, "cut must be partial, full or none"),
        ({"timeout": 0}, "0.1 to 60 seconds"),
        ({"flow_control": "magic"}, "flow_control must be one of"),
    ],
)
def test_wrong_printer_settings_say_what_is_wrong(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PrinterSettings(**changes)  # type: ignore[arg-type]


def test_settings_accept_configuration_text_and_describe_the_printer() -> None:
    settings = PrinterSettings(
        connection="usb",  # type: ignore[arg-type]
        usb_vendor_id=0x04B8,
        usb_product_id=0x0E15,
        profile="TM-T20II",
        code_pages=("cp865", "cp1252"),
        dots_per_line=576,
    )
    assert settings.connection is Connection.USB and settings.code_pages == ("CP865", "CP1252")
    assert settings.columns == 48
    assert settings.describe() == "usb 04b8:0e15 (TM-T20II, 576 dots)"


def test_each_line_takes_the_first_code_page_with_all_its_letters() -> None:
    pages = ("CP865", "CP1252", "CP866")
    assert first_code_page_for("TM-T88V", pages, "Blåbærsyltetøy") == "CP865"
    assert first_code_page_for("TM-T88V", pages, "Œuvre “citée”") == "CP1252"  # not in PC865
    assert first_code_page_for("TM-T88V", pages, "Сказки") == "CP866"
    for sami in ("Maŋimuš", "ŧ", "đ", "Ǥǥ ǩ ʒ ǯ ʹ"):
        assert first_code_page_for("TM-T88V", pages, sami) is None  # printed as an image
    assert code_page_number("TM-T88V", "CP865") == 5 and code_page_number("TM-T88V", "CP1252") == 16


async def test_file_printer_closes(tmp_path: Path) -> None:
    await FilePrinter(tmp_path).close()


def test_settings_from_a_configuration_table() -> None:
    settings = PrinterSettings.from_mapping(
        {"connection": "usb", "usb_vendor_id": "0x04b8", "usb_product_id": 514, "code_pages": "CP850"}
    )
    assert (settings.usb_vendor_id, settings.usb_product_id, settings.code_pages) == (
        0x04B8,
        0x0202,
        ("CP850",),
    )
    with pytest.raises(ValueError, match="unknown \\[printer\\] keys: baud"):
        PrinterSettings.from_mapping({"baud": 9600})
    with pytest.raises(ValueError, match="must be a number such as 0x04b8"):
        PrinterSettings.from_mapping({"connection": "usb", "usb_vendor_id": "epson", "usb_product_id": 1})
