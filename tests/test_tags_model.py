"""Tag model completeness: extension blocks, variants, NOR-RFID checks, ISO 28560-2 and decode_any."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.tags import iso28560_2, iso28560_3
from drivers.tags.iso28560_3 import (
    DanishTag,
    ExtensionBlock,
    ExtensionId,
    Variant,
    basic_block_crc,
    decode_tolerant,
    encode,
    encode_extensions,
    parse_extensions,
    reverse_blocks,
    rewrite,
)
from drivers.tags.model import ItemTag, PatronCardTag, UnreadableTag, decode_any

MEMORY = 112
BOOK = DanishTag(1, 2, 1, "22000000012345", "NO", "2190000")


def with_swapped_parts(block: bytes) -> bytes:
    """What an encoder that swaps bytes 1 and 2 writes (its CRC covers the bytes as it wrote them)."""
    raw = bytearray(block)
    raw[1], raw[2] = raw[2], raw[1]
    raw[19:21] = basic_block_crc(bytes(raw[:32])).to_bytes(2, "little")
    return bytes(raw)


def test_extension_blocks_are_read_and_kept_on_rewrite() -> None:
    extensions = [
        ExtensionBlock(ExtensionId.TITLE, b"Sult"),
        ExtensionBlock(ExtensionId.LIBRARY, b"\x01\x02"),
    ]
    memory = (encode(BOOK) + encode_extensions(extensions)).ljust(MEMORY, b"\x00")
    decoded = decode_tolerant(memory)
    assert list(decoded.extensions.blocks) == extensions and not decoded.extensions.problem
    renumbered = DanishTag(1, 2, 1, "22000000099999", "NO", "2190000")
    new = rewrite(memory, renumbered)
    assert new[:32] == encode(renumbered) and new[32:] == memory[32:] and len(new) == MEMORY
    assert list(decode_tolerant(new).extensions.blocks) == extensions


def test_extension_area_with_filler_and_damage() -> None:
    good = encode_extensions([ExtensionBlock(4, b"abc")])
    assert parse_extensions(b"\x01\x01" + good).blocks == (ExtensionBlock(4, b"abc"),)
    damaged = bytearray(good)
    damaged[4] ^= 0xFF
    assert "XOR" in parse_extensions(bytes(damaged)).problem
    # A damaged extension does not make the item unreadable.
    memory = (encode(BOOK) + bytes(damaged)).ljust(MEMORY, b"\x00")
    decoded = decode_any(memory)
    assert isinstance(decoded, ItemTag) and decoded.extensions.problem


def test_34_byte_tag_keeps_its_size_on_rewrite() -> None:
    tag = DanishTag(1, 1, 1, "X1", "NO", "21900001234")
    memory = encode(tag, 34).ljust(MEMORY, b"\x00")
    decoded = decode_tolerant(memory)
    assert decoded.size == 34 and decoded.tag.owner_library == "21900001234"
    assert decode_tolerant(rewrite(memory, tag)).size == 34


@pytest.mark.parametrize(
    ("transform", "variant"),
    [
        (lambda m: m, Variant.STANDARD),
        (reverse_blocks, Variant.REVERSED_BLOCKS),
        (lambda m: with_swapped_parts(m[:32]) + m[32:], Variant.PARTS_SWAPPED),
        (
            lambda m: reverse_blocks(with_swapped_parts(m[:32]) + m[32:]),
            Variant.REVERSED_BLOCKS_PARTS_SWAPPED,
        ),
    ],
)
def test_known_variants_are_read_and_named(transform, variant) -> None:
    memory = encode(BOOK).ljust(MEMORY, b"\x00")
    decoded = decode_any(transform(memory))
    assert isinstance(decoded, ItemTag)
    assert decoded.variant == variant
    assert (decoded.item_id, decoded.parts_in_item, decoded.part_number) == ("22000000012345", 2, 1)


def test_nor_rfid_profile_checks() -> None:
    assert iso28560_3.nor_rfid_problems(BOOK) == []
    assert iso28560_3.nor_rfid_problems(BOOK, library="2190000") == []
    assert "not this library" in iso28560_3.nor_rfid_problems(BOOK, library="2201200")[0]
    foreign = DanishTag(1, 1, 1, "11223344", "DE", "705")
    problems = iso28560_3.nor_rfid_problems(foreign)
    assert any("'NO'" in p for p in problems) and any("7-digit" in p for p in problems)


def test_patron_card_and_unreadable_tags() -> None:
    card = decode_any(encode(DanishTag(8, 1, 1, "219000000001", "NO", "2190000")).ljust(MEMORY, b"\x00"))
    assert isinstance(card, PatronCardTag) and card.card_id == "219000000001"
    blank = decode_any(bytes(MEMORY))
    assert isinstance(blank, UnreadableTag) and blank.blank and blank.raw == bytes(MEMORY)
    corrupt = bytearray(encode(BOOK).ljust(MEMORY, b"\x00"))
    corrupt[5] ^= 0x01
    bad = decode_any(bytes(corrupt))
    assert isinstance(bad, UnreadableTag) and "checksum" in bad.reason and bad.raw == bytes(corrupt)
    discarded = decode_any(encode(DanishTag(7, 1, 1, "X", "NO", "2190000")))
    assert isinstance(discarded, UnreadableTag) and "type of usage 7" in discarded.reason


@given(st.binary(max_size=160))
def test_decode_any_never_raises(raw: bytes) -> None:
    result = decode_any(raw)
    assert isinstance(result, ItemTag | PatronCardTag | UnreadableTag)
    if isinstance(result, UnreadableTag):
        assert result.raw == raw and result.reason


# ------------------------------------------------------------------------------------ ISO 28560-2

item_ids = st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-", min_size=1, max_size=20).filter(
    lambda s: not s.endswith(" ")
)


def test_28560_2_known_encoding() -> None:
    # Item id "1234" as an integer (precursor 0x11: scheme 1, OID 1; length 2; 0x04D2), owner ISIL as
    # 6-bit code, set 2 of 3 numerically ("0302" -> BCD 03 02), then the terminator.
    tag = iso28560_2.Iso28560_2Tag("1234", "FI-HELMET", parts_in_item=3, part_number=2)
    raw = iso28560_2.encode(tag)
    assert raw[:4] == bytes([0x11, 0x02, 0x04, 0xD2])
    assert raw[-5:] == bytes([0x24, 0x02, 0x03, 0x02, 0x00])
    assert iso28560_2.decode(raw) == tag


@given(
    item_id=item_ids,
    owner=st.sampled_from(["", "FI-HELMET", "NO-2190000", "SE-Ab"]),
    parts=st.integers(1, 99).flatmap(lambda n: st.tuples(st.just(n), st.integers(1, n))),
    usage=st.sampled_from(["", "10", "8F"]),
)
def test_28560_2_round_trip(item_id: str, owner: str, parts: tuple[int, int], usage: str) -> None:
    tag = iso28560_2.Iso28560_2Tag(item_id, owner, parts[0], parts[1], usage)
    assert iso28560_2.decode(iso28560_2.encode(tag)) == tag


@given(text=st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x5F), max_size=30))
def test_6_bit_code_round_trip(text: str) -> None:
    text = text.rstrip(" ")
    scheme = iso28560_2.Compaction.SIX_BIT
    assert iso28560_2.decompact(scheme, iso28560_2.compact(scheme, text)) == text


def test_decode_any_reads_28560_2_items() -> None:
    raw = iso28560_2.encode(iso28560_2.Iso28560_2Tag("30000123", "FI-HELMET", 2, 1)).ljust(MEMORY, b"\x00")
    decoded = decode_any(raw, dsfid=iso28560_2.DSFID_ISO28560_2)
    assert isinstance(decoded, ItemTag) and decoded.model == "ISO 28560-2"
    assert (decoded.item_id, decoded.owner_library, decoded.parts_in_item) == ("30000123", "FI-HELMET", 2)
    # Without the DSFID an integer-compacted id (precursor 0x11) looks like a damaged 28560-3 tag:
    # refused rather than guessed. A 6-bit item id (precursor 0x41) is clearly 28560-2.
    assert isinstance(decode_any(raw), UnreadableTag)
    lettered = iso28560_2.encode(iso28560_2.Iso28560_2Tag("HEL-30000123", "FI-HELMET"))
    assert isinstance(decode_any(lettered.ljust(MEMORY, b"\x00")), ItemTag)
