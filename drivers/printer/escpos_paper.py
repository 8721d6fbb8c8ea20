"""The simulated printer's print engine: ESC/POS events onto a roll of paper, rendered with Pillow.

Text is decoded in the selected code page (``ESC t n``) by the engine's own table of Epson code page
numbers (not python-escpos's, so a wrong number in the driver shows as wrong letters on the PNG) and drawn
in a 12 x 24 dot monospace cell (font A; font B 9 x 17), with double and custom sizes, bold and
alignment. Raster images (``GS v 0``) are copied dot for dot; cuts mark where one receipt ends.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from drivers.printer import escpos_stream as es

__all__ = ["EPSON_CODE_PAGES", "PaperEngine"]

EPSON_CODE_PAGES: dict[int, str] = {
    0: "cp437",
    2: "cp850",
    3: "cp860",
    4: "cp863",
    5: "cp865",
    15: "iso8859-7",
    16: "cp1252",
    17: "cp866",
    18: "cp852",
    19: "cp858",
    39: "iso8859-2",
    40: "iso8859-15",
    45: "cp1250",
    46: "cp1251",
    47: "cp1253",
    48: "cp1254",
    51: "cp1257",
}
"""``ESC t n`` numbers as Epson's TM-T88V/TM-T20II character code tables list them."""

MONO_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")
MONO_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf")
_CELLS = {0: (12, 24), 1: (9, 17)}  # font A, font B: dots per character cell
_DEFAULT_LINE_DOTS = 30  # 1/6 inch at 180 dpi


@dataclass
class _Modes:
    code_page: int = 0
    font: int = 0
    bold: bool = False
    width: int = 1
    height: int = 1
    align: int = 0
    line_spacing: int = _DEFAULT_LINE_DOTS


@dataclass
class _Line:
    chars: list[tuple[str, int, bool, int, int]] = field(default_factory=list)  # char, font, bold, w, h
    align: int = 0


