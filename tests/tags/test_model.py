"""Tag model completeness: extension blocks, variants, NOR-RFID checks, ISO 28560-2 and decode_any."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.tags import iso28560_2, iso28560_3
from drivers.tags.errors import MalformedTag, TagCrcError, TagDecodeError, TagEncodeError
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
from drivers.tags.model import UNREADABLE_KINDS, ItemTag, PatronCardTag, UnreadableTag, decode_any

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


EXTENSIONS = [ExtensionBlock(ExtensionId.TITLE, b"Sult"), ExtensionBlock(ExtensionId.LIBRARY, b"\x01\x02")]


@pytest.mark.parametrize("size", [32, 34])
def test_rewrite_keeps_the_extension_blocks_of_32_and_34_byte_tags(size: int) -> None:
    old = DanishTag(1, 1, 1, "X1", "NO", "21900001234"[: size - 23])
    memory = (encode(old, size) + encode_extensions(EXTENSIONS)).ljust(MEMORY, b"\x00")
    new = rewrite(memory, BOOK)
    assert len(new) == MEMORY and new[:size] == encode(BOOK, size) and new[size:] == memory[size:]
    decoded = decode_tolerant(new)
    assert (decoded.size, decoded.tag, list(decoded.extensions.blocks)) == (size, BOOK, EXTENSIONS)


@pytest.mark.parametrize("size", [32, 34])
@pytest.mark.parametrize("position", [0x05, 0x15, 0x1F])  # item id, country, owner library
def test_rewrite_does_not_guess_the_size_of_a_damaged_basic_block(size: int, position: int) -> None:
    # Assuming 32 bytes would keep the last two bytes of a 34-byte tag's owner library as if they began
    # the extension area; assuming 34 would cut two bytes off a 32-byte tag's extensions.
    old = DanishTag(1, 1, 1, "X1", "NO", "DK-77510012"[: size - 23])
    memory = bytearray((encode(old, size) + encode_extensions(EXTENSIONS)).ljust(MEMORY, b"\x00"))
    memory[position] ^= 0x01
    with pytest.raises(TagCrcError) as caught:
        rewrite(bytes(memory), BOOK)
    assert caught.value.raw == bytes(memory)


def test_rewrite_of_memory_that_is_no_28560_3_basic_block_raises() -> None:
    helmet = iso28560_2.encode(HELMET_TAGS[0]).ljust(MEMORY, b"\x00")
    with pytest.raises(TagDecodeError):
        rewrite(helmet, BOOK)
    with pytest.raises(MalformedTag, match="empty"):
        rewrite(bytes(32) + encode_extensions(EXTENSIONS), BOOK)
    for blank in (b"", bytes(MEMORY), b"\xff" * MEMORY):
        assert rewrite(blank, BOOK) == encode(BOOK).ljust(max(32, len(blank)), b"\x00")


def test_a_larger_basic_block_does_not_push_kept_data_off_the_tag() -> None:
    memory = (encode(BOOK) + encode_extensions(EXTENSIONS)).ljust(MEMORY, b"\x00")
    grown = decode_tolerant(rewrite(memory, BOOK, size=34))
    assert grown.size == 34 and list(grown.extensions.blocks) == EXTENSIONS
    with pytest.raises(TagEncodeError, match="no room"):
        rewrite(memory[:-1] + b"\x01", BOOK, size=34)


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
    # Item id "1234" as an integer (precursor 0x11: scheme 1, OID 1; length 2; 0x04D2: ends on a block as
    # it is), the content parameter (OIDs 3 and 4 follow), the owner ISIL in ISIL compaction (9 x 5 bits
    # in 6 bytes), set 2 of 3 numerically ("0302" keeps its zero: BCD 03 02) with the offset flag and 0 pad
    # bytes so the data ends on a block, then the terminator.
    tag = iso28560_2.Iso28560_2Tag("1234", "FI-HELMET", parts_in_item=3, part_number=2)
    raw = iso28560_2.encode(tag)
    assert raw[:7] == bytes([0x11, 0x02, 0x04, 0xD2, 0x02, 0x01, 0xC0])
    assert raw[7:9] == bytes([0x03, 0x06])
    assert raw[15:] == bytes([0xA4, 0x00, 0x02, 0x03, 0x02, 0x00])
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
    lettered = iso28560_2.encode(iso28560_2.Iso28560_2Tag("HEL-30000123", "FI-HELMET"))
    assert isinstance(decode_any(lettered.ljust(MEMORY, b"\x00")), ItemTag)


HELMET_TAGS = [
    iso28560_2.Iso28560_2Tag("30000123", "FI-HELMET", 2, 1),
    iso28560_2.Iso28560_2Tag("1234", "FI-Helmet"),
    iso28560_2.Iso28560_2Tag("93000000012345678", "FI-HELMET", 3, 3, "10"),
    iso28560_2.Iso28560_2Tag("30000124"),
]


@pytest.mark.parametrize("dsfid", [None, 0x00, 0x06, 0x3E])
@pytest.mark.parametrize("tag", HELMET_TAGS, ids=lambda tag: tag.primary_item_id)
@pytest.mark.parametrize("fill", [0x00, 0xFF])
@pytest.mark.parametrize("align", [False, True])
def test_28560_2_with_an_integer_item_id_is_read_whatever_the_dsfid(tag, dsfid, fill, align) -> None:
    # The precursor 0x11 (integer compaction, OID 1, as encoders without block alignment write it) is also
    # the ISO 28560-3 "version 1" byte: with DSFID 0 (or a reader that reports none) such a tag used to be
    # reported as a damaged 28560-3 tag. Aligned (0x91) it must read too.
    raw = iso28560_2.encode(tag, align=align).ljust(MEMORY, bytes([fill]))
    assert raw[0] == (0x91 if align and raw[0] & 0x80 else 0x11)
    decoded = decode_any(raw, dsfid)
    assert isinstance(decoded, ItemTag) and decoded.model == "ISO 28560-2"
    assert (decoded.item_id, decoded.owner_library) == (tag.primary_item_id, tag.owner_institution)
    assert (decoded.parts_in_item, decoded.part_number) == (tag.parts_in_item, tag.part_number)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (bytes([0x11, 0x01, 0x01, 0x00]), "sensible item id"),  # the "1" a 28560-3 block decodes to
        (bytes([0x11, 0x02, 0x00, 0x7B, 0x00]), "leading zero byte"),
        (bytes([0x21, 0x03, 0x12, 0xF3, 0x45, 0x00]), "filler nibble"),
        (bytes([0x11, 0x02, 0x30, 0x39, 0x11, 0x01, 0x41, 0x00]), "same OID"),
        (bytes([0x11, 0x02, 0x30, 0x39, 0x30, 0x01, 0x41, 0x00]), "OID 0"),
        (bytes([0x11, 0x02, 0x30, 0x39, 0x00, 0x00, 0x4E, 0x4F]), "after the end"),
        (iso28560_2.encode(iso28560_2.Iso28560_2Tag("HEL-30000123")) + b"\x00\x00\x01", "after the end"),
        (bytes([0x11, 0x02, 0x30, 0x39, 0x33, 0x03, 0x08, 0x00, 0x00, 0x00]), "padding"),
        (bytes([0x71, 0x05]) + b"12\x0134\x00", "control characters"),
    ],
)
def test_strict_28560_2_refuses_what_no_encoder_writes(raw: bytes, problem: str) -> None:
    with pytest.raises(MalformedTag, match=problem):
        iso28560_2.decode(raw, strict=True)
    decoded = decode_any(raw.ljust(MEMORY, b"\x00"))
    assert isinstance(decoded, UnreadableTag) and decoded.model == ""


nor_rfid_tags = st.builds(
    DanishTag,
    type_of_usage=st.sampled_from([1, 2, 8]),
    parts_in_item=st.just(1),
    part_number=st.just(1),
    primary_item_id=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=16),
    country=st.just("NO"),
    owner_library=st.from_regex(r"\A[0-9]{7}\Z"),
).flatmap(lambda tag: st.just(tag) if tag.primary_item_id.strip() else st.nothing())


@given(
    tag=nor_rfid_tags,
    parts=st.integers(1, 12).flatmap(lambda n: st.tuples(st.just(n), st.integers(1, n))),
    size=st.sampled_from([32, 34]),
    position=st.integers(0, 31),
    value=st.integers(0, 255),
    dsfid=st.sampled_from([None, 0x00]),
)
def test_a_damaged_nor_rfid_tag_stays_damaged(tag, parts, size, position, value, dsfid) -> None:
    """One byte of the basic block changed: never another item number, never ISO 28560-2."""
    tag = DanishTag(tag.type_of_usage, parts[0], parts[1], tag.primary_item_id, "NO", tag.owner_library)
    memory = bytearray(
        (encode(tag, size) + encode_extensions([ExtensionBlock(4, b"Sult")])).ljust(MEMORY, b"\0")
    )
    # Bytes 0..31 only. (Bytes 32-33 of a 34-byte block whose owner library ends in NULs: the 32-byte CRC over
    # the same bytes still matches, so it reads as the same item on a 32-byte block followed by data.)
    if memory[position] == value:
        return
    memory[position] = value
    decoded = decode_any(bytes(memory), dsfid)
    assert isinstance(decoded, UnreadableTag), decoded
    assert decoded.kind in ("damaged", "unsupported") and decoded.raw == bytes(memory)


def test_unreadable_tags_say_what_kind_of_problem() -> None:
    corrupt = bytearray(encode(BOOK).ljust(MEMORY, b"\x00"))
    corrupt[5] ^= 0x01
    kinds = {
        "blank": bytes(MEMORY),
        "damaged": bytes(corrupt),
        "unsupported": bytes([0x21]) + encode(BOOK)[1:],
        "malformed": bytes(32) + encode_extensions([ExtensionBlock(4, b"Sult")]),
        "not_an_item": encode(DanishTag(7, 1, 1, "X", "NO", "2190000")),
    }
    for kind, raw in kinds.items():
        decoded = decode_any(raw)
        assert isinstance(decoded, UnreadableTag) and decoded.kind == kind, (kind, decoded)
        assert decoded.blank == (kind == "blank")
    # Only an all-0xFF or all-0x00 memory is blank; an empty basic block with data after it is not.
    all_ff = decode_any(b"\xff" * MEMORY)
    assert isinstance(all_ff, UnreadableTag) and all_ff.blank


def mutated_tags() -> st.SearchStrategy[bytes]:
    """Valid tags of both models with a few bytes changed and maybe cut short: random bytes alone seldom
    get past the first check of a codec."""
    seeds = st.one_of(
        st.builds(
            lambda size: encode(BOOK, size) + encode_extensions([ExtensionBlock(4, b"ab")]),
            st.sampled_from([32, 34]),
        ),
        st.builds(lambda tag: iso28560_2.encode(tag), st.sampled_from(HELMET_TAGS)),
    )

    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        raw = bytearray(draw(seeds).ljust(draw(st.sampled_from([0, 40, MEMORY])), b"\x00"))
        for _ in range(draw(st.integers(0, 3))):
            if raw:
                raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
        return bytes(raw[: draw(st.integers(0, len(raw)))])

    return mutate()


@given(st.one_of(st.binary(max_size=160), mutated_tags()), st.sampled_from([None, 0x00, 0x06, 0x3E, 0xFF]))
def test_codecs_raise_only_their_typed_errors(raw: bytes, dsfid: int | None) -> None:
    """decode_any must never raise into the station, and must not need its safety net for codec bugs."""
    result = decode_any(raw, dsfid)
    assert isinstance(result, ItemTag | PatronCardTag | UnreadableTag)
    if isinstance(result, UnreadableTag):
        assert result.raw == raw and result.reason and result.kind in UNREADABLE_KINDS
        assert result.kind != "undecodable", result.reason  # the catch-all for codec bugs
    for attempt in (
        iso28560_3.decode_tolerant,
        iso28560_2.decode,
        lambda data: iso28560_2.decode(data, strict=True),
        lambda data: rewrite(data, BOOK),
    ):
        try:
            attempt(raw)
        except (TagDecodeError, TagEncodeError) as error:
            assert getattr(error, "raw", raw) == raw
