import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.tags import iso28560_3
from drivers.tags.errors import (
    BlankTag,
    MalformedTag,
    ShortRead,
    TagCrcError,
    TagDecodeError,
    TagEncodeError,
    UnsupportedTag,
)
from drivers.tags.iso28560_3 import DanishTag, TypeOfUsage, basic_block_crc, decode, encode

# The published vector: 11 01 01 "11223344" 00x8 [CRC] "DE" "705" 00..., CRC 0x3E51 stored 51 3E.
VECTOR_TAG = (
    bytes.fromhex("110101") + b"11223344" + bytes(8) + bytes.fromhex("513E") + b"DE" + b"705" + bytes(6)
)


def test_vector_crc() -> None:
    assert len(VECTOR_TAG) == 32
    assert basic_block_crc(VECTOR_TAG) == 0x3E51


def test_vector_decodes() -> None:
    assert decode(VECTOR_TAG) == DanishTag(
        type_of_usage=TypeOfUsage.CIRCULATING,
        parts_in_item=1,
        part_number=1,
        primary_item_id="11223344",
        country="DE",
        owner_library="705",
    )


def test_vector_encodes_byte_for_byte() -> None:
    tag = DanishTag(1, 1, 1, "11223344", "DE", "705")
    assert encode(tag) == VECTOR_TAG


def test_known_usage_becomes_enum_and_unknown_is_kept_as_number() -> None:
    assert decode(VECTOR_TAG).type_of_usage is TypeOfUsage.CIRCULATING
    odd = encode(DanishTag(5, 1, 1, "X1", "NO", "2030000"))
    decoded = decode(odd)
    assert decoded.type_of_usage == 5
    assert not isinstance(decoded.type_of_usage, TypeOfUsage)


def test_patron_card() -> None:
    card = DanishTag(TypeOfUsage.PATRON_CARD, 1, 1, "N000123456", "NO", "2030000")
    assert decode(encode(card)).is_patron_card


def test_34_byte_tag_decodes_with_long_owner_library() -> None:
    tag = DanishTag(TypeOfUsage.CIRCULATING, 2, 2, "03010012345678", "NO", "DK-77510012")
    raw = encode(tag, size=34)
    assert len(raw) == 34
    assert decode(raw) == tag


def test_owner_library_too_long_for_32_bytes_is_refused() -> None:
    with pytest.raises(TagEncodeError, match="at most 9"):
        encode(DanishTag(1, 1, 1, "1", "NO", "DK-77510012"), size=32)


def test_32_byte_tag_in_larger_memory_with_data_after_it() -> None:
    """A reader returns the whole user memory; bytes after the basic block belong to extension blocks."""
    memory = VECTOR_TAG + bytes.fromhex("0d0100") + b"extension" + bytes(100)
    assert decode(memory).owner_library == "705"


def test_32_byte_tag_in_zeroed_larger_memory() -> None:
    assert decode(VECTOR_TAG + bytes(80)) == decode(VECTOR_TAG)


@pytest.mark.parametrize("fill", [0x00, 0xFF])
def test_blank_tags(fill: int) -> None:
    raw = bytes([fill]) * 112
    with pytest.raises(BlankTag) as caught:
        decode(raw)
    assert caught.value.raw == raw
    assert "blank" in str(caught.value)


def test_an_empty_basic_block_with_data_after_it_is_not_blank() -> None:
    raw = bytes(32) + bytes.fromhex("0d0100") + b"extension" + bytes(10)
    with pytest.raises(MalformedTag, match="basic block is empty") as caught:
        decode(raw)
    assert caught.value.raw == raw


@pytest.mark.parametrize("raw", [b"", b"\x11", b"\xb7\xce", b"\x11\x03\x05"])
def test_a_short_read_is_a_short_read_in_every_variant(raw: bytes) -> None:
    # decode_tolerant used to index bytes 1 and 2 before checking the length (IndexError).
    with pytest.raises(ShortRead, match=f"only {len(raw)} bytes") as caught:
        iso28560_3.decode_tolerant(raw)
    assert caught.value.raw == raw


def test_other_version_is_unsupported() -> None:
    raw = bytes([0x21]) + VECTOR_TAG[1:]
    with pytest.raises(UnsupportedTag, match="version 2") as caught:
        decode(raw)
    assert caught.value.raw == raw


def test_damaged_tag_reports_both_checksums() -> None:
    raw = bytearray(VECTOR_TAG)
    raw[5] ^= 0x01
    with pytest.raises(TagCrcError) as caught:
        decode(bytes(raw))
    assert caught.value.stored == 0x3E51
    assert caught.value.computed == basic_block_crc(bytes(raw))
    assert "damaged" in str(caught.value)
    assert caught.value.raw == bytes(raw)


