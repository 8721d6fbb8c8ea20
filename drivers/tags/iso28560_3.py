"""ISO 28560-3 (the Danish data model) basic block, as profiled by NOR-RFID in Norway.

Pure codec: bytes in, ``DanishTag`` out and back; no I/O.

Basic block layout (byte offsets into the tag's user memory, in block order)::

    0       version (high nibble, always 1) | type of usage (low nibble)
    1       parts in item (1 for a single item, n for an n-part set)
    2       part number (1..parts in item)
    3..18   primary item id: 16 bytes ASCII, NUL-padded
    19..20  CRC-16/CCITT, low byte first
    21..22  country (ISO 3166 alpha-2, e.g. "NO")
    23..31  owner library, ASCII, NUL-padded (23..33 on 34-byte tags)

The CRC covers bytes 0..18 followed by 21..end, padded with 0x00 to 32 bytes (so a 34-byte tag is summed
over exactly 32 bytes and a 32-byte tag over 30 bytes plus two zeros).

``decode`` is strict: it reads a tag written by the book. A tag is *blank* only when its whole memory is
0x00 (or 0xFF); an empty basic block with data after it is malformed, not blank. ``decode_tolerant`` also
reads the variants seen in the field and says which it found (``Variant``): each 4-byte block reversed (a
reader configured for the other byte order) and bytes 1 and 2 swapped (some encoders). It also reads the
**extension blocks** after the basic block (``drivers.tags.extensions``: length, block id, XOR check byte,
data; or with the check byte last, as some encoders write them). A read shorter than the 32-byte basic
block is a ``ShortRead`` (read again). ``rewrite`` changes the basic block and keeps every byte after it
(the extension blocks and any unknown data) as it was; when the old basic block is not valid (CRC fails
...) it raises instead of guessing where it ended. ``nor_rfid_problems`` checks the NOR-RFID profile.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from enum import IntEnum

from drivers.tags.crc import crc16_ccitt
from drivers.tags.errors import (
    BlankTag,
    MalformedTag,
    ShortRead,
    TagCrcError,
    TagEncodeError,
    UnsupportedTag,
)
from drivers.tags.extensions import (
    ExtensionBlock,
    ExtensionId,
    ExtensionLayout,
    Extensions,
    encode_extensions,
    parse_extensions,
)
from drivers.tags.library import same_library

__all__ = [
    "BASIC_BLOCK_SIZES",
    "NOR_RFID_COUNTRY",
    "DanishTag",
    "DecodedDanishTag",
    "ExtensionBlock",
    "ExtensionId",
    "ExtensionLayout",
    "Extensions",
    "TypeOfUsage",
    "Variant",
    "basic_block_crc",
    "basic_block_size",
    "decode",
    "decode_tolerant",
    "encode",
    "encode_extensions",
    "is_blank",
    "looks_like_basic_block",
    "nor_rfid_problems",
    "parse_extensions",
    "reverse_blocks",
    "rewrite",
]

BASIC_BLOCK_SIZES = (32, 34)
SUPPORTED_VERSION = 1

_CRC_COVERAGE_SIZE = 32
_ITEM_ID = slice(3, 19)
_CRC = slice(19, 21)
_COUNTRY = slice(21, 23)
_OWNER_LIBRARY_START = 23
_ITEM_ID_LENGTH = _ITEM_ID.stop - _ITEM_ID.start


class TypeOfUsage(IntEnum):
    """Low nibble of byte 0. Libraries that do not use the field write CIRCULATING on items and PATRON_CARD
    on cards (NOR-RFID)."""

    ACQUISITION = 0
    CIRCULATING = 1
    NOT_FOR_LOAN = 2
    DISCARDED = 7
    PATRON_CARD = 8
    EQUIPMENT = 9


@dataclass(frozen=True)
class DanishTag:
    """The basic block of one tag. ``type_of_usage`` is a ``TypeOfUsage`` when the value is a known one,
    otherwise the plain number read from the tag (so an unknown usage is reported, not lost)."""

    type_of_usage: int
    parts_in_item: int
    part_number: int
    primary_item_id: str
    country: str
    owner_library: str
    version: int = SUPPORTED_VERSION

    @property
    def is_patron_card(self) -> bool:
        return self.type_of_usage == TypeOfUsage.PATRON_CARD


def basic_block_crc(block: bytes) -> int:
    """CRC of a 32- or 34-byte basic block; the stored CRC bytes (19..20) are skipped, whatever they hold."""
    if len(block) not in BASIC_BLOCK_SIZES:
        raise ValueError(f"a basic block is 32 or 34 bytes, got {len(block)}")
    covered = block[: _CRC.start] + block[_CRC.stop :]
    return crc16_ccitt(covered.ljust(_CRC_COVERAGE_SIZE, b"\x00"))


def encode(tag: DanishTag, size: int = 32) -> bytes:
    """Return the ``size``-byte basic block for ``tag``; raises ``TagEncodeError`` if a field does not fit."""
    _check_encodable(tag, size)
    block = bytearray(size)
    block[0] = (tag.version << 4) | int(tag.type_of_usage)
    block[1] = tag.parts_in_item
    block[2] = tag.part_number
    block[_ITEM_ID] = tag.primary_item_id.encode("ascii").ljust(_ITEM_ID_LENGTH, b"\x00")
    block[_COUNTRY] = tag.country.encode("ascii").ljust(2, b"\x00")
    block[_OWNER_LIBRARY_START:] = tag.owner_library.encode("ascii").ljust(
        size - _OWNER_LIBRARY_START, b"\x00"
    )
    block[_CRC] = basic_block_crc(bytes(block)).to_bytes(2, "little")
    return bytes(block)


def decode(raw: bytes) -> DanishTag:
    """Decode the basic block at the start of ``raw`` (a tag's user memory, which may be longer).

    Raises ``BlankTag``, ``UnsupportedTag``, ``TagCrcError`` or ``MalformedTag``, each carrying ``raw``.
    """
    raw = bytes(raw)
    size = basic_block_size(raw)
    return _parse_fields(raw, raw[:size])


def is_blank(raw: bytes) -> bool:
    """Never programmed: the whole memory is 0x00, or all 0xFF. An empty read is not blank (nothing seen)."""
    return bool(raw) and (set(raw) == {0x00} or set(raw) == {0xFF})


def basic_block_size(raw: bytes) -> int:
    """The size (32 or 34) of the valid version-1 basic block at the start of ``raw``.

    Raises ``BlankTag`` (the whole memory is blank), ``ShortRead`` (fewer than 32 bytes), ``MalformedTag``
    (an empty basic block with data after it), ``UnsupportedTag`` (another version) or ``TagCrcError``,
    each carrying ``raw``.
    """
    raw = bytes(raw)
    if is_blank(raw):
        raise BlankTag(raw)
    if len(raw) < BASIC_BLOCK_SIZES[0]:
        raise ShortRead(raw, f"only {len(raw)} bytes were read from the tag, the basic block needs 32")
    if is_blank(raw[: BASIC_BLOCK_SIZES[0]]):
        raise MalformedTag(raw, "the basic block is empty, but the memory after it holds data")
    version = raw[0] >> 4
    if version != SUPPORTED_VERSION:
        raise UnsupportedTag(raw, f"Danish data model version {version} (only version 1 is known)")
    return detect_basic_block_size(raw)


def detect_basic_block_size(raw: bytes) -> int:
    """Return 34 or 32: the basic block size whose CRC matches the stored one, or raise ``TagCrcError``.

    A 34-byte block whose last two bytes are NUL has the same CRC as its 32-byte prefix (that is what the
    zero padding is for), so trying 34 first never misreads a 32-byte tag's owner library. If a 32-byte
    block is followed by other data, the 34-byte sum fails and the 32-byte one is used.
    """
    stored = int.from_bytes(raw[_CRC], "little")
    candidates = [size for size in sorted(BASIC_BLOCK_SIZES, reverse=True) if len(raw) >= size]
    for size in candidates:
        if basic_block_crc(raw[:size]) == stored:
            return size
    raise TagCrcError(raw, stored=stored, computed=basic_block_crc(raw[: BASIC_BLOCK_SIZES[0]]))


def _parse_fields(raw: bytes, block: bytes) -> DanishTag:
    usage_value = block[0] & 0x0F
    usage: int = TypeOfUsage(usage_value) if usage_value in TypeOfUsage._value2member_map_ else usage_value
    parts_in_item, part_number = block[1], block[2]
    if parts_in_item == 0 or not 1 <= part_number <= parts_in_item:
        # Some encoders swap bytes 1 and 2; variant detection (later) may repair that, here it is reported.
        raise MalformedTag(
            raw,
            f"part {part_number} of {parts_in_item} is impossible (bytes 1 and 2 may be swapped)",
        )
    item_id = _ascii_field(raw, block[_ITEM_ID], "item id")
    if not item_id:
        raise MalformedTag(raw, "the item id is empty")
    return DanishTag(
        type_of_usage=usage,
        parts_in_item=parts_in_item,
        part_number=part_number,
        primary_item_id=item_id,
        country=_ascii_field(raw, block[_COUNTRY], "country"),
        owner_library=_ascii_field(raw, block[_OWNER_LIBRARY_START:], "owner library"),
        version=block[0] >> 4,
    )


def looks_like_basic_block(raw: bytes) -> bool:
    """Do at least two of the item id, country and owner library fields look like ISO 28560-3 ones?

    Used on a block whose CRC fails: one damaged field leaves the other two recognisable, so such a block
    is a damaged 28560-3 tag, not data of another model. (ISO 28560-2 data starting with 0x11 has binary
    integer bytes where the item id would be.)
    """
    if len(raw) < BASIC_BLOCK_SIZES[0]:
        return False
    signs = (
        _looks_like_text(raw[_ITEM_ID]),
        _is_country_code(raw[_COUNTRY].decode("latin-1")),
        _looks_like_text(raw[_OWNER_LIBRARY_START : BASIC_BLOCK_SIZES[0]]),
    )
    return sum(signs) >= 2


def _looks_like_text(field: bytes) -> bool:
    value = field.rstrip(b"\x00")
    return bool(value) and all(0x20 <= byte <= 0x7E for byte in value)


def _ascii_field(raw: bytes, field: bytes, name: str) -> str:
    value = field.rstrip(b"\x00")
    if not all(0x20 <= byte <= 0x7E for byte in value):
        raise MalformedTag(raw, f"the {name} contains bytes that are not printable ASCII: {field.hex(' ')}")
    return value.decode("ascii")


def _is_printable_ascii(text: str) -> bool:
    return all(" " <= char <= "~" for char in text)


def _is_country_code(text: str) -> bool:
    return len(text) == 2 and all("A" <= char <= "Z" for char in text)


def _check_encodable(tag: DanishTag, size: int) -> None:
    if size not in BASIC_BLOCK_SIZES:
        raise TagEncodeError(f"tag size must be 32 or 34 bytes, got {size}")
    if tag.version != SUPPORTED_VERSION:
        raise TagEncodeError(f"only version {SUPPORTED_VERSION} can be written, got {tag.version}")
    if not 0 <= tag.type_of_usage <= 0x0F:
        raise TagEncodeError(f"type of usage must fit in 4 bits (0..15), got {tag.type_of_usage}")
    if not 1 <= tag.parts_in_item <= 255:
        raise TagEncodeError(f"parts in item must be 1..255, got {tag.parts_in_item}")
    if not 1 <= tag.part_number <= tag.parts_in_item:
        raise TagEncodeError(f"part number must be 1..{tag.parts_in_item}, got {tag.part_number}")
    if not 1 <= len(tag.primary_item_id) <= _ITEM_ID_LENGTH or not _is_printable_ascii(tag.primary_item_id):
        raise TagEncodeError(
            f"item id must be 1..{_ITEM_ID_LENGTH} printable ASCII characters, got {tag.primary_item_id!r}"
        )
    if tag.country and not _is_country_code(tag.country):
        raise TagEncodeError(
            f"country must be two capital letters such as 'NO' (or empty), got {tag.country!r}"
        )
    owner_room = size - _OWNER_LIBRARY_START
    if len(tag.owner_library) > owner_room or not _is_printable_ascii(tag.owner_library):
        raise TagEncodeError(
            f"owner library must be at most {owner_room} printable ASCII characters on a {size}-byte tag, "
            f"got {tag.owner_library!r}"
        )


# ------------------------------------------------------------------------------------ variants


class Variant(enum.StrEnum):
    STANDARD = "standard"
    REVERSED_BLOCKS = "reversed_blocks"  # every 4-byte block byte-reversed
    PARTS_SWAPPED = "parts_swapped"  # bytes 1 (parts in item) and 2 (part number) swapped
    REVERSED_BLOCKS_PARTS_SWAPPED = "reversed_blocks+parts_swapped"


@dataclass(frozen=True)
class DecodedDanishTag:
    tag: DanishTag
    size: int  # 32 or 34
    variant: Variant
    extensions: Extensions
    memory: bytes  # the memory in standard order (un-reversed), for a rewrite that keeps the rest


def reverse_blocks(raw: bytes, block_size: int = 4) -> bytes:
    """Reverse the bytes within each ``block_size`` block (its own inverse)."""
    return b"".join(raw[i : i + block_size][::-1] for i in range(0, len(raw), block_size))


def decode_tolerant(raw: bytes) -> DecodedDanishTag:
    """Decode ``raw`` as written by the book, or as one of the known variants; say which one it was.

    Raises the error of the standard reading (``BlankTag``, ``TagCrcError`` ...) when no variant fits.
    """
    raw = bytes(raw)
    try:
        return _decode_ordered(raw, reversed_blocks=False)
    except (TagCrcError, UnsupportedTag, MalformedTag) as first:  # a ShortRead is no variant's business
        try:
            return _decode_ordered(reverse_blocks(raw), reversed_blocks=True)
        except (TagCrcError, UnsupportedTag, MalformedTag):
            pass
        raise first


def _decode_ordered(memory: bytes, *, reversed_blocks: bool) -> DecodedDanishTag:
    swapped = False
    try:
        tag = decode(memory)
    except MalformedTag as error:
        if len(memory) < 3 or "part" not in error.detail:
            raise
        parts, part = memory[1], memory[2]
        if not (part >= 1 and 1 <= parts <= part):
            raise
        # The CRC (already checked by ``decode``) covers the bytes as stored: parse the swapped fields.
        size = detect_basic_block_size(memory)
        swapped_block = memory[:1] + bytes([part, parts]) + memory[3:size]
        tag = _parse_fields(memory, swapped_block)
        swapped = True
    size = detect_basic_block_size(memory)
    if reversed_blocks and swapped:
        variant = Variant.REVERSED_BLOCKS_PARTS_SWAPPED
    elif reversed_blocks:
        variant = Variant.REVERSED_BLOCKS
    elif swapped:
        variant = Variant.PARTS_SWAPPED
    else:
        variant = Variant.STANDARD
    return DecodedDanishTag(tag, size, variant, parse_extensions(memory[size:]), memory)


def rewrite(memory: bytes, tag: DanishTag, size: int | None = None) -> bytes:
    """New memory for a tag: ``tag``'s basic block, every byte after the old basic block kept intact.

    ``memory`` is the tag's memory in standard order. The size stays what it was (32 or 34) unless given;
    a blank tag (all 0x00 or all 0xFF) gets a 32-byte block followed by zeros.

    The old basic block must be valid: only then is it known where it ends (32 or 34 bytes) and where the
    extension blocks start. Otherwise this raises the decode error (``TagCrcError``, ``UnsupportedTag``,
    ``MalformedTag``) instead of guessing; a caller that means to overwrite such a tag passes zeros.
    Raises ``TagEncodeError`` when ``tag`` does not fit, or when a larger block would push kept data off
    the end of the memory.
    """
    memory = bytes(memory)
    if not memory or is_blank(memory):
        block = encode(tag, size or BASIC_BLOCK_SIZES[0])
        return block + bytes(max(0, len(memory) - len(block)))
    old_size = basic_block_size(memory)
    block = encode(tag, size or old_size)
    rest = memory[old_size:]
    room = max(len(memory), len(block)) - len(block)
    if any(rest[room:]):
        raise TagEncodeError(
            f"a {len(block)}-byte basic block leaves no room for the {len(rest)} bytes after the old one"
        )
    return block + rest[:room].ljust(room, b"\x00")


# ------------------------------------------------------------------------------------ NOR-RFID


NOR_RFID_COUNTRY = "NO"


def nor_rfid_problems(tag: DanishTag, library: str | None = None) -> list[str]:
    """What does not follow the NOR-RFID profile (empty list: the tag is fine).

    The profile: country ``NO``; owner library = the library's number in Base Bibliotek (7 digits);
    type of usage 1 on items, 8 on patron cards where the field is not otherwise used.
    """
    problems = []
    if tag.country != NOR_RFID_COUNTRY:
        problems.append(f"country is {tag.country!r}, NOR-RFID needs 'NO'")
    if not (len(tag.owner_library) == 7 and tag.owner_library.isdigit()):
        problems.append(f"owner library {tag.owner_library!r} is not a 7-digit library number")
    if library is not None and not same_library(tag.owner_library, library, tag.country or NOR_RFID_COUNTRY):
        problems.append(f"owner library is {tag.owner_library}, not this library ({library})")
    if tag.type_of_usage not in tuple(TypeOfUsage):
        problems.append(f"type of usage {tag.type_of_usage} is not one the profile knows")
    return problems
