"""ISO 28560-2 (object-identifier data model, ISO/IEC 15962 encoding), as used e.g. by Helmet (Finland).

Pure codec. The tag's memory is a sequence of data sets, ended by a 0x00 byte::

    precursor   bit 7: offset flag (a pad-count byte follows), bits 6..4: compaction scheme
                (``compaction.Compaction``), bits 3..0: relative OID (15: the relative OID - 15 follows)
    [pad count] when the offset flag is set: that many 0x00 bytes follow the data
    length      of the compacted data
    data        compacted as the scheme says

Relative OIDs decoded: 1 primary item id, 2 content parameter (application-defined: a bit map of the
OIDs 3, 4, 5 ... on the tag, most significant bit first), 3 owner institution (ISIL; application-defined
= the ISIL compaction of Annex C, ``isil``), 4 set information (``"1203"``: 12 parts, this is part 3;
integer compaction, or numeric when it starts with 0), 5 type of usage (application-defined: one byte,
class and sub-class nibbles, kept as hex ``"10"``), 11 ILL borrowing institution (ISIL). Everything else
is kept as data sets (``other``), in the order read (``data_set_order``), so a tag re-encodes to its bytes.

Published vector (ISO 28560-2 Annex D, decoded and re-encoded byte for byte by the tests)::

    91 00 05 1CBE991A14     item 123456789012, integer, offset flag with 0 pad bytes (ends at byte 8)
    02 01 D0                content parameter: OIDs 3, 4 and 6 follow
    14 02 04B3              set information 1203, integer
    46 07 441CB6E2E335D6    shelf location (OID 6) QA268.L55, 6-bit
    83 02 07 ACC09EBAA06F6B 0000   owner US-InU-Mu, ISIL compaction, 2 pad bytes (ends at byte 36)

The encoder aligns like the example: the primary item id's data set ends on a 4-byte block boundary
(so that it can be locked alone) and so does the last one; pad counts make up the difference.

Never a wrong value: a data element in a scheme that does not fit it (an item id in application-defined
compaction, a type of usage as an integer ...) raises ``UnknownCompaction`` naming both. A read that
ends inside a data set, or before the terminator, raises ``ShortRead`` (read again): a cut read must not
turn into a tag with fewer fields. A content parameter that lists an element the tag lacks is malformed.

``decode(raw, strict=True)`` is what ``decode_any`` uses when the tag's DSFID does not say ISO 28560-2: the
memory must then parse *cleanly* (relative OIDs 1 and up, each once; compacted data an encoder could have
written: no leading zero bytes in an integer, digits only in numeric, no stray code-0 characters and at
most one character of padding in the bit codes, printable text, an ISIL with 1-bit filler; pad bytes
present and zero; a content parameter that matches; an item id of at least 4 printable characters;
nothing but unused memory, all 0x00 or all 0xFF, after the terminator). Other memory that happens to
parse, such as a damaged ISO 28560-3 basic block, is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drivers.tags.compaction import BIT_WIDTHS, TEXT_SCHEMES, Compaction, best_compaction, compact, decompact
from drivers.tags.errors import BlankTag, MalformedTag, ShortRead, TagEncodeError, UnknownCompaction
from drivers.tags.isil import decode_isil, encode_isil

__all__ = [
    "BLOCK_SIZE",
    "DSFIDS_ISO28560_2",
    "DSFID_ISO28560_2",
    "OID_CONTENT_PARAMETER",
    "OID_ILL_BORROWING_INSTITUTION",
    "OID_OWNER_INSTITUTION",
    "OID_PRIMARY_ITEM_ID",
    "OID_SET_INFORMATION",
    "OID_SHELF_LOCATION",
    "OID_TYPE_OF_USAGE",
    "Compaction",
    "DataSet",
    "Iso28560_2Tag",
    "best_compaction",
    "compact",
    "decode",
    "decompact",
    "encode",
    "encode_data_sets",
    "parse_data_sets",
]

OID_PRIMARY_ITEM_ID = 1
OID_CONTENT_PARAMETER = 2
OID_OWNER_INSTITUTION = 3
OID_SET_INFORMATION = 4
OID_TYPE_OF_USAGE = 5
OID_SHELF_LOCATION = 6
OID_ILL_BORROWING_INSTITUTION = 11
_ISIL_OIDS = (OID_OWNER_INSTITUTION, OID_ILL_BORROWING_INSTITUTION)
_FIELDS = {
    OID_PRIMARY_ITEM_ID,
    OID_CONTENT_PARAMETER,
    OID_OWNER_INSTITUTION,
    OID_SET_INFORMATION,
    OID_TYPE_OF_USAGE,
}

DSFID_ISO28560_2 = 0x06
# The DSFID values that mark ISO 28560-2 data, per the standard as cited in review: 0x06 (data format 6 with
# the no-directory access method) and 0x3E. Neither is in /work/shared/REFERENCE.md yet; check them with a
# real Helmet tag. A reader that cannot report the DSFID gives 0, so 0 proves nothing either way.
DSFIDS_ISO28560_2 = frozenset({DSFID_ISO28560_2, 0x3E})

BLOCK_SIZE = 4  # ISO 15693 library tags

# Library item ids are barcodes of several characters. A 1-3 character "item id" is what the parts and part
# number bytes of a damaged ISO 28560-3 block decode to (0x11 = integer, OID 1; the length is the parts);
# a 28560-3 set of 19 or more parts would make an integer of 46 digits and more, swallowing its CRC,
# country and owner library.
STRICT_MIN_ITEM_ID = 4
STRICT_MAX_ITEM_ID = 32


@dataclass(frozen=True)
class DataSet:
    oid: int
    compaction: Compaction
    value: bytes | str  # str for the text schemes, bytes for application-defined


@dataclass(frozen=True)
class Iso28560_2Tag:
    primary_item_id: str
    owner_institution: str = ""
    parts_in_item: int = 1
    part_number: int = 1
    type_of_usage: str = ""  # hex of the application-defined byte(s), e.g. "10"
    other: tuple[DataSet, ...] = field(default_factory=tuple)
    # The OIDs in the order the tag holds them (decode), or the order to write them in (encode; item id
    # and content parameter always come first). Not part of equality: the same tag in another order.
    data_set_order: tuple[int, ...] = field(default=(), compare=False)


# ------------------------------------------------------------------------------------------ data sets


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
    elif scheme in BIT_WIDTHS:
        assert isinstance(value, str)
        if len(data) * 8 // BIT_WIDTHS[scheme] - len(value) > 1:
            return "more than one character of padding"
        if scheme is Compaction.FIVE_BIT and "@" in value:
            return "a code-0 character inside the text"
    if isinstance(value, str) and not value.isprintable():
        return "text with control characters"
    return ""


def _read_header(raw: bytes, offset: int) -> tuple[int, Compaction, int, int, int]:
    """(oid, scheme, pad count, length, offset of the data) of the data set at ``offset``."""
    precursor = raw[offset]
    end = offset + 1 + (precursor & 0x0F == 0x0F) + bool(precursor & 0x80) + 1  # just past the length
    if end > len(raw):
        raise ShortRead(raw, "the read ends inside a data set's header")
    oid = raw[offset + 1] + 15 if precursor & 0x0F == 0x0F else precursor & 0x0F
    pad = raw[end - 2] if precursor & 0x80 else 0
    return oid, Compaction((precursor >> 4) & 0x07), pad, raw[end - 1], end


def parse_data_sets(raw: bytes, *, strict: bool = False) -> list[DataSet]:
    """The data sets in ``raw``; ``strict``: only data an encoder could have written (module docstring)."""
    raw = bytes(raw)
    sets: list[DataSet] = []
    offset = 0
    while offset < len(raw) and raw[offset] != 0x00:
        oid, scheme, pad, length, offset = _read_header(raw, offset)
        data = raw[offset : offset + length]
        if len(data) < length or len(raw) < offset + length + pad:
            raise ShortRead(
                raw, f"the data set for OID {oid} needs {length + pad} bytes, the read ends first"
            )
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
            elif any(padding):
                problem = f"{pad} pad bytes announced that are not zero"
            if problem:
                raise MalformedTag(raw, f"not clean ISO 28560-2: data set for OID {oid} holds {problem}")
        sets.append(DataSet(oid, scheme, value))
        offset += length + pad
    if offset >= len(raw):
        raise ShortRead(raw, f"the data runs to the end of the {len(raw)} bytes read without its end mark")
    rest = raw[offset + 1 :]
    if strict and any(rest) and set(rest) != {0xFF}:
        # A clean tag ends with the terminator and unused memory; a damaged ISO 28560-3 block that parses
        # as a few data sets typically ends early, before its country and library.
        raise MalformedTag(raw, "not clean ISO 28560-2: there is data after the end of the data sets")
    return sets


def _data_set_bytes(data_set: DataSet, end_on_block: int | None = None) -> bytes:
    """One data set; with ``end_on_block``, padded (offset flag) so it ends on a block boundary when it
    starts at byte ``end_on_block``."""
    data = compact(data_set.compaction, data_set.value)
    if len(data) > 255:
        raise TagEncodeError(f"data set for OID {data_set.oid} is too long ({len(data)} bytes)")
    if data_set.oid < 1:
        raise TagEncodeError("relative OIDs start at 1")
    head = (int(data_set.compaction) << 4) | min(data_set.oid, 15)
    oid_byte = bytes([data_set.oid - 15]) if data_set.oid >= 15 else b""
    plain = bytes([head]) + oid_byte + bytes([len(data)]) + data
    if end_on_block is None or (end_on_block + len(plain)) % BLOCK_SIZE == 0:
        return plain
    pad = -(end_on_block + len(plain) + 1) % BLOCK_SIZE
    return bytes([head | 0x80]) + oid_byte + bytes([pad, len(data)]) + data + bytes(pad)


def encode_data_sets(sets: list[DataSet], *, align: bool = True) -> bytes:
    """The memory for ``sets`` with the terminator; ``align``: the first and the last data set end on a
    block boundary (module docstring)."""
    out = bytearray()
    for index, data_set in enumerate(sets):
        aligned = align and (index == 0 or index == len(sets) - 1)
        out += _data_set_bytes(data_set, len(out) if aligned else None)
    return bytes(out + b"\x00")


# ------------------------------------------------------------------------------------------ the tag


def decode(raw: bytes, *, strict: bool = False) -> Iso28560_2Tag:
    """Decode an ISO 28560-2 tag; raises ``BlankTag``, ``ShortRead``, ``UnknownCompaction`` or
    ``MalformedTag`` (each carrying ``raw``).

    ``strict``: refuse memory that parses but is not clean ISO 28560-2 (see the module docstring).
    """
    raw = bytes(raw)
    if not raw or set(raw) in ({0}, {0xFF}):
        raise BlankTag(raw)
    sets = parse_data_sets(raw, strict=strict)
    by_oid = {s.oid: s for s in sets}
    if not sets or sets[0].oid != OID_PRIMARY_ITEM_ID:
        raise MalformedTag(raw, "an ISO 28560-2 tag starts with the primary item id")
    item = _text_field(raw, sets[0], "primary item id")
    if not item:
        raise MalformedTag(raw, "the primary item id is empty")
    if strict and (item.strip() != item or not STRICT_MIN_ITEM_ID <= len(item) <= STRICT_MAX_ITEM_ID):
        raise MalformedTag(raw, f"not clean ISO 28560-2: {item!r} is not a sensible item id")
    _check_content_parameter(raw, sets, strict=strict)
    parts, part = 1, 1
    if OID_SET_INFORMATION in by_oid:
        parts, part = _set_information(raw, by_oid[OID_SET_INFORMATION])
    owner = by_oid.get(OID_OWNER_INSTITUTION)
    usage = by_oid.get(OID_TYPE_OF_USAGE)
    other = tuple(
        _isil_data_set(raw, s, strict) if s.oid in _ISIL_OIDS else s for s in sets if s.oid not in _FIELDS
    )
    return Iso28560_2Tag(
        primary_item_id=item,
        owner_institution=_isil_field(raw, owner, strict) if owner else "",
        parts_in_item=parts,
        part_number=part,
        type_of_usage=_usage(raw, usage) if usage else "",
        other=other,
        data_set_order=tuple(s.oid for s in sets),
    )


def encode(tag: Iso28560_2Tag, *, align: bool = True) -> bytes:
    """The memory for ``tag`` (data sets and terminator), laid out like ISO 28560-2 Annex D (``align``
    False: without the block alignment, as some other encoders write it)."""
    sets = {
        OID_PRIMARY_ITEM_ID: DataSet(
            OID_PRIMARY_ITEM_ID, best_compaction(tag.primary_item_id), tag.primary_item_id
        )
    }
    if tag.owner_institution:
        sets[OID_OWNER_INSTITUTION] = DataSet(
            OID_OWNER_INSTITUTION, Compaction.APPLICATION, encode_isil(tag.owner_institution)
        )
    if tag.parts_in_item != 1 or tag.part_number != 1:
        if not 1 <= tag.part_number <= tag.parts_in_item <= 999:
            raise TagEncodeError(f"part {tag.part_number} of {tag.parts_in_item} is impossible")
        width = max(2, len(str(tag.parts_in_item)))
        set_info = f"{tag.parts_in_item:0{width}d}{tag.part_number:0{width}d}"
        sets[OID_SET_INFORMATION] = DataSet(OID_SET_INFORMATION, best_compaction(set_info), set_info)
    if tag.type_of_usage:
        try:
            usage = bytes.fromhex(tag.type_of_usage)
        except ValueError as error:
            raise TagEncodeError(
                f"type of usage must be hex such as '10', got {tag.type_of_usage!r}"
            ) from error
        sets[OID_TYPE_OF_USAGE] = DataSet(OID_TYPE_OF_USAGE, Compaction.APPLICATION, usage)
    for data_set in tag.other:
        if data_set.oid in sets or data_set.oid == OID_CONTENT_PARAMETER or data_set.oid < 1:
            raise TagEncodeError(f"OID {data_set.oid} cannot be written as an extra data set here")
        if (
            data_set.oid in _ISIL_OIDS
            and isinstance(data_set.value, str)
            and data_set.compaction is Compaction.APPLICATION
        ):
            data_set = DataSet(
                data_set.oid, Compaction.APPLICATION, encode_isil(data_set.value)
            )  # as decoded
        sets[data_set.oid] = data_set
    later = [oid for oid in sets if oid >= OID_OWNER_INSTITUTION]
    if later:
        sets[OID_CONTENT_PARAMETER] = DataSet(OID_CONTENT_PARAMETER, Compaction.APPLICATION, _bit_map(later))
    wanted = [oid for oid in tag.data_set_order if oid in sets]
    order = [OID_PRIMARY_ITEM_ID, OID_CONTENT_PARAMETER, *wanted, *sorted(sets)]
    return encode_data_sets([sets[oid] for oid in dict.fromkeys(order) if oid in sets], align=align)


# ------------------------------------------------------------------------------------------ fields


def _text_field(raw: bytes, data_set: DataSet, element: str) -> str:
    if data_set.compaction not in TEXT_SCHEMES or not isinstance(data_set.value, str):
        raise UnknownCompaction(
            raw, element, data_set.oid, data_set.compaction.name.lower().replace("_", "-")
        )
    return data_set.value


def _isil_field(raw: bytes, data_set: DataSet, strict: bool) -> str:
    """An ISIL: the Annex C compaction (application-defined) or any text scheme."""
    if data_set.compaction is not Compaction.APPLICATION:
        return _text_field(raw, data_set, "ISIL")
    assert isinstance(data_set.value, bytes)
    try:
        return decode_isil(data_set.value, strict=strict)
    except ValueError as error:
        raise MalformedTag(
            raw, f"the ISIL in OID {data_set.oid} is not valid ISIL compaction: {error}"
        ) from error


def _isil_data_set(raw: bytes, data_set: DataSet, strict: bool) -> DataSet:
    if data_set.compaction is not Compaction.APPLICATION:
        return data_set
    return DataSet(data_set.oid, Compaction.APPLICATION, _isil_field(raw, data_set, strict))


def _usage(raw: bytes, data_set: DataSet) -> str:
    # Application-defined as the standard says; octets as some encoders (ours, before) wrote it.
    if data_set.compaction is Compaction.APPLICATION and isinstance(data_set.value, bytes):
        value = data_set.value
    elif data_set.compaction is Compaction.OCTETS and isinstance(data_set.value, str):
        value = data_set.value.encode("latin-1")
    else:
        raise UnknownCompaction(raw, "type of usage", data_set.oid, data_set.compaction.name.lower())
    if len(value) != 1:
        raise MalformedTag(raw, f"the type of usage is {len(value)} bytes, not one")
    return value.hex().upper()


def _set_information(raw: bytes, data_set: DataSet) -> tuple[int, int]:
    value = _text_field(raw, data_set, "set information")
    if not (value.isdigit() and value.isascii() and len(value) % 2 == 0):
        raise MalformedTag(raw, f"set information {value!r} is not parts and part number")
    half = len(value) // 2
    parts, part = int(value[:half]), int(value[half:])
    if not 1 <= part <= parts:
        raise MalformedTag(raw, f"set information says part {part} of {parts}")
    return parts, part


def _bit_map(oids: list[int]) -> bytes:
    bits = 0
    top = max(oids) - OID_OWNER_INSTITUTION
    for oid in oids:
        bits |= 1 << (top - (oid - OID_OWNER_INSTITUTION))
    size = top // 8 + 1
    return (bits << (size * 8 - top - 1)).to_bytes(size, "big")


def _listed_oids(value: bytes) -> set[int]:
    bits = int.from_bytes(value, "big")
    total = len(value) * 8
    return {OID_OWNER_INSTITUTION + i for i in range(total) if bits >> (total - 1 - i) & 1}


def _check_content_parameter(raw: bytes, sets: list[DataSet], *, strict: bool) -> None:
    """The content parameter lists the elements that follow: one listed but missing means lost data."""
    parameter = next((s for s in sets if s.oid == OID_CONTENT_PARAMETER), None)
    if parameter is None:
        return
    if parameter.compaction is not Compaction.APPLICATION or not isinstance(parameter.value, bytes):
        raise UnknownCompaction(raw, "content parameter", parameter.oid, parameter.compaction.name.lower())
    listed = _listed_oids(parameter.value)
    present = {s.oid for s in sets if s.oid >= OID_OWNER_INSTITUTION}
    if listed - present:
        missing = ", ".join(map(str, sorted(listed - present)))
        raise MalformedTag(raw, f"the content parameter lists OID {missing}, which the tag does not hold")
    if strict and present - listed:
        raise MalformedTag(raw, "not clean ISO 28560-2: the content parameter does not list every data set")
