"""Bodies of the FEIG frames beyond the frame itself: what an inventory, a read, system information or
the software version carries, for both sides (the driver parses replies, the simulator encodes them).
Re-exported by ``drivers.rfid.feig_protocol``; the layouts are in its docstring.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.rfid.feig_codes import CMD_ISO_HOST, ProtocolError, Reply, Request, Status


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
    return uid, first, size, reorder_blocks(payload, size) if reversed_blocks else payload


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


def parse_queue_request(request: Request) -> list[Request]:
    """Reader side: the ISO commands of a command-queue request, each as if it had come in a B0 frame."""
    data, commands, at = request.data, [], 1
    if not data:
        raise ProtocolError("command-queue request without a count")
    for _ in range(data[0]):
        if at >= len(data) or at + 1 + data[at] > len(data) or data[at] == 0:
            raise ProtocolError("command-queue request shorter than it announces")
        commands.append(Request(request.address, CMD_ISO_HOST, data[at + 1 : at + 1 + data[at]]))
        at += 1 + data[at]
    if at != len(data):
        raise ProtocolError(f"command-queue request has {len(data) - at} bytes after its last command")
    return commands


def encode_queue_reply(replies: list[Reply]) -> bytes:
    body = bytearray([len(replies)])
    for reply in replies:
        body += bytes([reply.status, len(reply.data)]) + reply.data
    return bytes(body)


def parse_queue_reply(reply: Reply, asked: int) -> list[Reply]:
    """Host side: one reply per queued command, in the order asked, each as a B0 reply would be."""
    _expect_ok(reply)
    data, replies, at = reply.data, [], 1
    if not data or data[0] != asked:
        raise ProtocolError(
            f"command-queue reply answers {data[0] if data else 0} commands, {asked} were asked"
        )
    for _ in range(asked):
        if at + 2 > len(data) or at + 2 + data[at + 1] > len(data):
            raise ProtocolError("command-queue reply shorter than it announces")
        status, length = data[at], data[at + 1]
        replies.append(Reply(reply.address, CMD_ISO_HOST, status, data[at + 2 : at + 2 + length]))
        at += 2 + length
    if at != len(data):
        raise ProtocolError(f"command-queue reply has {len(data) - at} bytes after its last answer")
    return replies


def reorder_blocks(data: bytes, block_size: int) -> bytes:
    return b"".join(data[i : i + block_size][::-1] for i in range(0, len(data), block_size))


def _expect_ok(reply: Reply) -> None:
    if not reply.ok:
        raise ProtocolError(f"reply status is {Status.describe(reply.status)}, not OK")