def test_too_short_is_a_short_read() -> None:
    with pytest.raises(ShortRead, match="only 20 bytes"):
        decode(VECTOR_TAG[:20])


def with_fixed_crc(block: bytearray) -> bytes:
    block[19:21] = basic_block_crc(bytes(block)).to_bytes(2, "little")
    return bytes(block)


def test_impossible_part_number_is_malformed() -> None:
    block = bytearray(VECTOR_TAG)
    block[1], block[2] = 1, 3  # part 3 of 1: what a swapped-bytes encoder writes for part 1 of 3
    with pytest.raises(MalformedTag, match="swapped"):
        decode(with_fixed_crc(block))


def test_non_ascii_item_id_is_malformed() -> None:
    block = bytearray(VECTOR_TAG)
    block[3] = 0xE6
    with pytest.raises(MalformedTag, match="item id"):
        decode(with_fixed_crc(block))


def test_empty_item_id_is_malformed() -> None:
    block = bytearray(VECTOR_TAG)
    block[3:19] = bytes(16)
    with pytest.raises(MalformedTag, match="empty"):
        decode(with_fixed_crc(block))


def test_decode_errors_share_a_base_class() -> None:
    for error in (TagCrcError, BlankTag, UnsupportedTag, MalformedTag, ShortRead):
        assert issubclass(error, TagDecodeError)


@pytest.mark.parametrize(
    ("tag", "size", "message"),
    [
        (DanishTag(1, 1, 1, "1", "NO", "1"), 33, "32 or 34"),
        (DanishTag(1, 1, 1, "1", "NO", "1", version=2), 32, "version"),
        (DanishTag(16, 1, 1, "1", "NO", "1"), 32, "4 bits"),
        (DanishTag(1, 0, 1, "1", "NO", "1"), 32, "parts in item"),
        (DanishTag(1, 2, 3, "1", "NO", "1"), 32, "part number"),
        (DanishTag(1, 1, 1, "", "NO", "1"), 32, "item id"),
        (DanishTag(1, 1, 1, "x" * 17, "NO", "1"), 32, "item id"),
        (DanishTag(1, 1, 1, "bøk", "NO", "1"), 32, "item id"),
        (DanishTag(1, 1, 1, "1", "no", "1"), 32, "country"),
        (DanishTag(1, 1, 1, "1", "N1", "1"), 32, "country"),
        (DanishTag(1, 1, 1, "1", "NO", "Tromsø"), 32, "owner library"),
    ],
)
def test_encode_refuses_what_does_not_fit(tag: DanishTag, size: int, message: str) -> None:
    with pytest.raises(TagEncodeError, match=message):
        encode(tag, size)


printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E))


@st.composite
def danish_tags(draw: st.DrawFn) -> tuple[DanishTag, int]:
    size = draw(st.sampled_from([32, 34]))
    parts = draw(st.integers(1, 255))
    tag = DanishTag(
        type_of_usage=draw(st.integers(0, 15)),
        parts_in_item=parts,
        part_number=draw(st.integers(1, parts)),
        # Trailing spaces are kept: only NUL is padding.
        primary_item_id=draw(printable.filter(lambda s: 1 <= len(s) <= 16)),
        country=draw(st.sampled_from(["", "NO", "DK", "SE", "FI", "DE"])),
        owner_library=draw(printable.filter(lambda s: len(s) <= size - 23)),
    )
    return tag, size


@given(danish_tags())
def test_round_trip(case: tuple[DanishTag, int]) -> None:
    tag, size = case
    raw = encode(tag, size)
    assert len(raw) == size
    assert decode(raw) == tag


@given(danish_tags(), st.integers(0, 31 * 8 - 1))
def test_any_single_bit_flip_is_detected(case: tuple[DanishTag, int], bit: int) -> None:
    tag, size = case
    raw = bytearray(encode(tag, size))
    raw[bit // 8] ^= 1 << (bit % 8)
    # A flip in the version nibble is reported as an unknown version; every other flip breaks the CRC.
    expected: type[TagDecodeError] = UnsupportedTag if bit // 8 == 0 and bit % 8 >= 4 else TagCrcError
    with pytest.raises(expected):
        decode(bytes(raw))


@given(st.binary(min_size=0, max_size=64))
def test_arbitrary_bytes_decode_or_raise_a_typed_error(raw: bytes) -> None:
    try:
        decoded = decode(raw)
    except TagDecodeError as error:
        assert error.raw == raw
        assert str(error)
    else:
        assert iso28560_3.encode(decoded, 34 if len(decoded.owner_library) > 9 else 32)
