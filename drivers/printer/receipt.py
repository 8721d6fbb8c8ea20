"""Receipts as data. The session decides what a receipt says; printers only decide how it looks on paper.

Text is normalised to NFC on construction so "č" typed as c + combining caron and "č" as one code point
print, wrap and count the same.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, get_args

# "patron" and "staff_slip" are the generic kinds; the others are the layouts in drivers.printer.layout.
ReceiptKind = Literal["patron", "staff_slip", "loan", "return", "renewal", "hold_slip", "transit_slip"]
# "huge" is routing text on staff slips (readable from across the back office).
LineStyle = Literal["normal", "bold", "large", "small", "huge"]
Align = Literal["left", "center"]

RECEIPT_KINDS: tuple[str, ...] = get_args(ReceiptKind)
LINE_STYLES: tuple[str, ...] = get_args(LineStyle)
ALIGNMENTS: tuple[str, ...] = get_args(Align)


@dataclass(frozen=True)
class ReceiptLine:
    text: str
    style: LineStyle = "normal"
    align: Align = "left"

    def __post_init__(self) -> None:
        if self.style not in LINE_STYLES:
            raise ValueError(f"receipt line style must be one of {LINE_STYLES}, got {self.style!r}")
        if self.align not in ALIGNMENTS:
            raise ValueError(f"receipt line alignment must be one of {ALIGNMENTS}, got {self.align!r}")
        object.__setattr__(self, "text", unicodedata.normalize("NFC", self.text))


@dataclass(frozen=True)
class Receipt:
    """One printout. ``language`` is the BCP 47 tag the text was written in (e.g. "se", "sms", "nb").

    ``logo`` (an image file, printed on top) and ``qr`` (printed as a QR code after the body, e.g. the
    patron's account page) are optional.
    """

    kind: ReceiptKind
    title: str
    lines: tuple[ReceiptLine, ...]
    footer: str
    library_name: str
    printed_at: datetime
    language: str
    logo: Path | None = None
    qr: str = ""

    def __post_init__(self) -> None:
        if self.kind not in RECEIPT_KINDS:
            raise ValueError(f"receipt kind must be one of {RECEIPT_KINDS}, got {self.kind!r}")
        for name in ("title", "footer", "library_name"):
            object.__setattr__(self, name, unicodedata.normalize("NFC", getattr(self, name)))
        object.__setattr__(self, "lines", tuple(self.lines))

    def layout(self) -> tuple[ReceiptLine, ...]:
        """Everything to print, top to bottom: the one layout every printer renders."""
        header = (
            ReceiptLine(self.library_name, "bold", "center"),
            ReceiptLine(self.title, "large", "center"),
            # Numeric date and time: the same in every language on the receipt.
            ReceiptLine(self.printed_at.strftime("%Y-%m-%d %H:%M"), "small", "center"),
            ReceiptLine(""),
        )
        footer = (ReceiptLine(""), ReceiptLine(self.footer, "normal", "center")) if self.footer else ()
        return header + self.lines + footer
