"""Damaged and cut reads of valid tags: the original fields, or our typed error; never other fields.

Valid encodings of random tags of both models (NOR-RFID / ISO 28560-3 in 32 and 34 bytes, with and
without extension blocks; ISO 28560-2 as our encoder writes it, block-aligned or not) are cut short, or
have 1-3 bits flipped, or both, and go through ``decode_any`` with the DSFIDs a reader reports.

What is flipped: anywhere in an ISO 28560-3 memory (its CRC-16 finds every 1-3 bit error in the basic
block; the item fields are compared, not the extension blocks, whose 8-bit XOR lets two flips of the
same bit in one block through). ISO 28560-2 has no checksum: a bit flipped inside a data set's payload
is a different, valid value, and no decoder can tell (the ISO 15693 air interface's CRC protects the
transfer, not the memory). There the flips go into the unused memory after the data, which a strict
read (no DSFID) must refuse and a read with the DSFID must ignore; cuts go anywhere.

Example count: ``TAG_DAMAGE_EXAMPLES`` (300 in the normal suite). docs/RFID.md has the long run.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.tags import isil, iso28560_2
from drivers.tags.extensions import ExtensionBlock, ExtensionId, encode_extensions
from drivers.tags.iso28560_3 import DanishTag, encode
from drivers.tags.model import UNREADABLE_KINDS, DecodedTag, ItemTag, PatronCardTag, UnreadableTag, decode_any

MEMORY = 112
EXAMPLES = int(os.environ.get("TAG_DAMAGE_EXAMPLES", "300"))
Fields = tuple[object, ...]

printable = st.characters(min_codepoint=0x21, max_codepoint=0x7E)


@st.composite
def nor_rfid_memories(draw: st.DrawFn) -> tuple[bytes, Fields, int]:
    size = draw(st.sampled_from([32, 34]))
    parts = draw(st.integers(1, 255))
    tag = DanishTag(
        type_of_usage=draw(st.sampled_from([1, 2, 8])),
        parts_in_item=parts,
        part_number=draw(st.integers(1, parts)),
        primary_item_id=draw(st.text(printable, min_size=1, max_size=16)),
        country=draw(st.sampled_from(["NO", "DK", "SE", ""])),
        owner_library=draw(st.from_regex(r"\A[0-9]{7}\Z") | st.text(printable, max_size=size - 23)),
    )
    titles = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30)
    blocks = draw(
        st.lists(st.builds(lambda t: ExtensionBlock(ExtensionId.TITLE, t.encode()), titles), max_size=2)
    )
    data = encode(tag, size) + (encode_extensions(blocks) if blocks else b"")
    if tag.type_of_usage == 8:
        expected: Fields = ("card", tag.primary_item_id, tag.owner_library, tag.country)
    else:
        expected = (
            "ISO 28560-3",
            tag.primary_item_id,
            tag.parts_in_item,
            tag.part_number,
            tag.owner_library,
            tag.country,
            int(tag.type_of_usage),
        )
    return data.ljust(MEMORY, b"\x00"), expected, len(data)


item_ids = st.one_of(
    st.from_regex(r"\A[1-9][0-9]{3,16}\Z"),  # integer
    st.from_regex(r"\A0[0-9]{3,16}\Z"),  # numeric (keeps its zeros)
    st.from_regex(r"\A[A-Z]{2,4}-[0-9]{4,12}\Z"),  # 6-bit
    st.from_regex(r"\A[a-z][a-z0-9]{3,12}\Z"),  # 7-bit
)


@st.composite
def iso28560_2_memories(draw: st.DrawFn) -> tuple[bytes, Fields, int]:
    parts = draw(st.integers(1, 99))
    tag = iso28560_2.Iso28560_2Tag(
        primary_item_id=draw(item_ids),
        owner_institution=draw(st.just("") | st.text(sorted(isil.ISIL_CHARACTERS), min_size=1, max_size=16)),
        parts_in_item=parts,
        part_number=draw(st.integers(1, parts)),
        type_of_usage=draw(st.sampled_from(["", "10", "11", "20"])),
    )
    data = iso28560_2.encode(tag, align=draw(st.booleans()))
    fill = draw(st.sampled_from([b"\x00", b"\xff"]))
    expected: Fields = (
        "ISO 28560-2",
        tag.primary_item_id,
        tag.parts_in_item,
        tag.part_number,
        tag.owner_institution,
        "",
        tag.type_of_usage or 1,
    )
    return data.ljust(MEMORY, fill), expected, len(data)


def fields(decoded: DecodedTag) -> Fields:
    if isinstance(decoded, PatronCardTag):
        return ("card", decoded.card_id, decoded.owner_library, decoded.country)
    assert isinstance(decoded, ItemTag)
    usage = decoded.type_of_usage
    return (
        decoded.model,
        decoded.item_id,
        decoded.parts_in_item,
        decoded.part_number,
        decoded.owner_library,
        decoded.country,
        int(usage) if isinstance(usage, int) else usage,
    )


@st.composite
def damaged(draw: st.DrawFn) -> tuple[bytes, bytes, Fields, int | None]:
    model = draw(st.sampled_from(["3", "2"]))
    memory, expected, used = draw(nor_rfid_memories() if model == "3" else iso28560_2_memories())
    raw = bytearray(memory)
    if draw(st.booleans()):
        low = 0 if model == "3" else used  # ISO 28560-2: only where no checksum is needed (docstring)
        for _ in range(draw(st.integers(1, 3))):
            bit = draw(st.integers(low * 8, len(raw) * 8 - 1))
            raw[bit // 8] ^= 1 << (bit % 8)
    if draw(st.booleans()):
        raw = raw[: draw(st.integers(0, len(raw) - 1))]
    dsfids = [None, 0x00] if model == "3" else [None, 0x00, iso28560_2.DSFID_ISO28560_2]
    return memory, bytes(raw), expected, draw(st.sampled_from(dsfids))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged())
def test_a_damaged_or_cut_read_gives_the_original_fields_or_our_error(
    case: tuple[bytes, bytes, Fields, int | None],
) -> None:
    memory, raw, expected, dsfid = case
    decoded = decode_any(raw, dsfid)
    if isinstance(decoded, UnreadableTag):
        assert decoded.raw == raw and decoded.reason
        assert decoded.kind in UNREADABLE_KINDS and decoded.kind != "undecodable", decoded.reason
        assert raw != memory, f"a valid tag was not read: {decoded.reason}"
    else:
        assert fields(decoded) == expected, (raw.hex(), decoded)
