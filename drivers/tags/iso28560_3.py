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

Not handled here yet (later issue): extension blocks after the basic block, the tag variants seen in the
field (bytes 1 and 2 swapped, each 4-byte block reversed by the reader) and ISO 28560-2. ``decode`` is split
into size detection, CRC check and field parsing so a variant detector can reuse the parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from drivers.tags.crc import crc16_ccitt
from drivers.tags.errors import (
    BlankTag,
    MalformedTag,
    TagCrcError,
    TagEncodeError,
    UnsupportedTag,
)

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
    if len(raw) < BASIC_BLOCK_SIZES[0]:
        raise MalformedTag(raw, f"only {len(raw)} bytes were read from the tag, the basic block needs 32")
    head = raw[: BASIC_BLOCK_SIZES[0]]
    if head in (b"\x00" * len(head), b"\xff" * len(head)):
        raise BlankTag(raw)
    version = raw[0] >> 4
    if version != SUPPORTED_VERSION:
        raise UnsupportedTag(raw, f"Danish data model version {version} (only version 1 is known)")
    size = detect_basic_block_size(raw)
    return _parse_fields(raw, raw[:size])


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
