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

UIDs travel MSB first (``E0 04 ...``), as ``drivers.rfid.base`` wants them. Block data travels in tag
memory order unless the reader is configured to send each block reversed: ``reversed_blocks`` on the
parsing and encoding helpers handles that configuration (the source of the "4-byte blocks reversed" tag
variant seen in the field).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

ADDRESS_BROADCAST: Final = 0xFF
MAX_FRAME: Final = 255
MIN_REQUEST: Final = 5  # LEN ADR CMD CRC CRC
MIN_REPLY: Final = 6  # LEN ADR CMD STATUS CRC CRC
UID_LENGTH: Final = 8

CMD_ISO_HOST: Final = 0xB0
CMD_SOFTWARE_VERSION: Final = 0x65
CMD_RF_RESET: Final = 0x69

ISO_INVENTORY: Final = 0x01
ISO_READ_MULTIPLE: Final = 0x23
ISO_WRITE_MULTIPLE: Final = 0x24
ISO_WRITE_AFI: Final = 0x27
ISO_SYSTEM_INFO: Final = 0x2B

MODE_ADDRESSED: Final = 0x01
MODE_MORE: Final = 0x80


class Status(enum.IntEnum):
    OK = 0x00
    NO_TRANSPONDER = 0x01
    DATA_FALSE = 0x02
    WRITE_ERROR = 0x03
    ADDRESS_ERROR = 0x04
    WRONG_TRANSPONDER_TYPE = 0x05
    RF_COMMUNICATION_ERROR = 0x83
    RF_WARNING = 0x84
    MORE_DATA = 0x94
    ISO_ERROR = 0x95

    @classmethod
    def describe(cls, value: int) -> str:
        try:
            return f"{cls(value).name.lower().replace('_', ' ')} (0x{value:02X})"
        except ValueError:
            return f"unknown status 0x{value:02X}"


ISO_ERRORS: Final[dict[int, str]] = {
    0x01: "command not supported",
    0x02: "command not recognised",
    0x03: "option not supported",
    0x0F: "unknown error",
    0x10: "block not available",
    0x11: "block already locked",
    0x12: "block locked, cannot be changed",
    0x13: "block not programmed",
    0x14: "block not locked",
}


def feig_crc(data: bytes | bytearray | memoryview, preset: int = 0xFFFF) -> int:
    """CRC-16 of the FEIG host protocol: reflected polynomial 0x8408, preset 0xFFFF, no final XOR."""
    crc = preset
    for byte in bytes(data):
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


# ------------------------------------------------------------------------------------------- events


@dataclass(frozen=True)
class Request:
    """A frame from the host to the reader."""

    address: int
    command: int
    data: bytes = b""


@dataclass(frozen=True)
class Reply:
    """A frame from the reader to the host."""

    address: int
    command: int
    status: int
    data: bytes = b""

    @property
    def ok(self) -> bool:
        return self.status in (Status.OK, Status.MORE_DATA)


@dataclass(frozen=True)
class CorruptFrame:
    """Bytes that are not a valid frame (bad CRC, impossible length); the decoder has skipped them."""

    raw: bytes
    reason: str


class _NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = _NeedData()

Event = Request | Reply | CorruptFrame


class ProtocolError(ValueError):
    """A frame or field cannot be encoded or a reply's contents are impossible."""


# ------------------------------------------------------------------------------------------- framing


def _frame(body: bytes) -> bytes:
    length = len(body) + 3  # LEN byte + 2 CRC bytes
    if length > MAX_FRAME:
        raise ProtocolError(f"a standard FEIG frame is at most {MAX_FRAME} bytes, this one would be {length}")
    head = bytes([length]) + body
    return head + feig_crc(head).to_bytes(2, "little")


def encode_request(request: Request) -> bytes:
    _check_byte("address", request.address)
    _check_byte("command", request.command)
    return _frame(bytes([request.address, request.command]) + request.data)


def encode_reply(reply: Reply) -> bytes:
    _check_byte("address", reply.address)
    _check_byte("command", reply.command)
    _check_byte("status", reply.status)
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

    def next_event(self) -> Event | _NeedData:
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
    _check_uid(uid)
    _check_byte("first block", first_block)
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
    _check_uid(uid)
    _check_byte("first block", first_block)
    if not 1 <= block_size <= 32:
        raise ProtocolError(f"block size must be 1..32 bytes, got {block_size}")
    if not data or len(data) % block_size:
        raise ProtocolError(f"data must be a whole number of {block_size}-byte blocks, got {len(data)}")
    count = len(data) // block_size
    wire = _reorder(data, block_size) if reversed_blocks else data
    return Request(
        address,
        CMD_ISO_HOST,
        bytes([ISO_WRITE_MULTIPLE, MODE_ADDRESSED]) + uid + bytes([first_block, count, block_size]) + wire,
    )


def write_afi(uid: bytes, afi: int, address: int = ADDRESS_BROADCAST) -> Request:
    _check_uid(uid)
    _check_byte("AFI", afi)
    return Request(address, CMD_ISO_HOST, bytes([ISO_WRITE_AFI, MODE_ADDRESSED]) + uid + bytes([afi]))


def system_information(uid: bytes, address: int = ADDRESS_BROADCAST) -> Request:
    _check_uid(uid)
    return Request(address, CMD_ISO_HOST, bytes([ISO_SYSTEM_INFO, MODE_ADDRESSED]) + uid)


def software_version(address: int = ADDRESS_BROADCAST) -> Request:
    return Request(address, CMD_SOFTWARE_VERSION)


