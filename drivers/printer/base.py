"""The receipt printer protocol (ESC/POS printers, the file printer used by tests and the demo)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol, runtime_checkable

from drivers.printer.receipt import Receipt


class PrinterStatus(StrEnum):
    OK = "ok"
    PAPER_OUT = "paper_out"
    OFFLINE = "offline"


@dataclass(frozen=True)
class PrintResult:
    """What was printed. ``files`` holds the rendered files for printers that produce them (else empty)."""

    job_name: str
    files: tuple[Path, ...] = ()


class PrinterError(Exception):
    """A receipt could not be printed. ``status`` says why, in the terms the station acts on."""

    def __init__(self, message: str, status: PrinterStatus = PrinterStatus.OFFLINE) -> None:
        super().__init__(message)
        self.status = status


class PaperOut(PrinterError):
    def __init__(self, message: str = "The receipt printer is out of paper.") -> None:
        super().__init__(message, PrinterStatus.PAPER_OUT)


class PrinterOffline(PrinterError):
    def __init__(self, detail: str) -> None:
        super().__init__(f"The receipt printer is not available: {detail}.", PrinterStatus.OFFLINE)
        self.detail = detail


class FontNotFound(PrinterError):
    """No font that can draw Sámi and Cyrillic letters is installed: receipts cannot be rendered."""


@runtime_checkable
class Printer(Protocol):
    async def print(self, receipt: Receipt) -> PrintResult:
        """Print the receipt or raise ``PrinterError``."""
        ...

    async def status(self) -> PrinterStatus: ...
