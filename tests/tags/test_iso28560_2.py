"""ISO 28560-2 against the standard's published examples and the forms other encoders write (issue 10)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.tags import isil, iso28560_2
from drivers.tags.compaction import Compaction, best_compaction, compact, decompact
from drivers.tags.errors import MalformedTag, ShortRead, UnknownCompaction
from drivers.tags.iso28560_2 import DataSet, Iso28560_2Tag
from drivers.tags.iso28560_3 import DanishTag, encode
from drivers.tags.model import ItemTag, UnreadableTag, decode_any

MEMORY = 112

# ISO 28560-2 Annex D: item 123456789012, set information 1203 (integer 14 02 04B3), shelf location
# QA268.L55 (6-bit), owner US-InU-Mu (ISIL compaction, Annex C), followed by zeros.
ANNEX_D = bytes.fromhex("9100051cbe991a140201d0140204b34607441cb6e2e335d6830207acc09ebaa06f6b0000")
ANNEX_D_TAG = Iso28560_2Tag(
    primary_item_id="123456789012",
    owner_institution="US-InU-Mu",
    parts_in_item=12,
    part_number=3,
    other=(DataSet(iso28560_2.OID_SHELF_LOCATION, Compaction.SIX_BIT, "QA268.L55"),),
    data_set_order=(1, 2, 4, 6, 3),
)


@pytest.mark.parametrize("strict", [False, True])
def test_the_annex_d_tag_decodes_to_exactly_the_published_values(strict: bool) -> None:
    tag = iso28560_2.decode(ANNEX_D.ljust(MEMORY, b"\x00"), strict=strict)
    assert tag == ANNEX_D_TAG
    assert tag.owner_institution == "US-InU-Mu" and (tag.parts_in_item, tag.part_number) == (12, 3)
    assert tag.data_set_order == (1, 2, 4, 6, 3)


@pytest.mark.parametrize("dsfid", [None, 0x00, iso28560_2.DSFID_ISO28560_2])
def test_the_annex_d_tag_is_an_item_of_owner_us_inu_mu_whatever_the_dsfid(dsfid: int | None) -> None:
    decoded = decode_any(ANNEX_D.ljust(MEMORY, b"\x00"), dsfid)
    assert isinstance(decoded, ItemTag), decoded
    assert (decoded.model, decoded.item_id, decoded.owner_library) == (
        "ISO 28560-2",
        "123456789012",
        "US-InU-Mu",
    )
    assert (decoded.parts_in_item, decoded.part_number) == (12, 3)


def test_our_encoder_reproduces_the_annex_d_bytes() -> None:
    assert iso28560_2.encode(ANNEX_D_TAG) == ANNEX_D + b"\x00"
    assert iso28560_2.encode(iso28560_2.decode(ANNEX_D + bytes(40))) == ANNEX_D + b"\x00"


@pytest.mark.parametrize(
    ("text", "compacted"),
    [("DE-Heu1", "21408E16BF1F"), ("US-InU-Mu", "ACC09EBAA06F6B")],
)
def test_the_isil_compaction_vectors_both_ways(text: str, compacted: str) -> None:
    assert isil.encode_isil(text) == bytes.fromhex(compacted)
    assert isil.decode_isil(bytes.fromhex(compacted), strict=True) == text


def test_an_isil_with_a_run_of_digits_latches_to_the_digit_set() -> None:
    # Annex C example 2: C H - (upper case), latch digits 11110, 0 0 0 1 3 4 - 1 in 4-bit codes.
    bits = "00011010000000011110" + "".join(f"{d:04b}" for d in (0, 0, 0, 1, 3, 4, 10, 1))
    bits += "1" * (-len(bits) % 8)
    assert isil.encode_isil("CH-000134-1") == int(bits, 2).to_bytes(len(bits) // 8, "big")


isils = st.text(alphabet=sorted(isil.ISIL_CHARACTERS), min_size=1, max_size=16)


@given(isils)
def test_every_isil_round_trips_through_the_isil_compaction(text: str) -> None:
    assert isil.decode_isil(isil.encode_isil(text), strict=True) == text


def schemes(raw: bytes) -> dict[int, tuple[Compaction, bytes | str]]:
    return {s.oid: (s.compaction, s.value) for s in iso28560_2.parse_data_sets(raw)}


def test_the_owner_is_written_in_the_isil_compaction() -> None:
    raw = iso28560_2.encode(Iso28560_2Tag("30000123", "DE-Heu1"))
    assert schemes(raw)[3] == (Compaction.APPLICATION, bytes.fromhex("21408E16BF1F"))
    assert iso28560_2.decode(raw).owner_institution == "DE-Heu1"


@pytest.mark.parametrize(
    ("data_set", "element", "scheme"),
    [
        (bytes([0x01, 0x02, 0x12, 0x34]), "primary item id", "application"),  # item id, application-defined
        (bytes([0x15, 0x01, 0x10]), "type of usage", "integer"),
        (bytes([0x04, 0x02, 0x0C, 0x03]), "set information", "application"),
    ],
)
def test_an_element_in_a_compaction_that_does_not_fit_it_is_an_error_naming_both(
    data_set: bytes, element: str, scheme: str
) -> None:
    item = bytes([0x11, 0x02, 0x30, 0x39]) if data_set[0] & 0x0F != 1 else b""
    raw = (item + data_set + b"\x00").ljust(MEMORY, b"\x00")
    with pytest.raises(UnknownCompaction, match=element) as caught:
        iso28560_2.decode(raw)
    assert scheme in str(caught.value) and caught.value.raw == raw
    decoded = decode_any(raw, iso28560_2.DSFID_ISO28560_2)
    assert isinstance(decoded, UnreadableTag) and decoded.kind == "unsupported" and element in decoded.reason


def test_an_owner_that_is_not_valid_isil_compaction_is_refused_not_guessed() -> None:
    # Two shift codes in a row (11101 11101): no ISIL encoder writes that.
    raw = bytes([0x11, 0x02, 0x30, 0x39, 0x03, 0x02, 0b11101111, 0b01000011, 0x00]).ljust(MEMORY, b"\x00")
    with pytest.raises(MalformedTag, match="ISIL"):
        iso28560_2.decode(raw)


# ------------------------------------------------------------------------------------------ finding 10


def test_type_of_usage_is_written_application_defined_and_octets_are_still_read() -> None:
    raw = iso28560_2.encode(Iso28560_2Tag("30000123", type_of_usage="10"))
    assert schemes(raw)[5] == (Compaction.APPLICATION, b"\x10")
    assert iso28560_2.decode(raw).type_of_usage == "10"
    as_octets = bytes([0x11, 0x04, 0x01, 0xC9, 0xC3, 0xFB, 0x65, 0x01, 0x10, 0x00])  # 0x65: octet string
    assert iso28560_2.decode(as_octets).type_of_usage == "10"


@pytest.mark.parametrize(
    ("parts", "part", "scheme", "value"),
    [
        (12, 3, Compaction.INTEGER, "1203"),
        (2, 1, Compaction.NUMERIC, "0201"),
        (10, 10, Compaction.INTEGER, "1010"),
    ],
)
def test_set_information_is_integer_without_a_leading_zero_and_numeric_with_one(
    parts: int, part: int, scheme: Compaction, value: str
) -> None:
    raw = iso28560_2.encode(Iso28560_2Tag("30000123", "FI-He", parts, part))
    assert schemes(raw)[4] == (scheme, value)
    decoded = iso28560_2.decode(raw, strict=True)
    assert (decoded.parts_in_item, decoded.part_number) == (parts, part)


@pytest.mark.parametrize(
    "set_information", [bytes([0x14, 0x02, 0x04, 0xB3]), bytes([0x24, 0x02, 0x12, 0x03])]
)
def test_set_information_is_read_in_both_forms(set_information: bytes) -> None:
    raw = bytes([0x11, 0x02, 0x30, 0x39]) + set_information + b"\x00"
    tag = iso28560_2.decode(raw, strict=True)
    assert (tag.parts_in_item, tag.part_number) == (12, 3)


def _seven_bit_with_one_bits(text: str) -> bytes:
    bits = "".join(f"{ord(char):07b}" for char in text)
    bits += "1" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


@pytest.mark.parametrize("text", ["123456781234567", "HEL-30000123", "ABCDEFG"])
def test_7_bit_text_padded_with_1_bits_decodes_without_the_pad_character(text: str) -> None:
    data = _seven_bit_with_one_bits(text)
    raw = bytes([0x51, len(data)]) + data + b"\x00"  # 7-bit, OID 1
    assert iso28560_2.decode(raw, strict=True).primary_item_id == text
    assert decompact(Compaction.SEVEN_BIT, data) == text


def test_best_compaction_keeps_leading_zeros() -> None:
    assert best_compaction("1203") is Compaction.INTEGER and best_compaction("0201") is Compaction.NUMERIC
    assert decompact(Compaction.NUMERIC, compact(Compaction.NUMERIC, "0201")) == "0201"


# ------------------------------------------------------------------------------------------ finding 12


def test_the_cut_nor_rfid_read_from_the_issue_is_read_again_not_item_20198197() -> None:
    for dsfid in (None, 0x00, iso28560_2.DSFID_ISO28560_2):
        decoded = decode_any(bytes.fromhex("110401343335"), dsfid)
        assert isinstance(decoded, UnreadableTag) and decoded.read_again, (dsfid, decoded)
        assert decoded.kind == "short_read" and "read it again" in decoded.reason


@pytest.mark.parametrize("parts", [1, 4, 9, 12])
@pytest.mark.parametrize("dsfid", [None, 0x00])
def test_every_nor_rfid_read_cut_short_is_read_again(parts: int, dsfid: int | None) -> None:
    # A 9-part set with an 8-character item id once read as a 28560-2 item: 11 09 01 + 8 characters + NUL
    # is an integer item id followed by the terminator.
    for item in ("12345678", "34350000012345"):
        memory = encode(DanishTag(1, parts, 1, item, "NO", "2030000")).ljust(MEMORY, b"\x00")
        for length in range(1, 32):
            decoded = decode_any(memory[:length], dsfid)
            assert isinstance(decoded, UnreadableTag) and decoded.read_again, (parts, item, length, decoded)


def test_a_28560_2_read_cut_before_its_terminator_is_read_again() -> None:
    raw = iso28560_2.encode(ANNEX_D_TAG)
    for length in range(1, len(raw)):
        with pytest.raises(ShortRead):
            iso28560_2.decode(raw[:length])
        for dsfid in (None, iso28560_2.DSFID_ISO28560_2):
            decoded = decode_any(raw[:length], dsfid)
            assert isinstance(decoded, UnreadableTag) and decoded.read_again, (length, dsfid, decoded)


def test_a_content_parameter_naming_an_element_the_tag_lacks_is_malformed() -> None:
    # Annex D without its last data set (the owner), terminator and all: the content parameter lists OID 3.
    raw = ANNEX_D[:24] + bytes(20)
    with pytest.raises(MalformedTag, match="content parameter lists OID 3"):
        iso28560_2.decode(raw)


def test_a_damaged_28560_3_set_of_many_parts_is_not_a_28560_2_item_with_a_67_digit_id() -> None:
    # Found by the damage property test: 28 parts make 0x11 0x1C an integer of 28 bytes that swallows the
    # CRC and the owner library; with no country and one damaged field, two field signs are not there.
    memory = bytearray(encode(DanishTag(1, 28, 1, "0", "", "0000000")).ljust(MEMORY, b"\x00"))
    memory[4] ^= 0x80
    decoded = decode_any(bytes(memory))
    assert isinstance(decoded, UnreadableTag) and decoded.kind == "damaged", decoded


def test_an_ill_borrowing_institution_isil_is_decoded_and_written_back_the_same() -> None:
    ill = DataSet(
        iso28560_2.OID_ILL_BORROWING_INSTITUTION, Compaction.APPLICATION, isil.encode_isil("DE-Heu1")
    )
    raw = iso28560_2.encode(Iso28560_2Tag("30000123", "US-InU-Mu", other=(ill,)))
    tag = iso28560_2.decode(raw, strict=True)
    assert tag.other == (DataSet(11, Compaction.APPLICATION, "DE-Heu1"),)
    assert iso28560_2.encode(tag) == raw
