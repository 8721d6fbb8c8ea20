"""The test page (``kiosk printer test``): status before, a page that shows every way the printer
prints (text in each configured code page, Sámi and Cyrillic as raster, sizes, a QR code), status after,
as one report the command prints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from drivers.printer.base import Printer, PrinterError, PrinterStatus
from drivers.printer.receipt import Receipt, ReceiptLine

__all__ = ["SAMPLE_LINES", "TestPageReport", "build_test_page", "print_test_page"]

SAMPLE_LINES: tuple[ReceiptLine, ...] = (
    ReceiptLine("Norsk: Æ Ø Å æ ø å", "bold"),
    ReceiptLine("Svenska/suomi: Ä Ö ä ö"),
    ReceiptLine("Davvisámegiella: Á á Č č Đ đ Ŋ ŋ Š š Ŧ ŧ Ž ž"),
    ReceiptLine("Nuõrttsääʹmǩiõll: Ǥ ǥ Ǧ ǧ Ǩ ǩ Ʒ ʒ Ǯ ǯ ʹ õ"),
    ReceiptLine("Русский: Съешь же ещё этих булок"),
    ReceiptLine("small 0123456789", "small"),
    ReceiptLine("Large", "large", "center"),
    ReceiptLine("HUGE", "huge", "center"),
)


def build_test_page(printed_at: datetime, library_name: str, settings_text: str) -> Receipt:
    lines = (ReceiptLine(settings_text, "small"), ReceiptLine(""), *SAMPLE_LINES)
    return Receipt(
        kind="staff_slip",
        title="Printer test",
        lines=lines,
        footer="Every letter above should be readable.",
        library_name=library_name,
        printed_at=printed_at,
        language="und",
        qr="https://example.org/printer-test",
    )


@dataclass(frozen=True)
class TestPageReport:
    """What ``kiosk printer test`` shows. ``ok`` is True when the page printed."""

    before: PrinterStatus
    after: PrinterStatus
    printed: bool
    error: str = ""
    job_name: str = ""

    __test__ = False  # not a pytest test class, despite the name

    def lines(self) -> list[str]:
        out = [f"status before: {self.before.value}"]
        out.append(
            f"test page: printed ({self.job_name})"
            if self.printed
            else f"test page: NOT printed: {self.error}"
        )
        out.append(f"status after: {self.after.value}")
        return out

    @property
    def ok(self) -> bool:
        return self.printed


async def print_test_page(
    printer: Printer,
    *,
    printed_at: datetime | None = None,
    library_name: str = "Printer test",
    settings_text: str = "",
) -> TestPageReport:
    """Print the test page and report the status around it; never raises for a printer problem."""
    printed_at = printed_at or datetime.now()
    before = await printer.status()
    try:
        result = await printer.print(build_test_page(printed_at, library_name, settings_text))
    except PrinterError as error:
        return TestPageReport(before, await printer.status(), False, str(error))
    return TestPageReport(before, await printer.status(), True, job_name=result.job_name)
