"""A printer that writes each receipt to a text file and a PNG, for tests, the demo and kiosks without paper.

The PNG is what an 80 mm thermal printer would print as a raster image (576 dots wide), drawn with
DejaVu Sans so Sámi and Cyrillic text comes out right. The text file is the same layout in monospace.

A receipt names titles and times: the folder is the kiosk user's alone (0700), each file 0600, and a
receipt is deleted `keep` after it was printed (once an hour the folder is swept; 0 keeps none longer
than the sweep). Naming a receipt looks for its own two names only, never lists the folder.
"""

from __future__ import annotations

import asyncio
import logging
import os
import textwrap
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from drivers.printer.base import PaperOut, PrinterOffline, PrinterStatus, PrintResult
from drivers.printer.fonts import bold_variant, find_receipt_font, missing_glyphs
from drivers.printer.images import fit_logo, qr_image
from drivers.printer.receipt import LineStyle, Receipt, ReceiptLine

log = logging.getLogger(__name__)

THERMAL_80MM_WIDTH_PX = 576
_MARGIN_PX = 16
_LINE_GAP_PX = 4
_FONT_SIZES: dict[LineStyle, int] = {"normal": 24, "bold": 24, "large": 36, "small": 18, "huge": 56}
_WIDTH_FACTOR: dict[str, int] = {"large": 2, "huge": 3}
_FRAGILE_IN_BOLD = frozenset("Ǥǥ")
_INK = 0
_PAPER = 255


