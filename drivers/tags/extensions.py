"""ISO 28560-3 extension blocks: the memory after the basic block (pure codec).

The standard's frame::

    length (whole block, including this byte), block id (2 bytes, low byte first), check byte, data

where the check byte makes the XOR of the whole block zero; length 0 ends the list, length 1 is a filler
byte. Example: title "title" is ``09 04 00 6D 74 69 74 6C 65``. ``encode_extensions`` writes this order.

Some implementations (this project's own writer before issue 10 among them) put the check byte *last*:
``length, id, data, check``. Read as the standard's order, such a title ``title`` becomes ``itlem``. The
XOR is zero in both orders, so the order cannot be read off the check; ``parse_extensions`` decides per
tag, from the title blocks (their data must be text, UTF-8: a title that reads as text in one order only
decides it), and says what it found in ``Extensions.layout``. Titles whose check byte happens to be a
printable character read as text both ways (``title`` / ``itlem``): then the order in which the title
starts with a capital letter where the other starts with a lower-case one is taken (catalogue titles are
capitalised: ``Sult``, not ``ult2``), and failing that the standard's order, both with ``layout_certain``
False. (So a standard block whose title starts with a lower-case letter and whose check byte happens to be
a capital is misread, 1 in 5 of such rare titles.) Other block ids carry binary data whose look proves
nothing. ``rewrite`` keeps the bytes as they are
either way.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from enum import IntEnum

from drivers.tags.errors import TagEncodeError

__all__ = [
    "ExtensionBlock",
    "ExtensionId",
    "ExtensionLayout",
    "Extensions",
    "encode_extensions",
    "parse_extensions",
]


class ExtensionId(IntEnum):
    LIBRARY = 1
    ACQUISITION = 2
    LIBRARY_SUPPLEMENT = 3
    TITLE = 4
    ILL = 5


class ExtensionLayout(enum.StrEnum):
    NONE = ""  # no extension blocks on the tag
    STANDARD = "standard"  # length, id, check byte, data
    CHECK_LAST = "check_last"  # length, id, data, check byte


@dataclass(frozen=True)
class ExtensionBlock:
    """One extension block: its id (an ``ExtensionId`` when known) and its data, kept as bytes."""

    block_id: int
    data: bytes


@dataclass(frozen=True)
class Extensions:
    blocks: tuple[ExtensionBlock, ...] = ()
    problem: str = ""  # a damaged extension area is reported here; the basic block still counts
    layout: ExtensionLayout = ExtensionLayout.NONE
    layout_certain: bool = True  # False: both orders read as plausible data, the standard's was taken


def _frames(area: bytes) -> tuple[list[bytes], str]:
    """The XOR-valid blocks in ``area`` (whole frames) and the problem that ended the walk, if any."""
    frames: list[bytes] = []
    offset = 0
    while offset < len(area):
        length = area[offset]
        if length == 0 or set(area[offset:]) == {0xFF}:
            return frames, ""  # the end mark, or unused memory erased to 0xFF
        if length == 1:
            offset += 1
            continue
        if length < 4:
            return frames, f"extension block at byte {offset} has bad length {length}"
        block = area[offset : offset + length]
        if len(block) < length:
            return frames, f"extension block at byte {offset} runs past the end of what was read"
        check = 0
        for byte in block:
            check ^= byte
        if check:
            return frames, f"extension block at byte {offset} fails its XOR check"
        frames.append(bytes(block))
        offset += length
    if frames:
        return frames, "the extension blocks run to the end of what was read without an end mark (cut short?)"
    return frames, ""


def _data(frame: bytes, layout: ExtensionLayout) -> bytes:
    return frame[4:] if layout is ExtensionLayout.STANDARD else frame[3:-1]


def _title_reads(frame: bytes, layout: ExtensionLayout) -> bool:
    """Is a title block's data text (UTF-8, printable, NUL padding only at the end) in ``layout``?"""
    text = _data(frame, layout).rstrip(b"\x00")
    try:
        return bool(text) and b"\x00" not in text and text.decode("utf-8").isprintable()
    except UnicodeDecodeError:
        return False


def _capitalised(frame: bytes, layout: ExtensionLayout) -> bool:
    """Does the title start with a capital where the other order starts with a lower-case letter? (The two
    readings differ only in their first and last byte: ``Sult`` against ``ult2``.)"""
    other = ExtensionLayout.STANDARD if layout is ExtensionLayout.CHECK_LAST else ExtensionLayout.CHECK_LAST
    first = _data(frame, layout)[:1].decode("latin-1")
    return first.isupper() and _data(frame, other)[:1].decode("latin-1").islower()


def _layout(frames: list[bytes]) -> tuple[ExtensionLayout, bool]:
    """The order the tag's blocks are in, and whether the data proves it (titles that read as text in only
    one order). Without proof: the order in which a title starts with a capital where the other starts
    with a lower-case letter (catalogue titles are capitalised), not certain; else the standard's order,
    not certain."""
    titles = [f for f in frames if int.from_bytes(f[1:3], "little") == ExtensionId.TITLE]
    for test, certain in ((_title_reads, True), (_capitalised, False)):
        votes = {ExtensionLayout.STANDARD: 0, ExtensionLayout.CHECK_LAST: 0}
        for frame in titles:
            reads = {layout: test(frame, layout) for layout in votes}
            if reads[ExtensionLayout.STANDARD] != reads[ExtensionLayout.CHECK_LAST]:
                votes[max(reads, key=lambda layout: reads[layout])] += 1
        standard, check_last = votes[ExtensionLayout.STANDARD], votes[ExtensionLayout.CHECK_LAST]
        if check_last > standard:
            return ExtensionLayout.CHECK_LAST, certain and standard == 0
        if standard > check_last:
            return ExtensionLayout.STANDARD, certain and check_last == 0
    return ExtensionLayout.STANDARD, False


def parse_extensions(area: bytes) -> Extensions:
    """Parse the extension blocks in ``area`` (the memory after the basic block), in either order."""
    frames, problem = _frames(area)
    if not frames:
        return Extensions(problem=problem)
    layout, certain = _layout(frames)
    blocks = tuple(ExtensionBlock(int.from_bytes(f[1:3], "little"), _data(f, layout)) for f in frames)
    return Extensions(blocks, problem, layout, layout_certain=certain)


def encode_extensions(blocks: tuple[ExtensionBlock, ...] | list[ExtensionBlock]) -> bytes:
    """The extension area for ``blocks`` in the standard's order, ending with the 0 terminator."""
    out = bytearray()
    for block in blocks:
        length = len(block.data) + 4
        if length > 255:
            raise TagEncodeError(f"extension block {block.block_id} is too long ({len(block.data)} bytes)")
        if not 0 <= block.block_id <= 0xFFFF:
            raise TagEncodeError(f"extension block id must fit in 16 bits, got {block.block_id}")
        head = bytes([length]) + block.block_id.to_bytes(2, "little")
        check = 0
        for byte in head + block.data:
            check ^= byte
        out += head + bytes([check]) + block.data
    return bytes(out + b"\x00")
