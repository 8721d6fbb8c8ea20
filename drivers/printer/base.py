"""The receipt printer protocol (ESC/POS printers, the file printer used by tests and the demo)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol, runtime_checkable

from drivers.printer.receipt import Receipt


class PrinterStatus(StrEnum):
    """What the station acts on. OK and PAPER_NEAR_END can print; the rest cannot."""

    OK = "ok"
    PAPER_NEAR_END = "paper_near_end"
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    ERROR = "error"
    OFFLINE = "offline"

    @property
    def can_print(self) -> bool:
        return self in (PrinterStatus.OK, PrinterStatus.PAPER_NEAR_END)


@dataclass(frozen=True)
class PrintResult:
    """What was printed. ``files`` holds the rendered files for printers that produce them (else empty);
    ``status`` is the printer's status after the job (PAPER_NEAR_END: tell staff, the heartbeat)."""

    job_name: str
    files: tuple[Path, ...] = ()
    status: PrinterStatus = PrinterStatus.OK


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


class CoverOpen(PrinterError):
    def __init__(self, message: str = "The receipt printer's cover is open.") -> None:
        super().__init__(message, PrinterStatus.COVER_OPEN)


class PrinterFault(PrinterError):
    """The printer reports an error (cutter jam, mechanical, overheating): staff must look at it."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"The receipt printer reports an error: {detail}.", PrinterStatus.ERROR)
        self.detail = detail


class PrintInterrupted(PrinterError):
    """The printer stopped in the middle of a receipt. Nothing is lost: ``printed`` holds the lines that
    came out, ``not_printed`` the ones that did not (reprint or hand them to staff). The line the printer
    stopped on is counted as not printed: it may be cut off or only half there."""

    def __init__(
        self,
        cause: PrinterError,
        printed: tuple[str, ...],
        not_printed: tuple[str, ...],
    ) -> None:
        super().__init__(
            f"{cause} The receipt stopped after {len(printed)} of {len(printed) + len(not_printed)} lines.",
            cause.status,
        )
        self.cause = cause
        self.printed = printed
        self.not_printed = not_printed


class FontNotFound(PrinterError):
    """No font that can draw Sámi and Cyrillic letters is installed: receipts cannot be rendered."""


@runtime_checkable
class Printer(Protocol):
    async def print(self, receipt: Receipt) -> PrintResult:
        """Print the receipt or raise ``PrinterError``: ``PaperOut``, ``CoverOpen``, ``PrinterFault`` or
        ``PrinterOffline`` when nothing was printed, ``PrintInterrupted`` when it stopped part-way."""
        ...

    async def status(self) -> PrinterStatus:
        """The status now (never raises: an unreachable printer is OFFLINE)."""
        ...

    async def close(self) -> None:
        """Let go of the device (at shutdown); the next call opens it again."""
        ...
