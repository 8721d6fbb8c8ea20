"""Receipt printing: receipts as data, the ``Printer`` protocol, and printers.

The kiosk opens its printer with ``open_printer(PrinterSettings(...))``: a ``FilePrinter`` for
``connection = file``, else an ``EscposPrinter`` (USB, serial, network, device).
"""

from __future__ import annotations

from pathlib import Path

from drivers.printer import escpos_database
from drivers.printer.base import (
    CoverOpen,
    FontNotFound,
    PaperOut,
    Printer,
    PrinterError,
    PrinterFault,
    PrinterOffline,
    PrinterStatus,
    PrintInterrupted,
    PrintResult,
)
from drivers.printer.receipt import Receipt, ReceiptLine
from drivers.printer.settings import Connection, PrinterSettings
from drivers.printer.status import PrinterState

__all__ = [
    "Connection",
    "CoverOpen",
    "FontNotFound",
    "PaperOut",
    "PrintInterrupted",
    "PrintResult",
    "Printer",
    "PrinterError",
    "PrinterFault",
    "PrinterOffline",
    "PrinterSettings",
    "PrinterState",
    "PrinterStatus",
    "Receipt",
    "ReceiptLine",
    "open_printer",
]


def open_printer(settings: PrinterSettings, *, font_path: Path | None = None) -> Printer:
    """The printer ``settings`` describe. Raises ``FontNotFound`` without a receipt font; the printer
    itself is reached on first use (a printer switched off at start-up is OFFLINE, not a crash)."""
    if settings.connection is Connection.FILE:
        from drivers.printer.file_printer import FilePrinter

        return FilePrinter(
            settings.directory, settings.columns, font_path=font_path, width_px=settings.dots_per_line
        )
    escpos_database.load()  # python-escpos's database without its YAML parse (before it is imported)
    from drivers.printer.escpos import EscposPrinter

    return EscposPrinter(settings, font_path=font_path)
