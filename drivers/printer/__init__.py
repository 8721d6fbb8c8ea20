"""Receipt printing: receipts as data, the ``Printer`` protocol, and printers."""

from drivers.printer.base import (
    FontNotFound,
    PaperOut,
    Printer,
    PrinterError,
    PrinterOffline,
    PrinterStatus,
    PrintResult,
)
from drivers.printer.receipt import Receipt, ReceiptLine

__all__ = [
    "FontNotFound",
    "PaperOut",
    "PrintResult",
    "Printer",
    "PrinterError",
    "PrinterOffline",
    "PrinterStatus",
    "Receipt",
    "ReceiptLine",
]
