from hypothesis import given
from hypothesis import strategies as st

from drivers.tags.crc import crc16_ccitt


def bitwise_reference_crc(data: bytes) -> int:
    """Straight from the definition (poly 0x1021, init 0xFFFF, MSB first): independent of the table."""
    crc = 0xFFFF
    for byte in data:
        for bit in range(7, -1, -1):
            feedback = ((crc >> 15) & 1) ^ ((byte >> bit) & 1)
            crc = (crc << 1) & 0xFFFF
            if feedback:
                crc ^= 0x1021
    return crc


def test_standard_check_value() -> None:
    assert crc16_ccitt(b"123456789") == 0x29B1


def test_danish_data_model_vector() -> None:
    assert crc16_ccitt(b"RFID tag data model") == 0x1AEE


def test_empty_input_is_the_initial_value() -> None:
    assert crc16_ccitt(b"") == 0xFFFF


def test_accepts_bytearray_and_memoryview() -> None:
    assert crc16_ccitt(bytearray(b"123456789")) == crc16_ccitt(memoryview(b"123456789")) == 0x29B1


@given(st.binary(max_size=64))
def test_table_matches_bitwise_definition(data: bytes) -> None:
    assert crc16_ccitt(data) == bitwise_reference_crc(data)


@given(st.binary(max_size=32), st.binary(max_size=32))
def test_can_be_continued_over_pieces(first: bytes, second: bytes) -> None:
    assert crc16_ccitt(second, crc16_ccitt(first)) == crc16_ccitt(first + second)


def test_rejects_initial_value_wider_than_16_bits() -> None:
    try:
        crc16_ccitt(b"x", 0x10000)
    except ValueError as error:
        assert "16 bits" in str(error)
    else:
        raise AssertionError("expected ValueError")
