"""The FEIG ISO host protocol (standard frames) as a sans-IO codec, in the style of h11.

No I/O here: ``FrameDecoder.receive_data(bytes)`` takes whatever arrived on the serial line and
``next_event()`` hands out typed events (``Reply`` on the host side, ``Request`` on the reader side,
``CorruptFrame`` for garbage, ``NEED_DATA`` when a frame is incomplete). Encoders turn typed commands into
bytes. ``drivers.rfid.feig`` puts a pyserial transport around it; ``drivers.rfid.feig_sim`` serves the reader
side on a pty.

Standard frame (both directions)::

    request:  LEN ADR CMD [data ...]        CRC_lo CRC_hi
    reply:    LEN ADR CMD STATUS [data ...] CRC_lo CRC_hi

``LEN`` counts the whole frame including itself and the CRC (so at most 255 bytes). The CRC is CRC-16 with
the reflected polynomial 0x8408, preset 0xFFFF, no final XOR, over every byte before it, sent low byte
first. Known vectors (../shared/REFERENCE.md): inventory ``07 FF B0 01 00 1C 56``, software version
``05 FF 65 E5 CB``.

Command 0xB0 wraps ISO 15693; its data starts with the ISO command code and a MODE byte. The layouts used
here (one place to change them if a reader manual says otherwise)::

    inventory          B0 01 MODE                      MODE bit 7 (0x80) = "more": fetch the rest
        reply          DATA-SETS, then per tag: TR-TYPE DSFID UID[8]            status 0x94 = more data
    read multiple      B0 23 MODE UID[8] DB-ADR DB-N  MODE 0x01 = addressed
        reply          DB-N DB-SIZE, then per block: SEC-STATUS DB[DB-SIZE]
    write multiple     B0 24 MODE UID[8] DB-ADR DB-N DB-SIZE DB[DB-N * DB-SIZE]
    write AFI          B0 27 MODE UID[8] AFI
    system information B0 2B MODE UID[8]
        reply          DSFID UID[8] AFI MEM-SIZE[2] IC-REF   MEM-SIZE = (block size - 1), (blocks - 1)
    software version   65                -> SW-REV[2] D-REV HW-TYPE SW-TYPE TR-TYPE[2]
    RF reset           69                -> status only
    command queue      BC COUNT, then per command: LEN ISO-DATA[LEN]     ISO-DATA as after B0 (27 or 2B)
        reply          COUNT, then per command: STATUS LEN DATA[LEN]     in the order asked

The command queue is how one exchange addresses several tags: the reader runs the queued ISO commands
one after the other on the air and answers once, so the serial line carries one request and one reply
instead of one pair per tag (at 38400 baud a frame pair costs ~5 ms of framing alone) and no inventory
poll can come between them. Only what the station groups is queueable: AFI writes and system information
(the write's read-back), whose reply sizes are known, so ``queue_fits`` can keep both frames within 255
bytes. A reader whose firmware lacks it answers the BC frame with an error status and no data; the driver
then sends one frame per command (``drivers.rfid.feig``). The layout is the one modelled here and served by
the simulator; check it against the manual of the reader model before relying on it in the field.

UIDs travel MSB first (``E0 04 ...``), as ``drivers.rfid.base`` wants them. Block data travels in tag
memory order unless the reader is configured to send each block reversed: ``reversed_blocks`` on the
parsing and encoding helpers handles that configuration (the source of the "4-byte blocks reversed" tag
variant seen in the field).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Final

from drivers.rfid.feig_bodies import (
    BlockData,
    InventoryData,
    InventoryEntry,
    ReaderInfo,
    SystemInformation,
    encode_block_data,
    encode_inventory_data,
    encode_queue_reply,
    encode_system_information,
    parse_blocks,
    parse_inventory,
    parse_queue_reply,
    parse_queue_request,
    parse_software_version,
    parse_system_information,
    parse_write_multiple,
    reorder_blocks,
)
from drivers.rfid.feig_codes import (
    ADDRESS_BROADCAST,
    CMD_COMMAND_QUEUE,
    CMD_ISO_HOST,
    CMD_RF_RESET,
    CMD_SOFTWARE_VERSION,
    ISO_ERRORS,
    ISO_INVENTORY,
    ISO_READ_MULTIPLE,
    ISO_SYSTEM_INFO,
    ISO_WRITE_AFI,
    ISO_WRITE_MULTIPLE,
    MAX_FRAME,
    MIN_REPLY,
    MIN_REQUEST,
    MODE_ADDRESSED,
    MODE_MORE,
    NEED_DATA,
    UID_LENGTH,
    CorruptFrame,
    Event,
    NeedData,
    ProtocolError,
    Reply,
    Request,
    Status,
    check_byte,
    check_uid,
)


def feig_crc(data: bytes | bytearray | memoryview, preset: int = 0xFFFF) -> int:
    """CRC-16 of the FEIG host protocol: reflected polynomial 0x8408, preset 0xFFFF, no final XOR."""
    crc = preset
    for byte in bytes(data):
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


# ------------------------------------------------------------------------------------------- framing


def _frame(body: bytes) -> bytes:
    length = len(body) + 3  # LEN byte + 2 CRC bytes
    if length > MAX_FRAME:
        raise ProtocolError(f"a standard FEIG frame is at most {MAX_FRAME} bytes, this one would be {length}")
    head = bytes([length]) + body
    return head + feig_crc(head).to_bytes(2, "little")


def encode_request(request: Request) -> bytes:
    check_byte("address", request.address)
    check_byte("command", request.command)
    return _frame(bytes([request.address, request.command]) + request.data)


def encode_reply(reply: Reply) -> bytes:
    check_byte("address", reply.address)
    check_byte("command", reply.command)
    check_byte("status", reply.status)
    return _frame(bytes([reply.address, reply.command, reply.status]) + reply.data)


class Role(enum.Enum):
    HOST = "host"  # we read replies
    READER = "reader"  # we read requests


class FrameDecoder:
    """Bytes in, frames out. Resynchronises after garbage: a bad frame becomes one ``CorruptFrame`` event."""

    def __init__(self, role: Role) -> None:
        self.role = role
        self._buffer = bytearray()
        self._minimum = MIN_REPLY if role is Role.HOST else MIN_REQUEST

    def receive_data(self, data: bytes) -> None:
        self._buffer += data

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def bytes_needed(self) -> int:
        """How many more bytes complete the frame at the front of the buffer (at least 1)."""
        if not self._buffer:
            return 1
        length = self._buffer[0]
        if length < self._minimum:
            return 1
        return max(1, length - len(self._buffer))

    def clear(self) -> None:
        self._buffer.clear()

    def next_event(self) -> Event | NeedData:
        if not self._buffer:
            return NEED_DATA
        length = self._buffer[0]
        if length < self._minimum:
            # No valid frame starts here: skip every byte up to the next plausible length byte.
            skip = 1
            while skip < len(self._buffer) and self._buffer[skip] < self._minimum:
                skip += 1
            raw = bytes(self._buffer[:skip])
            del self._buffer[:skip]
            return CorruptFrame(raw, f"length byte {length} is shorter than any frame ({self._minimum})")
        if len(self._buffer) < length:
            return NEED_DATA
        frame = bytes(self._buffer[:length])
        del self._buffer[:length]
        stored = int.from_bytes(frame[-2:], "little")
        computed = feig_crc(frame[:-2])
        if stored != computed:
            return CorruptFrame(frame, f"CRC stored 0x{stored:04X}, computed 0x{computed:04X}")
        if self.role is Role.HOST:
            return Reply(frame[1], frame[2], frame[3], frame[4:-2])
        return Request(frame[1], frame[2], frame[3:-2])


# ------------------------------------------------------------------------------------------- commands


def inventory(address: int = ADDRESS_BROADCAST, *, more: bool = False) -> Request:
    return Request(address, CMD_ISO_HOST, bytes([ISO_INVENTORY, MODE_MORE if more else 0x00]))


def read_multiple(uid: bytes, first_block: int, count: int, address: int = ADDRESS_BROADCAST) -> Request:
    check_uid(uid)
    check_byte("first block", first_block)
    if not 1 <= count <= 0xFF:
        raise ProtocolError(f"block count must be 1..255, got {count}")
    return Request(
        address,
        CMD_ISO_HOST,
        bytes([ISO_READ_MULTIPLE, MODE_ADDRESSED]) + uid + bytes([first_block, count]),
    )


def write_multiple(
    uid: bytes,
    first_block: int,
    block_size: int,
    data: bytes,
    address: int = ADDRESS_BROADCAST,
    *,
    reversed_blocks: bool = False,
) -> Request:
    check_uid(uid)
    check_byte("first block", first_block)
    if not 1 <= block_size <= 32:
        raise ProtocolError(f"block size must be 1..32 bytes, got {block_size}")
    if not data or len(data) % block_size:
        raise ProtocolError(f"data must be a whole number of {block_size}-byte blocks, got {len(data)}")
    count = len(data) // block_size
    wire = reorder_blocks(data, block_size) if reversed_blocks else data
    return Request(
        address,
        CMD_ISO_HOST,
        bytes([ISO_WRITE_MULTIPLE, MODE_ADDRESSED]) + uid + bytes([first_block, count, block_size]) + wire,
    )


def write_afi(uid: bytes, afi: int, address: int = ADDRESS_BROADCAST) -> Request:
    check_uid(uid)
    check_byte("AFI", afi)
    return Request(address, CMD_ISO_HOST, bytes([ISO_WRITE_AFI, MODE_ADDRESSED]) + uid + bytes([afi]))


def system_information(uid: bytes, address: int = ADDRESS_BROADCAST) -> Request:
    check_uid(uid)
    return Request(address, CMD_ISO_HOST, bytes([ISO_SYSTEM_INFO, MODE_ADDRESSED]) + uid)


def software_version(address: int = ADDRESS_BROADCAST) -> Request:
    return Request(address, CMD_SOFTWARE_VERSION)


def rf_reset(address: int = ADDRESS_BROADCAST) -> Request:
    return Request(address, CMD_RF_RESET)


QUEUE_REPLY_DATA: Final[dict[int, int]] = {ISO_WRITE_AFI: 0, ISO_SYSTEM_INFO: 13}  # queueable: reply bytes


def queue_fits(requests: Sequence[Request]) -> bool:
    """Whether these ISO commands fit one command-queue request and its reply (255-byte frames)."""
    if not requests or any(r.command != CMD_ISO_HOST or r.data[:1] == b"" for r in requests):
        return False
    if any(r.data[0] not in QUEUE_REPLY_DATA for r in requests):
        return False
    request = MIN_REQUEST + 1 + sum(1 + len(r.data) for r in requests)
    reply = MIN_REPLY + 1 + sum(2 + QUEUE_REPLY_DATA[r.data[0]] for r in requests)
    return len(requests) <= 0xFF and max(request, reply) <= MAX_FRAME


def command_queue(requests: Sequence[Request], address: int = ADDRESS_BROADCAST) -> Request:
    """One frame carrying several addressed ISO commands (write AFI, system information)."""
    if not queue_fits(requests):
        raise ProtocolError("these commands cannot share one command-queue frame (kind, count or size)")
    body = bytearray([len(requests)])
    for request in requests:
        body += bytes([len(request.data)]) + request.data
    return Request(address, CMD_COMMAND_QUEUE, bytes(body))


__all__ = [
    "ADDRESS_BROADCAST",
    "CMD_COMMAND_QUEUE",
    "CMD_ISO_HOST",
    "CMD_RF_RESET",
    "CMD_SOFTWARE_VERSION",
    "ISO_ERRORS",
    "ISO_INVENTORY",
    "ISO_READ_MULTIPLE",
    "ISO_SYSTEM_INFO",
    "ISO_WRITE_AFI",
    "ISO_WRITE_MULTIPLE",
    "MODE_ADDRESSED",
    "MODE_MORE",
    "NEED_DATA",
    "QUEUE_REPLY_DATA",
    "UID_LENGTH",
    "BlockData",
    "CorruptFrame",
    "Event",
    "FrameDecoder",
    "InventoryData",
    "InventoryEntry",
    "ProtocolError",
    "ReaderInfo",
    "Reply",
    "Request",
    "Role",
    "Status",
    "SystemInformation",
    "command_queue",
    "encode_block_data",
    "encode_inventory_data",
    "encode_queue_reply",
    "encode_reply",
    "encode_request",
    "encode_system_information",
    "feig_crc",
    "inventory",
    "parse_blocks",
    "parse_inventory",
    "parse_queue_reply",
    "parse_queue_request",
    "parse_software_version",
    "parse_system_information",
    "parse_write_multiple",
    "queue_fits",
    "read_multiple",
    "rf_reset",
    "software_version",
    "system_information",
    "write_afi",
    "write_multiple",
]
