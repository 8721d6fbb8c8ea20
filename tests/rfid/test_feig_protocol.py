"""The FEIG host protocol codec: reference vectors, the catalogued CRC check value, hypothesis round-trips,
and resynchronisation after garbage."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.rfid import feig_protocol as fp

uids = st.binary(min_size=8, max_size=8)


def test_reference_frames() -> None:
    # ../shared/REFERENCE.md: inventory and software version requests.
    assert fp.encode_request(fp.inventory()) == bytes.fromhex("07 FF B0 01 00 1C 56")
    assert fp.encode_request(fp.software_version()) == bytes.fromhex("05 FF 65 E5 CB")


def test_crc_is_the_catalogued_crc16_mcrf4xx() -> None:
    # Reflected 0x8408, preset 0xFFFF, no final XOR = CRC-16/MCRF4XX, check value 0x6F91.
    assert fp.feig_crc(b"123456789") == 0x6F91


def test_reference_frames_decode_on_the_reader_side() -> None:
    decoder = fp.FrameDecoder(fp.Role.READER)
    decoder.receive_data(bytes.fromhex("07 FF B0 01 00 1C 56 05 FF 65 E5 CB"))
    assert decoder.next_event() == fp.Request(0xFF, 0xB0, b"\x01\x00")
    assert decoder.next_event() == fp.Request(0xFF, 0x65, b"")
    assert decoder.next_event() is fp.NEED_DATA


@given(
    address=st.integers(0, 255),
    command=st.integers(0, 255),
    status=st.integers(0, 255),
    data=st.binary(max_size=249),
)
def test_reply_round_trip_in_any_chunking(address: int, command: int, status: int, data: bytes) -> None:
    frame = fp.encode_reply(fp.Reply(address, command, status, data))
    assert frame[0] == len(frame)
    decoder = fp.FrameDecoder(fp.Role.HOST)
    events = []
    for i in range(len(frame)):  # one byte at a time: the worst a serial line can do
        decoder.receive_data(frame[i : i + 1])
        event = decoder.next_event()
        if event is not fp.NEED_DATA:
            events.append(event)
    assert events == [fp.Reply(address, command, status, data)]


@given(data=st.binary(min_size=1, max_size=250), flip=st.integers(0, 10_000))
def test_any_single_bit_error_is_reported_not_decoded(data: bytes, flip: int) -> None:
    frame = bytearray(fp.encode_request(fp.Request(0xFF, 0xB0, data)))
    bit = flip % ((len(frame) - 1) * 8) + 8  # never the length byte: that is a resync case
    frame[bit // 8] ^= 1 << (bit % 8)
    decoder = fp.FrameDecoder(fp.Role.READER)
    decoder.receive_data(bytes(frame))
    event = decoder.next_event()
    assert isinstance(event, fp.CorruptFrame)
    assert "CRC" in event.reason


def test_decoder_resynchronises_after_garbage() -> None:
    good = fp.encode_reply(fp.Reply(0xFF, 0x65, 0, b"\x03\x00\x05\x4c\x01\x00\x08"))
    decoder = fp.FrameDecoder(fp.Role.HOST)
    decoder.receive_data(b"\x00\x01\x02" + good)
    first = decoder.next_event()
    assert isinstance(first, fp.CorruptFrame) and first.raw == b"\x00\x01\x02"
    reply = decoder.next_event()
    assert isinstance(reply, fp.Reply)
    assert fp.parse_software_version(reply).firmware == "03.00.05"


@given(
    tags=st.lists(st.builds(fp.InventoryEntry, uids, st.integers(0, 255), st.integers(0, 255)), max_size=20),
    more=st.booleans(),
)
def test_inventory_round_trip(tags: list[fp.InventoryEntry], more: bool) -> None:
    status = fp.Status.MORE_DATA if more else fp.Status.OK
    reply = fp.Reply(0xFF, 0xB0, status, fp.encode_inventory_data(tags))
    assert fp.parse_inventory(reply) == fp.InventoryData(tuple(tags), more)


def test_inventory_with_no_transponder_is_empty() -> None:
    assert fp.parse_inventory(fp.Reply(0xFF, 0xB0, fp.Status.NO_TRANSPONDER)) == fp.InventoryData((), False)


@given(
    blocks=st.integers(1, 40).flatmap(lambda n: st.binary(min_size=4 * n, max_size=4 * n)),
    reversed_blocks=st.booleans(),
)
def test_block_data_round_trip(blocks: bytes, reversed_blocks: bool) -> None:
    body = fp.encode_block_data(blocks, 4, reversed_blocks=reversed_blocks)
    parsed = fp.parse_blocks(fp.Reply(0xFF, 0xB0, 0, body), reversed_blocks=reversed_blocks)
    assert parsed.data == blocks and parsed.block_size == 4


def test_reversed_block_order_on_the_wire() -> None:
    body = fp.encode_block_data(b"\x11\x22\x33\x44", 4, reversed_blocks=True)
    assert body == bytes([1, 4, 0, 0x44, 0x33, 0x22, 0x11])


@given(
    uid=uids,
    first=st.integers(0, 200),
    data=st.integers(1, 32).flatmap(lambda n: st.binary(min_size=4 * n, max_size=4 * n)),
    reversed_blocks=st.booleans(),
)
def test_write_multiple_round_trip(uid: bytes, first: int, data: bytes, reversed_blocks: bool) -> None:
    request = fp.write_multiple(uid, first, 4, data, reversed_blocks=reversed_blocks)
    frame = fp.encode_request(request)
    decoder = fp.FrameDecoder(fp.Role.READER)
    decoder.receive_data(frame)
    decoded = decoder.next_event()
    assert isinstance(decoded, fp.Request)
    assert fp.parse_write_multiple(decoded, reversed_blocks=reversed_blocks) == (uid, first, 4, data)


@given(
    uid=uids,
    dsfid=st.integers(0, 255),
    afi=st.integers(0, 255),
    block_size=st.integers(1, 32),
    block_count=st.integers(1, 256),
)
def test_system_information_round_trip(
    uid: bytes, dsfid: int, afi: int, block_size: int, block_count: int
) -> None:
    info = fp.SystemInformation(uid, dsfid, afi, block_size, block_count, 0x01)
    reply = fp.Reply(0xFF, 0xB0, 0, fp.encode_system_information(info))
    assert fp.parse_system_information(reply) == info


def test_addressed_commands_carry_the_uid_msb_first() -> None:
    uid = bytes.fromhex("E004010000000001")
    assert fp.write_afi(uid, 0xC2).data == bytes.fromhex("27 01 E004010000000001 C2")
    assert fp.read_multiple(uid, 0, 8).data == bytes.fromhex("23 01 E004010000000001 00 08")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: fp.write_afi(b"\x01" * 7, 0xC2), "UID"),
        (lambda: fp.write_afi(b"\x01" * 8, 0x100), "AFI"),
        (lambda: fp.write_multiple(b"\x01" * 8, 0, 4, b"\x00" * 5), "whole number"),
        (lambda: fp.encode_request(fp.Request(0xFF, 0xB0, bytes(253))), "at most 255"),
    ],
)
def test_impossible_requests_are_refused(make, message: str) -> None:
    with pytest.raises(fp.ProtocolError, match=message):
        make()


def test_impossible_reply_bodies_are_protocol_errors() -> None:
    with pytest.raises(fp.ProtocolError, match="announces 3 tags"):
        fp.parse_inventory(fp.Reply(0xFF, 0xB0, 0, b"\x03" + bytes(10)))
    with pytest.raises(fp.ProtocolError, match="not OK"):
        fp.parse_blocks(fp.Reply(0xFF, 0xB0, fp.Status.RF_COMMUNICATION_ERROR))
    assert "rf communication error (0x83)" in fp.Status.describe(0x83)