class PaperEngine:
    """Executes print events; ``height_needed`` says how much paper an event takes before it is run."""

    def __init__(self, dots_per_line: int) -> None:
        self.dots_per_line = dots_per_line
        self.modes = _Modes()
        self.strips: list[Image.Image] = []
        self.cuts: list[int] = []  # number of strips before each cut
        self.text_lines: list[str] = []  # every printed text line, decoded, for tests
        self.unknown: list[bytes] = []
        self._line = _Line()
        self._fonts: dict[tuple[int, bool], ImageFont.FreeTypeFont] = {}

    # ------------------------------------------------------------ what the paper looks like

    def image(self, strips: list[Image.Image] | None = None) -> Image.Image:
        parts = self.strips if strips is None else strips
        height = max(1, sum(part.height for part in parts))
        paper = Image.new("L", (self.dots_per_line, height), 255)
        y = 0
        for part in parts:
            paper.paste(part, (0, y))
            y += part.height
        return paper

    def receipts(self) -> list[Image.Image]:
        """One image per cut-off receipt (and the part after the last cut, if any)."""
        bounds = [0, *self.cuts]
        pieces = [self.strips[a:b] for a, b in itertools.pairwise(bounds)]
        if len(self.strips) > bounds[-1]:
            pieces.append(self.strips[bounds[-1] :])
        return [self.image(piece) for piece in pieces]

    # ------------------------------------------------------------ running events

    def height_needed(self, event: es.Event) -> int:
        if isinstance(event, es.LineFeed):
            return self._line_height()
        if isinstance(event, es.Feed):
            return self._line_height() + event.lines * self.modes.line_spacing
        if isinstance(event, es.Raster):
            return event.height
        return 0

    def run(self, event: es.Event) -> None:
        if isinstance(event, es.Text):
            self._add_text(event.data)
        elif isinstance(event, es.LineFeed):
            self._print_line()
        elif isinstance(event, es.Feed):
            self._print_line(empty_ok=False)
            self.strips.append(
                Image.new("L", (self.dots_per_line, event.lines * self.modes.line_spacing), 255)
            )
        elif isinstance(event, es.Raster):
            self._raster(event)
        elif isinstance(event, es.Cut):
            self._print_line(empty_ok=False)
            self.cuts.append(len(self.strips))
        elif isinstance(event, es.Command):
            self._command(event)
        elif isinstance(event, es.Unknown):
            self.unknown.append(event.data)

    def _command(self, command: es.Command) -> None:
        m, value = self.modes, command.value
        if command.name == "init":
            self._line = _Line()
            self.modes = _Modes()
        elif command.name == "code_page":
            m.code_page = value
        elif command.name == "print_mode":  # ESC !: font, bold, double height (bit 4) and width (bit 5)
            m.font, m.bold = value & 1, bool(value & 8)
            m.height, m.width = (2 if value & 0x10 else 1), (2 if value & 0x20 else 1)
        elif command.name == "char_size":  # GS !: width - 1 in the high nibble, height - 1 in the low
            m.width, m.height = (value >> 4) + 1, (value & 0x0F) + 1
        elif command.name == "bold":
            m.bold = bool(value & 1)
        elif command.name == "font":
            m.font = value & 1
        elif command.name == "align":
            m.align = value % 48 if value >= 48 else value
            if not self._line.chars:
                self._line.align = m.align
        elif command.name == "line_spacing":
            m.line_spacing = _DEFAULT_LINE_DOTS if value < 0 else value

    def _add_text(self, data: bytes) -> None:
        codec = EPSON_CODE_PAGES.get(self.modes.code_page)
        if codec is None:
            self.unknown.append(b"\x1bt" + bytes([self.modes.code_page]))
            codec = "cp437"
        m = self.modes
        if not self._line.chars:
            self._line.align = m.align
        for char in data.decode(codec, errors="replace"):
            cell_w = _CELLS[m.font][0] * m.width
            if self._width() + cell_w > self.dots_per_line:
                self._print_line()  # the printer wraps a line that is too long
            self._line.chars.append((char, m.font, m.bold, m.width, m.height))

    def _width(self) -> int:
        return sum(_CELLS[font][0] * w for _, font, _, w, _ in self._line.chars)

    def _line_height(self) -> int:
        if not self._line.chars:
            return self.modes.line_spacing
        tallest = max(_CELLS[font][1] * h for _, font, _, _, h in self._line.chars)
        return max(self.modes.line_spacing, tallest + 6)

    def _print_line(self, *, empty_ok: bool = True) -> None:
        if not self._line.chars and not empty_ok:
            return
        height = self._line_height()
        strip = Image.new("L", (self.dots_per_line, height), 255)
        x = {0: 0, 1: (self.dots_per_line - self._width()) // 2, 2: self.dots_per_line - self._width()}.get(
            self._line.align, 0
        )
        for char, font, bold, w, h in self._line.chars:
            cell_w, cell_h = _CELLS[font]
            glyph = self._glyph(char, font, bold).resize((cell_w * w, cell_h * h), Image.Resampling.NEAREST)
            strip.paste(glyph, (x, height - 6 - cell_h * h))
            x += cell_w * w
        self.text_lines.append("".join(char for char, *_ in self._line.chars))
        self.strips.append(strip)
        self._line = _Line(align=self.modes.align)

    def _glyph(self, char: str, font: int, bold: bool) -> Image.Image:
        cell_w, cell_h = _CELLS[font]
        key = (font, bold)
        if key not in self._fonts:
            size = 20 if font == 0 else 15
            self._fonts[key] = ImageFont.truetype(str(MONO_BOLD if bold else MONO_FONT), size)
        cell = Image.new("L", (cell_w, cell_h), 255)
        ImageDraw.Draw(cell).text((0, 0), char, font=self._fonts[key], fill=0)
        return cell

    def _raster(self, raster: es.Raster) -> None:
        self._print_line(empty_ok=False)
        bits = Image.frombytes("1", (raster.width_bytes * 8, raster.height), raster.data)
        dots = bits.convert("L").point(lambda value: 255 - value)  # 1 = a black dot
        strip = Image.new("L", (self.dots_per_line, raster.height), 255)
        x = {1: (self.dots_per_line - dots.width) // 2, 2: self.dots_per_line - dots.width}.get(
            self.modes.align, 0
        )
        strip.paste(dots.crop((0, 0, min(dots.width, self.dots_per_line), dots.height)), (max(0, x), 0))
        self.strips.append(strip)