def rf_reset(address: int = ADDRESS_BROADCAST) -> Request:
    return Request(address, CMD_RF_RESET)


# ------------------------------------------------------------------------------------------- reply bodies


@dataclass(frozen=True)
class InventoryEntry:
    uid: bytes
    dsfid: int = 0
    transponder_type: int = 0x03  # ISO 15693


@dataclass(frozen=True)
class InventoryData:
    tags: tuple[InventoryEntry, ...]
    more: bool


@dataclass(frozen=True)
class BlockData:
    block_size: int
    data: bytes  # in tag memory order
    security_status: tuple[int, ...]


@dataclass(frozen=True)
class SystemInformation:
    uid: bytes
    dsfid: int
    afi: int
    block_size: int
    block_count: int
    ic_reference: int


@dataclass(frozen=True)
class ReaderInfo:
    firmware: str
    hardware_type: int
    software_type: int
    transponder_types: int


def parse_inventory(reply: Reply) -> InventoryData:
    if reply.status == Status.NO_TRANSPONDER:
        return InventoryData((), False)
    _expect_ok(reply)
    data = reply.data
    if not data:
        raise ProtocolError("inventory reply without a data-set count")
    count = data[0]
    if len(data) != 1 + count * 10:
        raise ProtocolError(f"inventory reply announces {count} tags but carries {len(data) - 1} bytes")
    tags = tuple(
        InventoryEntry(
            uid=data[3 + 10 * i : 11 + 10 * i], dsfid=data[2 + 10 * i], transponder_type=data[1 + 10 * i]
        )
        for i in range(count)
    )
    return InventoryData(tags, reply.status == Status.MORE_DATA)


def encode_inventory_data(tags: list[InventoryEntry]) -> bytes:
    body = bytearray([len(tags)])
    for tag in tags:
        body += bytes([tag.transponder_type, tag.dsfid]) + tag.uid
    return bytes(body)


def parse_blocks(reply: Reply, *, reversed_blocks: bool = False) -> BlockData:
    _expect_ok(reply)
    data = reply.data
    if len(data) < 2:
        raise ProtocolError("read reply without block count and size")
    count, size = data[0], data[1]
    if size == 0 or len(data) != 2 + count * (size + 1):
        raise ProtocolError(f"read reply announces {count} blocks of {size} bytes, carries {len(data) - 2}")
    security = []
    memory = bytearray()
    for i in range(count):
        start = 2 + i * (size + 1)
        security.append(data[start])
        block = data[start + 1 : start + 1 + size]
        memory += block[::-1] if reversed_blocks else block
    return BlockData(size, bytes(memory), tuple(security))


def encode_block_data(memory: bytes, block_size: int, *, reversed_blocks: bool = False) -> bytes:
    count = len(memory) // block_size
    body = bytearray([count, block_size])
    for i in range(count):
        block = memory[i * block_size : (i + 1) * block_size]
        body += b"\x00" + (block[::-1] if reversed_blocks else block)
    return bytes(body)


def parse_write_multiple(request: Request, *, reversed_blocks: bool = False) -> tuple[bytes, int, int, bytes]:
    """Reader side: ``(uid, first block, block size, data in memory order)`` of a write-multiple request."""
    data = request.data
    if len(data) < 13:
        raise ProtocolError("write-multiple request too short")
    uid, first, count, size = data[2:10], data[10], data[11], data[12]
    payload = data[13:]
    if size == 0 or len(payload) != count * size:
        raise ProtocolError(f"write-multiple announces {count} blocks of {size} bytes, has {len(payload)}")
    return uid, first, size, _reorder(payload, size) if reversed_blocks else payload


def parse_system_information(reply: Reply) -> SystemInformation:
    _expect_ok(reply)
    data = reply.data
    if len(data) != 13:
        raise ProtocolError(f"system information reply has {len(data)} bytes, expected 13")
    return SystemInformation(
        uid=data[1:9],
        dsfid=data[0],
        afi=data[9],
        block_size=(data[10] & 0x1F) + 1,
        block_count=data[11] + 1,
        ic_reference=data[12],
    )


def encode_system_information(info: SystemInformation) -> bytes:
    return (
        bytes([info.dsfid])
        + info.uid
        + bytes([info.afi, (info.block_size - 1) & 0x1F, info.block_count - 1, info.ic_reference])
    )


def parse_software_version(reply: Reply) -> ReaderInfo:
    _expect_ok(reply)
    data = reply.data
    if len(data) < 7:
        raise ProtocolError(f"software version reply has {len(data)} bytes, expected 7")
    return ReaderInfo(
        firmware=f"{data[0]:02X}.{data[1]:02X}.{data[2]:02X}",
        hardware_type=data[3],
        software_type=data[4],
        transponder_types=int.from_bytes(data[5:7], "big"),
    )


def _reorder(data: bytes, block_size: int) -> bytes:
    return b"".join(data[i : i + block_size][::-1] for i in range(0, len(data), block_size))


def _expect_ok(reply: Reply) -> None:
    if not reply.ok:
        raise ProtocolError(f"reply status is {Status.describe(reply.status)}, not OK")


def _check_byte(name: str, value: int) -> None:
    if not 0 <= value <= 0xFF:
        raise ProtocolError(f"{name} must be one byte (0..255), got {value}")


def _check_uid(uid: bytes) -> None:
    if len(uid) != UID_LENGTH:
        raise ProtocolError(f"an ISO 15693 UID is {UID_LENGTH} bytes, got {len(uid)}")
