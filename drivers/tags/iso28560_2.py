"""ISO 28560-2 (object-identifier data model, ISO/IEC 15962 encoding), as used e.g. by Helmet (Finland).

Pure codec. The tag's memory is a sequence of data sets, ended by a 0x00 byte (or the end of memory)::

    precursor   bit 7: offset flag (a pad-count byte follows), bits 6..4: compaction scheme,
                bits 3..0: relative OID (15: the relative OID follows in the next byte)
    [pad count] when the offset flag is set: that many 0x00 bytes follow the data
    length      of the compacted data
    data        compacted as the scheme says

Compaction schemes read here: 1 integer (big-endian binary of a decimal number without leading zeros),
2 numeric (decimal digits, two per byte as BCD, an odd count ends with the nibble 0xF),
3 5-bit code (0x40..0x5F), 4 6-bit code (0x20..0x5F), 5 7-bit code (ASCII), 6 octet string, 7 UTF-8.
The bit codes are packed most significant bit first; leftover bits at the end are padding.

Relative OIDs decoded: 1 primary item id, 2 content parameter (kept raw), 3 owner institution (ISIL),
4 set information (``"PPNN"``-style digits or two bytes: parts in item, then part number),
5 type of usage, and anything else is kept as raw bytes.

The numeric and bit-code compactions follow the description above; they have not been checked against an
independent implementation (see docs/RFID.md) — check a real Helmet tag before relying on the details.

``decode(raw, strict=True)`` is what ``decode_any`` uses when the tag's DSFID does not say ISO 28560-2: the
memory must then parse *cleanly* (relative OIDs 1 and up, each once; compacted data an encoder could have
written: no leading zero bytes in an integer, digits only in numeric, no stray code-0 characters and at
most one character of padding in the bit codes, printable text; pad bytes present and zero; an item id
of at least 4 printable characters; nothing but unused memory, all 0x00 or all 0xFF, after the
terminator). Other memory that happens to parse, such as a damaged ISO 28560-3 basic block, is refused.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from drivers.tags.errors import BlankTag, MalformedTag, TagEncodeError

OID_PRIMARY_ITEM_ID = 1
OID_CONTENT_PARAMETER = 2
OID_OWNER_INSTITUTION = 3
OID_SET_INFORMATION = 4
OID_TYPE_OF_USAGE = 5

DSFID_ISO28560_2 = 0x06
# The DSFID values that mark ISO 28560-2 data, per the standard as cited in review: 0x06 (data format 6 with
# the no-directory access method) and 0x3E. Neither is in /work/shared/REFERENCE.md yet; check them with a
# real Helmet tag. A reader that cannot report the DSFID gives 0, so 0 proves nothing either way.
DSFIDS_ISO28560_2 = frozenset({DSFID_ISO28560_2, 0x3E})


# Library item ids are barcodes of several characters. A 1-3 character "item id" is what the parts and part
# number bytes of a damaged ISO 28560-3 block decode to (0x11 = integer, OID 1; the length is the parts).
STRICT_MIN_ITEM_ID = 4


class Compaction(enum.IntEnum):
    APPLICATION = 0
    INTEGER = 1
    NUMERIC = 2
    FIVE_BIT = 3
    SIX_BIT = 4
    SEVEN_BIT = 5
    OCTETS = 6
    UTF8 = 7


@dataclass(frozen=True)
class DataSet:
    oid: int
    compaction: Compaction
    value: bytes | str  # str for text/numeric schemes, bytes for octets/application


@dataclass(frozen=True)
class Iso28560_2Tag:
    primary_item_id: str
    owner_institution: str = ""
    parts_in_item: int = 1
    part_number: int = 1
    type_of_usage: str = ""
    other: tuple[DataSet, ...] = field(default_factory=tuple)


# ------------------------------------------------------------------------------------------ compaction


def _decode_bits(data: bytes, width: int, offset: int) -> str:
    bits = int.from_bytes(data, "big")
    total = len(data) * 8
    chars = []
    for i in range(total // width):
        value = (bits >> (total - (i + 1) * width)) & ((1 << width) - 1)
        if width == 5:
            chars.append(chr(0x40 + value))
        elif width == 6:
            chars.append(chr(value + 0x40 if value < 0x20 else value))
        else:
            chars.append(chr(value))
    text = "".join(chars)
    # Padding bits decode to the code's "nothing" character; strip it from the end.
    pad = {5: "@", 6: " ", 7: "\x00"}[width]
    return text.rstrip(pad) if offset == 0 else text


def _encode_bits(text: str, width: int) -> bytes:
    bits = 0
    count = 0
    for char in text:
        code = ord(char)
        if width == 5:
            if not 0x41 <= code <= 0x5F:
                raise TagEncodeError(f"{char!r} is not in the 5-bit code (A..Z and [\\]^_)")
            value = code - 0x40
        elif width == 6:
            if not 0x20 <= code <= 0x5F:
                raise TagEncodeError(f"{char!r} is not in the 6-bit code (space..underscore, capitals)")
            value = code - 0x40 if code >= 0x40 else code
        else:
            if not 0x01 <= code <= 0x7F:
                raise TagEncodeError(f"{char!r} is not 7-bit ASCII")
            value = code
        bits = (bits << width) | value
        count += width
    padding = (-count) % 8
    pad_value = {5: 0, 6: 0x20, 7: 0}[width]
    # Pad with the leading bits of the "nothing" character.
    bits = (bits << padding) | (pad_value >> (width - padding) if padding <= width else 0)
    return bits.to_bytes((count + padding) // 8, "big") if count else b""


def decompact(scheme: Compaction, data: bytes) -> bytes | str:
    if scheme is Compaction.INTEGER:
        return str(int.from_bytes(data, "big"))
    if scheme is Compaction.NUMERIC:
        digits = []
        for byte in data:
            for nibble in (byte >> 4, byte & 0x0F):
                if nibble == 0x0F:
                    break
                if nibble > 9:
                    raise ValueError(f"byte {byte:#04x} is not numeric compaction")
                digits.append(str(nibble))
        return "".join(digits)
    if scheme is Compaction.FIVE_BIT:
        return _decode_bits(data, 5, 0)
    if scheme is Compaction.SIX_BIT:
        return _decode_bits(data, 6, 0)
    if scheme is Compaction.SEVEN_BIT:
        return _decode_bits(data, 7, 0)
    if scheme is Compaction.UTF8:
        return data.decode("utf-8")
    return bytes(data)


def compact(scheme: Compaction, value: bytes | str) -> bytes:
    if isinstance(value, bytes):
        if scheme not in (Compaction.OCTETS, Compaction.APPLICATION):
            raise TagEncodeError(f"bytes can only be stored as octets, not {scheme.name}")
        return value
    if scheme is Compaction.INTEGER:
        if not value.isdigit() or (len(value) > 1 and value[0] == "0"):
            raise TagEncodeError(f"integer compaction needs digits without a leading zero, got {value!r}")
        number = int(value)
        return number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big")
    if scheme is Compaction.NUMERIC:
        if not value.isdigit():
            raise TagEncodeError(f"numeric compaction needs digits, got {value!r}")
        digits = value + ("F" if len(value) % 2 else "")
        return bytes.fromhex(digits)
    if scheme is Compaction.FIVE_BIT:
        return _encode_bits(value, 5)
    if scheme is Compaction.SIX_BIT:
        return _encode_bits(value, 6)
    if scheme is Compaction.SEVEN_BIT:
        return _encode_bits(value, 7)
    if scheme is Compaction.UTF8:
        return value.encode("utf-8")
    return value.encode("utf-8")


def best_compaction(text: str) -> Compaction:
    """The shortest scheme that can hold ``text`` (what an encoder picks)."""
    if text.isdigit() and text.isascii():
        return Compaction.INTEGER if text[0] != "0" or text == "0" else Compaction.NUMERIC
    if all(0x41 <= ord(c) <= 0x5F for c in text):
        return Compaction.FIVE_BIT
    if all(0x20 <= ord(c) <= 0x5F for c in text):
        return Compaction.SIX_BIT
    if all(0x01 <= ord(c) <= 0x7F for c in text):
        return Compaction.SEVEN_BIT
    return Compaction.UTF8


# ------------------------------------------------------------------------------------------ data sets


_BIT_WIDTHS = {Compaction.FIVE_BIT: 5, Compaction.SIX_BIT: 6, Compaction.SEVEN_BIT: 7}


def _unclean(scheme: Compaction, data: bytes, value: bytes | str) -> str:
    """Why ``data`` is not what an encoder writes for ``scheme`` ("" when it is)."""
    if scheme is Compaction.INTEGER:
        if not data:
            return "an integer without bytes"
        if len(data) > 1 and data[0] == 0:
            return "an integer with a leading zero byte"
    elif scheme is Compaction.NUMERIC:
        nibbles = data.hex().upper()
        if not nibbles or not (nibbles.isdigit() or (nibbles[:-1].isdigit() and nibbles[-1] == "F")):
            return "numeric data with a filler nibble before its end"
    elif scheme in _BIT_WIDTHS:
        width = _BIT_WIDTHS[scheme]
        assert isinstance(value, str)
        if len(data) * 8 // width - len(value) > 1:
            return "more than one character of padding"
        if scheme is Compaction.FIVE_BIT and "@" in value:
            return "a code-0 character inside the text"
    if isinstance(value, str) and not value.isprintable():
        return "text with control characters"
    return ""


def parse_data_sets(raw: bytes, *, strict: bool = False) -> list[DataSet]:
    """The data sets in ``raw``; ``strict``: only data an encoder could have written (module docstring)."""
    raw = bytes(raw)
    sets: list[DataSet] = []
    offset = 0
    while offset < len(raw) and raw[offset] != 0x00:
        precursor = raw[offset]
        offset += 1
        scheme = Compaction((precursor >> 4) & 0x07)
        oid = precursor & 0x0F
        if oid == 0x0F:
            if offset >= len(raw):
                raise MalformedTag(raw, "data set cut off after its precursor")
            oid = raw[offset] + 15
            offset += 1
        pad = 0
        if precursor & 0x80:
            if offset >= len(raw):
                raise MalformedTag(raw, "data set cut off before its pad count")
            pad = raw[offset]
            offset += 1
        if offset >= len(raw):
            raise MalformedTag(raw, "data set cut off before its length")
        length = raw[offset]
        offset += 1
        data = raw[offset : offset + length]
        if len(data) < length:
            raise MalformedTag(raw, f"data set for OID {oid} announces {length} bytes, memory ends first")
        try:
            value = decompact(scheme, data)
        except (ValueError, UnicodeDecodeError) as error:
            raise MalformedTag(raw, f"data set for OID {oid} is not valid {scheme.name}: {error}") from error
        if strict:
            padding = raw[offset + length : offset + length + pad]
            problem = _unclean(scheme, data, value)
            if oid == 0:
                problem = "relative OID 0 (they start at 1)"
            elif any(s.oid == oid for s in sets):
                problem = "a second data set with the same OID"
            elif len(padding) < pad or any(padding):
                problem = f"{pad} pad bytes announced, not all there and zero"
            if problem:
                raise MalformedTag(raw, f"not clean ISO 28560-2: data set for OID {oid} holds {problem}")
        sets.append(DataSet(oid, scheme, value))
        offset += length + pad
    rest = raw[offset + 1 :]
    if strict and any(rest) and set(rest) != {0xFF}:
        # A clean tag ends with the terminator and unused memory; a damaged ISO 28560-3 block that parses
        # as a few data sets typically ends early, before its country and library.
        raise MalformedTag(raw, "not clean ISO 28560-2: there is data after the end of the data sets")
    return sets


def encode_data_sets(sets: list[DataSet]) -> bytes:
    out = bytearray()
    for data_set in sets:
        data = compact(data_set.compaction, data_set.value)
        if len(data) > 255:
            raise TagEncodeError(f"data set for OID {data_set.oid} is too long ({len(data)} bytes)")
        if data_set.oid < 1:
            raise TagEncodeError("relative OIDs start at 1")
        if data_set.oid < 15:
            out.append((int(data_set.compaction) << 4) | data_set.oid)
        else:
            out += bytes([(int(data_set.compaction) << 4) | 0x0F, data_set.oid - 15])
        out.append(len(data))
        out += data
    return bytes(out + b"\x00")


def decode(raw: bytes, *, strict: bool = False) -> Iso28560_2Tag:
    """Decode an ISO 28560-2 tag; raises ``BlankTag`` or ``MalformedTag`` (each carrying ``raw``).

    ``strict``: refuse memory that parses but is not clean ISO 28560-2 (see the module docstring).
    """
    raw = bytes(raw)
    if not raw or set(raw) in ({0}, {0xFF}):
        raise BlankTag(raw)
    sets = parse_data_sets(raw, strict=strict)
    by_oid = {s.oid: s for s in sets}
    item = by_oid.get(OID_PRIMARY_ITEM_ID)
    if item is None or sets[0].oid != OID_PRIMARY_ITEM_ID:
        raise MalformedTag(raw, "an ISO 28560-2 tag starts with the primary item id")
    if not isinstance(item.value, str) or not item.value:
        raise MalformedTag(raw, "the primary item id is empty or not text")
    if strict and (item.value.strip() != item.value or len(item.value) < STRICT_MIN_ITEM_ID):
        raise MalformedTag(raw, f"not clean ISO 28560-2: {item.value!r} is not a sensible item id")
    parts, part = 1, 1
    set_info = by_oid.get(OID_SET_INFORMATION)
    if set_info is not None:
        parts, part = _set_information(raw, set_info.value)
    owner = by_oid.get(OID_OWNER_INSTITUTION)
    usage = by_oid.get(OID_TYPE_OF_USAGE)
    known = {OID_PRIMARY_ITEM_ID, OID_OWNER_INSTITUTION, OID_SET_INFORMATION, OID_TYPE_OF_USAGE}
    return Iso28560_2Tag(
        primary_item_id=item.value,
        owner_institution=_text(owner.value) if owner else "",
        parts_in_item=parts,
        part_number=part,
        type_of_usage=_usage(usage.value) if usage else "",
        other=tuple(s for s in sets if s.oid not in known),
    )


def encode(tag: Iso28560_2Tag) -> bytes:
    sets = [DataSet(OID_PRIMARY_ITEM_ID, best_compaction(tag.primary_item_id), tag.primary_item_id)]
    if tag.owner_institution:
        owner = tag.owner_institution
        sets.append(DataSet(OID_OWNER_INSTITUTION, best_compaction(owner), owner))
    if tag.parts_in_item != 1 or tag.part_number != 1:
        if not 1 <= tag.part_number <= tag.parts_in_item <= 99:
            raise TagEncodeError(f"part {tag.part_number} of {tag.parts_in_item} is impossible")
        set_info = f"{tag.parts_in_item:02d}{tag.part_number:02d}"
        sets.append(DataSet(OID_SET_INFORMATION, Compaction.NUMERIC, set_info))
    if tag.type_of_usage:
        sets.append(DataSet(OID_TYPE_OF_USAGE, Compaction.OCTETS, bytes.fromhex(tag.type_of_usage)))
    sets.extend(tag.other)
    return encode_data_sets(sets)


def _text(value: bytes | str) -> str:
    return value if isinstance(value, str) else value.decode("ascii", "replace")


def _usage(value: bytes | str) -> str:
    return value.hex().upper() if isinstance(value, bytes) else value


def _set_information(raw: bytes, value: bytes | str) -> tuple[int, int]:
    if isinstance(value, bytes) and len(value) == 2:
        parts, part = value[0], value[1]
    elif isinstance(value, str) and value.isdigit() and len(value) % 2 == 0 and value:
        half = len(value) // 2
        parts, part = int(value[:half]), int(value[half:])
    else:
        raise MalformedTag(raw, f"set information {value!r} is not parts and part number")
    if not 1 <= part <= parts:
        raise MalformedTag(raw, f"set information says part {part} of {parts}")
    return parts, part
