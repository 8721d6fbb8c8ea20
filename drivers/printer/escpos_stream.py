"""The printer's side of ESC/POS: a sans-IO parser from bytes to typed events (for the simulator).

It knows the commands a receipt uses (as python-escpos sends them) and the real-time status request;
anything else is an ``Unknown`` event, so a test sees when the driver sends something the simulator (and
perhaps the printer) does not understand. Raster data is read by its length, so a ``10 04`` inside an
image is never taken for a status request.

>>> parser = StreamParser()
>>> parser.feed(b"\\x1b@\\x1bt\\x05Hei\\n\\x10\\x04\\x01")
[Command(name='init', value=0), Command(name='code_page', value=5), Text(data=b'Hei'), LineFeed(), \
StatusRequest(n=1)]
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Command",
    "Cut",
    "Event",
    "Feed",
    "LineFeed",
    "Raster",
    "StatusRequest",
    "StreamParser",
    "Text",
    "Unknown",
]

ESC, GS, DLE, LF, CR = 0x1B, 0x1D, 0x10, 0x0A, 0x0D


@dataclass(frozen=True)
class Text:
    data: bytes


@dataclass(frozen=True)
class LineFeed:
    pass


@dataclass(frozen=True)
class Feed:
    lines: int


@dataclass(frozen=True)
class Command:
    """A mode change: init, code_page, print_mode (ESC !), char_size (GS !), bold, underline, font,
    align, line_spacing (value -1: default), flip, smooth, invert."""

    name: str
    value: int = 0


@dataclass(frozen=True)
class Raster:
    """``GS v 0``: ``width_bytes`` * 8 dots wide, ``height`` rows, bit 1 = a black dot."""

    mode: int
    width_bytes: int
    height: int
    data: bytes


@dataclass(frozen=True)
class Cut:
    partial: bool
    feed: int = 0


@dataclass(frozen=True)
class StatusRequest:
    n: int


@dataclass(frozen=True)
class Unknown:
    data: bytes


Event = Text | LineFeed | Feed | Command | Raster | Cut | StatusRequest | Unknown

# ESC x n / GS x n commands with one parameter byte, by their second byte.
_ESC_ONE = {
    0x74: "code_page",
    0x21: "print_mode",
    0x45: "bold",
    0x2D: "underline",
    0x4D: "font",
    0x61: "align",
    0x33: "line_spacing",
    0x7B: "flip",
}
_GS_ONE = {0x21: "char_size", 0x62: "smooth", 0x42: "invert"}


class StreamParser:
    """Feed bytes as they arrive; get the complete events. Incomplete commands wait for more bytes."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Event]:
        self._buffer.extend(data)
        events: list[Event] = []
        while self._buffer:
            parsed = self._next()
            if parsed is None:
                break
            event, used = parsed
            del self._buffer[:used]
            if event is not None:
                events.append(event)
        return events

    def _next(self) -> tuple[Event | None, int] | None:
        buf = self._buffer
        first = buf[0]
        if first == ESC:
            return self._esc()
        if first == GS:
            return self._gs()
        if first == DLE:
            if len(buf) < 3:
                return None
            if buf[1] == 0x04:
                return StatusRequest(buf[2]), 3
            return Unknown(bytes(buf[:3])), 3
        if first == LF:
            return LineFeed(), 1
        if first == CR:
            return None, 1  # carriage return: printers set to LF-only mode ignore it
        if first < 0x20:
            return Unknown(bytes(buf[:1])), 1
        end = 1
        while end < len(buf) and buf[end] >= 0x20:
            end += 1
        return Text(bytes(buf[:end])), end

    def _esc(self) -> tuple[Event | None, int] | None:
        buf = self._buffer
        if len(buf) < 2:
            return None
        code = buf[1]
        if code == 0x40:
            return Command("init"), 2
        if code == 0x32:
            return Command("line_spacing", -1), 2
        if code in _ESC_ONE or code == 0x64:
            if len(buf) < 3:
                return None
            if code == 0x64:
                return Feed(buf[2]), 3
            return Command(_ESC_ONE[code], buf[2]), 3
        return Unknown(bytes(buf[:2])), 2

    def _gs(self) -> tuple[Event | None, int] | None:
        buf = self._buffer
        if len(buf) < 3:
            return None
        code = buf[1]
        if code in _GS_ONE:
            return Command(_GS_ONE[code], buf[2]), 3
        if code == 0x56:  # GS V m [n]
            mode = buf[2]
            if mode in (0, 1, 48, 49):
                return Cut(partial=mode in (1, 49)), 3
            if len(buf) < 4:
                return None
            return Cut(partial=mode in (66, 98), feed=buf[3]), 4
        if code == 0x76 and buf[2] == 0x30:  # GS v 0 m xL xH yL yH d1...dk
            if len(buf) < 8:
                return None
            width_bytes = buf[4] | buf[5] << 8
            height = buf[6] | buf[7] << 8
            size = 8 + width_bytes * height
            if len(buf) < size:
                return None
            return Raster(buf[3], width_bytes, height, bytes(buf[8:size])), size
        return Unknown(bytes(buf[:2])), 2