def render_text(receipt: Receipt, width_chars: int = 42) -> str:
    """The receipt as monospace text, wrapped to ``width_chars``; centred lines are centred."""
    out: list[str] = []
    for line in receipt.layout():
        # Large print is double width on a thermal printer (huge: triple): fewer characters fit on a line.
        wrap_at = max(1, width_chars // _WIDTH_FACTOR.get(line.style, 1))
        for piece in _wrap_chars(line.text, wrap_at):
            out.append(piece.center(width_chars).rstrip() if line.align == "center" else piece)
    return "\n".join(out) + "\n"


def _wrap_chars(text: str, width: int) -> list[str]:
    pieces: list[str] = []
    for paragraph in text.split("\n"):
        pieces.extend(textwrap.wrap(paragraph, width, break_on_hyphens=False) or [""])
    return pieces


@dataclass(frozen=True)
class _Face:
    font: ImageFont.FreeTypeFont
    stroke: int  # > 0 fakes bold when no bold face is installed


class ReceiptRenderer:
    """Draws receipts as grayscale images ``width_px`` wide (black on white)."""

    def __init__(self, font_path: Path, width_px: int = THERMAL_80MM_WIDTH_PX) -> None:
        if width_px < 200:
            raise ValueError(f"receipt image width {width_px}px is too narrow")
        self.width_px = width_px
        self.font_path = font_path
        bold_path = bold_variant(font_path)
        self._faces: dict[LineStyle, _Face] = {}
        self._plain: dict[LineStyle, _Face] = {}  # the regular face at each style's size
        for style, size in _FONT_SIZES.items():
            wants_bold = style in ("bold", "large", "huge")
            path = bold_path if wants_bold and bold_path else font_path
            stroke = 1 if wants_bold and bold_path is None else 0
            self._faces[style] = _Face(ImageFont.truetype(str(path), size), stroke)
            self._plain[style] = _Face(ImageFont.truetype(str(font_path), size), 0)

    def missing_glyphs(self, receipt: Receipt) -> list[str]:
        text = "".join(line.text for line in receipt.layout())
        return missing_glyphs(self._faces["normal"].font, text)

    def render(self, receipt: Receipt) -> Image.Image:
        """The whole receipt: logo, lines, QR code, with a margin of paper around."""
        usable = self.width_px - 2 * _MARGIN_PX
        parts = [fit_logo(receipt.logo, self.width_px)] if receipt.logo is not None else []
        parts.append(self.render_lines(receipt.layout(), margin_x=_MARGIN_PX))
        if receipt.qr:
            parts.append(qr_image(receipt.qr, usable))
        image = Image.new("L", (self.width_px, 2 * _MARGIN_PX + sum(part.height for part in parts)), _PAPER)
        y = _MARGIN_PX
        for part in parts:
            image.paste(part, ((self.width_px - part.width) // 2, y))
            y += part.height
        return image

    def render_lines(self, lines: Sequence[ReceiptLine], margin_x: int = 0) -> Image.Image:
        """The lines as one image ``width_px`` wide, text kept ``margin_x`` pixels from the edges."""
        usable = self.width_px - 2 * margin_x
        rows: list[tuple[ReceiptLine, _Face, str, int]] = []
        for line in lines:
            face = self._face_for(line)
            ascent, descent = face.font.getmetrics()
            height = ascent + descent + _LINE_GAP_PX
            for piece in self._wrap_pixels(line.text, face, usable):
                rows.append((line, face, piece, height))

        image = Image.new("L", (self.width_px, sum(row[3] for row in rows)), _PAPER)
        draw = ImageDraw.Draw(image)
        y = 0
        for line, face, piece, height in rows:
            x = margin_x
            if line.align == "center":
                x += max(0, round((usable - self._length(piece, face)) / 2))
            draw.text((x, y), piece, font=face.font, fill=_INK, stroke_width=face.stroke, stroke_fill=_INK)
            y += height
        return image

    def _face_for(self, line: ReceiptLine) -> _Face:
        # DejaVu Sans Bold draws the stroke of Ǥ ǥ (Skolt Sámi) inside the letter's own bars: at receipt
        # sizes they print as G g. Such lines keep their size but use the regular face.
        if _FRAGILE_IN_BOLD.intersection(line.text):
            return self._plain[line.style]
        return self._faces[line.style]

    def _length(self, text: str, face: _Face) -> float:
        return face.font.getlength(text) + 2 * face.stroke

    def _wrap_pixels(self, text: str, face: _Face, max_width: int) -> list[str]:
        """Greedy word wrap by measured width (the font is proportional); over-long words are split."""
        pieces: list[str] = []
        for paragraph in text.split("\n"):
            current = ""
            for word in paragraph.split():
                candidate = f"{current} {word}" if current else word
                if self._length(candidate, face) <= max_width:
                    current = candidate
                    continue
                if current:
                    pieces.append(current)
                while self._length(word, face) > max_width:
                    cut = self._longest_fitting_prefix(word, face, max_width)
                    pieces.append(word[:cut])
                    word = word[cut:]
                current = word
            pieces.append(current)
        return pieces

    def _longest_fitting_prefix(self, word: str, face: _Face, max_width: int) -> int:
        cut = 1  # always make progress, even if one glyph is wider than the paper
        while cut < len(word) and self._length(word[: cut + 1], face) <= max_width:
            cut += 1
        return cut


class FilePrinter:
    """A ``Printer`` writing ``<timestamp>-<kind>-<n>.txt`` and ``.png`` into ``directory``."""

    def __init__(
        self,
        directory: Path,
        width_chars: int = 42,
        *,
        font_path: Path | None = None,
        width_px: int = THERMAL_80MM_WIDTH_PX,
        keep: timedelta = timedelta(hours=24),
    ) -> None:
        if width_chars < 10:
            raise ValueError(f"a receipt needs at least 10 characters per line, got {width_chars}")
        self.directory = Path(directory)
        self.width_chars = width_chars
        # Resolved now so a kiosk without the font fails at start-up, not at the first patron's receipt.
        self.renderer = ReceiptRenderer(font_path or find_receipt_font(), width_px)
        self._paper_out = False
        self._next_number = 1
        self._naming_lock = threading.Lock()
        self.keep = keep
        self._swept_at = float("-inf")  # monotonic time of the last sweep

    def simulate_paper_out(self) -> None:
        """Empty the printer: ``print`` raises ``PaperOut``, ``status`` says PAPER_OUT, until refilled."""
        self._paper_out = True

    def refill_paper(self) -> None:
        self._paper_out = False

    async def status(self) -> PrinterStatus:
        if self._paper_out:
            return PrinterStatus.PAPER_OUT
        try:
            await asyncio.to_thread(self._ensure_directory)
        except PrinterOffline:
            return PrinterStatus.OFFLINE
        return PrinterStatus.OK

    async def close(self) -> None:
        """Nothing to let go of: every receipt is written and closed at once."""

    async def print(self, receipt: Receipt) -> PrintResult:
        if self._paper_out:
            raise PaperOut("The receipt printer is out of paper (simulated): the receipt was not printed.")
        return await asyncio.to_thread(self._print_blocking, receipt)

    def _print_blocking(self, receipt: Receipt) -> PrintResult:
        self._ensure_directory()
        missing = self.renderer.missing_glyphs(receipt)
        if missing:
            log.warning("receipt font %s cannot draw %s", self.renderer.font_path.name, "".join(missing))
        text = render_text(receipt, self.width_chars)
        image = self.renderer.render(receipt)
        try:
            stem = self._claim_stem(receipt)
            text_path = self.directory / f"{stem}.txt"
            image_path = self.directory / f"{stem}.png"
            _write_atomically(text_path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
            _write_atomically(image_path, lambda tmp: image.save(tmp, format="PNG"))
        except OSError as error:
            raise PrinterOffline(f"cannot write receipt files in {self.directory}: {error}") from error
        self._sweep_now_and_then()
        return PrintResult(job_name=stem, files=(text_path, image_path))

    SWEEP_EVERY = 3600.0  # seconds between sweeps of old receipts

    def _sweep_now_and_then(self) -> None:
        now = time.monotonic()
        if now - self._swept_at >= self.SWEEP_EVERY:
            self._swept_at = now
            self.sweep()

    def sweep(self) -> int:
        """Delete receipts printed more than `keep` ago (and .tmp leftovers of a crash); how many went."""
        cutoff = time.time() - self.keep.total_seconds()
        removed = 0
        with os.scandir(self.directory) as entries:
            for entry in entries:
                if entry.is_file() and entry.name.endswith((".txt", ".png", ".tmp")):
                    try:
                        if entry.stat().st_mtime < cutoff:
                            os.unlink(entry.path)
                            removed += 1
                    except FileNotFoundError:
                        continue
        return removed

    def _claim_stem(self, receipt: Receipt) -> str:
        timestamp = receipt.printed_at.strftime("%Y%m%dT%H%M%S")
        with self._naming_lock:
            while True:
                stem = f"{timestamp}-{receipt.kind}-{self._next_number}"
                self._next_number += 1
                # Skip names left by an earlier run so no receipt is overwritten.
                text, image = self.directory / f"{stem}.txt", self.directory / f"{stem}.png"
                if not text.exists() and not image.exists():
                    # Reserve the name before releasing the lock.
                    text.touch(mode=0o600, exist_ok=False)
                    return stem

    def _ensure_directory(self) -> None:
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            raise PrinterOffline(f"cannot create the receipt folder {self.directory}: {error}") from error
        if not os.access(self.directory, os.W_OK):
            raise PrinterOffline(f"the receipt folder {self.directory} is not writable")


def _write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    # A crash mid-write leaves a .tmp file, never a truncated receipt under the final name.
    tmp = path.with_name(path.name + ".tmp")
    tmp.touch(mode=0o600)
    os.chmod(tmp, 0o600)  # whatever the umask: a receipt is the patron's
    write(tmp)
    os.replace(tmp, path)
