"""A receipt as a list of print blocks: what python-escpos is told to send, line by line.

Each block is one printed line (or the logo, the QR code, the cut) with the text it stands for, so the
driver can poll the printer between blocks and, when it stops, say exactly which lines did not print.

A text line goes out as text in the first configured code page that has all its letters (``ESC t n``
chosen by python-escpos); any other line (Sámi ŋ ŧ đ, Skolt Sámi ǥ ǩ ʒ, Cyrillic without CP866) is drawn
with DejaVu Sans at the printer's dots per line and sent as a raster image (``GS v 0``).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from escpos.escpos import Escpos
from PIL import Image

from drivers.printer.codepages import first_code_page_for
from drivers.printer.file_printer import ReceiptRenderer
from drivers.printer.images import black_and_white, fit_logo, qr_image
from drivers.printer.receipt import Receipt, ReceiptLine
from drivers.printer.settings import PrinterSettings

__all__ = ["Block", "compile_receipt"]

# Characters per line relative to font A: font B is 9 dots wide instead of 12; double/triple width.
_STYLE_COLUMNS: dict[str, tuple[str, int, int]] = {
    # style: (font, dots per character, size multiplier)
    "normal": ("a", 12, 1),
    "bold": ("a", 12, 1),
    "small": ("b", 9, 1),
    "large": ("a", 12, 2),
    "huge": ("a", 12, 3),
}


@dataclass(frozen=True)
class Block:
    """One unit sent to the printer. ``text`` is what it prints ("" for blank lines and the cut)."""

    text: str
    send: Callable[[Escpos], None]
    raster: bool = False
    counts: bool = True  # a line of the receipt (the cut and set-up are not)


def compile_receipt(receipt: Receipt, settings: PrinterSettings, renderer: ReceiptRenderer) -> list[Block]:
    """The blocks for ``receipt``, top to bottom, ending with the cut."""
    blocks = [Block("", _initialise, counts=False)]
    if receipt.logo is not None:
        logo = fit_logo(receipt.logo, settings.dots_per_line)
        blocks.append(Block("[logo]", lambda printer: _raster(printer, logo), raster=True))
    for line in receipt.layout():
        blocks.append(_line_block(line, settings, renderer))
    if receipt.qr:
        code = qr_image(receipt.qr, settings.dots_per_line)
        blocks.append(Block(f"[QR {receipt.qr}]", lambda printer: _raster(printer, code), raster=True))
    blocks.append(Block("", lambda printer: _finish(printer, settings.cut), counts=False))
    return blocks


def _initialise(printer: Escpos) -> None:
    printer.hw("INIT")  # ESC @: modes back to default, code page back to the printer's own
    printer.magic.encoding = None  # so python-escpos selects the code page again before the first text


def _finish(printer: Escpos, cut: str) -> None:
    printer.set(align="left")
    if cut == "none":
        printer.print_and_feed(6)
    else:
        printer.cut(mode="PART" if cut == "partial" else "FULL")


def _line_block(line: ReceiptLine, settings: PrinterSettings, renderer: ReceiptRenderer) -> Block:
    if not line.text.strip():
        return Block("", lambda printer: printer.ln())
    page = first_code_page_for(settings.profile, settings.code_pages, line.text)
    if page is None:
        image = black_and_white(renderer.render_lines([line]))
        return Block(line.text, lambda printer: _raster(printer, image), raster=True)
    _, dots, size = _STYLE_COLUMNS[line.style]
    pieces = _wrap(line.text, max(1, settings.dots_per_line // (dots * size)))
    return Block(line.text, lambda printer: _text(printer, line, page, pieces))


def _text(printer: Escpos, line: ReceiptLine, page: str, pieces: list[str]) -> None:
    font, _, size = _STYLE_COLUMNS[line.style]
    style: dict[str, Any] = {"normal_textsize": True}
    if size == 2:
        style = {"double_width": True, "double_height": True}
    elif size > 2:
        style = {"custom_size": True, "width": size, "height": size}
    printer.set(
        align="center" if line.align == "center" else "left",
        font=font,
        bold=line.style in ("bold", "large", "huge"),
        **style,
    )
    printer.charcode(page)  # ESC t n, sent only when the page changes
    for piece in pieces:
        printer.textln(piece)


def _wrap(text: str, width: int) -> list[str]:
    pieces: list[str] = []
    for paragraph in text.split("\n"):
        pieces.extend(textwrap.wrap(paragraph, width, break_on_hyphens=False) or [""])
    return pieces


def _raster(printer: Escpos, image: Image.Image) -> None:
    printer.image(image, impl="bitImageRaster", center=False)
