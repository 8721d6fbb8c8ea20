"""FEIG ID ISC readers (e.g. ISC.MR101, ISC.LR) over a serial line, with several tags on the pad at once.

The protocol lives in ``drivers.rfid.feig_protocol`` (sans-IO); this module is the thin pyserial transport
around it. pyserial blocks, so every exchange runs in a worker thread (``asyncio.to_thread``) behind a
lock (``Line``): one command on the line at a time, the event loop never waits on the port.

Security before polls (issue 17): AFI writes and their read-backs (``write_afi``, ``read_afi``) take the
line before inventory polls (only the reading of newly placed tags goes before them: their items reach
the library system sooner, and its round trip overlaps the rest); and where the reader has the command
queue (``command_queue``: ``None`` finds out at the first use, then remembers), every write and read-back
waiting when the line comes free goes in one exchange (``drivers.rfid.feig_protocol.command_queue``), so
the writes of a stack are grouped per reader round. Each caller still gets its own tag's answer, and a
failed exchange fails every command in it (the station reads back and retries per tag).

Behaviour a technician can rely on:

- Every exchange has a deadline (``timeout``). A reader that stays silent, answers garbage or disappears
  gives a typed error (``FeigTimeout``, ``FeigFrameError``, ``ReaderUnavailable``), never a hang.
- A corrupt or missing reply to a read is retried (``retries``); writes are not blindly repeated (the
  station verifies by reading back and decides).
- When the USB serial device disappears the port is closed and the next command tries to open the path
  again: when the device returns (same ``/dev/serial/by-id/...`` path) the reader simply works again.
"""

from __future__ import annotations

import asyncio
import contextlib
import termios
import time
from collections.abc import Callable
from typing import Any, TypeVar

import serial

from drivers.rfid import feig_protocol as fp
from drivers.rfid.base import ReaderError, ReaderUnavailable, TagMemory, TagNotPresent, TagWriteError
from drivers.rfid.line import POLL, READ, SECURITY, Line

_Parsed = TypeVar("_Parsed")

DEFAULT_BAUD = 38400
MAX_BLOCKS_PER_READ = 32  # 32 x 5 bytes + overhead stays inside a 255-byte standard frame
MAX_BYTES_PER_WRITE = 128


class FeigError(ReaderError):
    """The reader answered, but not with what was asked for."""


class FeigStatusError(FeigError):
    def __init__(self, status: int, what: str, detail: str = "") -> None:
        extra = f": {detail}" if detail else ""
        super().__init__(f"The FEIG reader answered {fp.Status.describe(status)} to {what}{extra}.")
        self.status = status


class FeigRfError(FeigStatusError):
    """The air interface failed (status 0x83/0x84): noise, a metal shelf, a tag at the edge of the field."""


class FeigFrameError(FeigError):
    """The reply was garbled on the serial line (bad CRC or length) even after retrying."""


class FeigTimeout(ReaderUnavailable):
    """The reader did not answer in time."""


SerialFactory = Callable[..., Any]


class FeigReader:
    """A ``Reader`` for a FEIG reader in ISO host mode on ``port`` (a device path or a stable symlink)."""

    def __init__(
        self,
        port: str,
        *,
        address: int = fp.ADDRESS_BROADCAST,
        baudrate: int = DEFAULT_BAUD,
        timeout: float = 1.0,
        retries: int = 2,
        reversed_blocks: bool = False,
        serial_factory: SerialFactory = serial.Serial,
        command_queue: bool | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        if retries < 0:
            raise ValueError(f"retries cannot be negative, got {retries}")
        self.port = port
        self.address = address
        self.baudrate = baudrate
        self.timeout = timeout
        self.retries = retries
        self.reversed_blocks = reversed_blocks
        self._serial_factory = serial_factory
        self._serial: Any = None
        self._line = Line()
        self.command_queue = command_queue  # None: not known yet (the first grouped exchange finds out)
        self._queued: list[tuple[fp.Request, asyncio.Future[fp.Reply]]] = []
        self._sender: asyncio.Task[None] | None = None
        self.exchanges = 0  # frames sent (a command queue counts once)
        self.security_priority = SECURITY  # (bench/rfid.py sets POLL to measure first come, first served)
        self._closed = False
        self._geometry: dict[bytes, tuple[int, int]] = {}  # uid -> (block size, block count)
        self.port_opens = 0

    # ---------------------------------------------------------------- the Reader protocol

    async def inventory(self) -> list[bytes]:
        uids: list[bytes] = []
        reply = await self._exchange(fp.inventory(self.address), "inventory", idempotent=True)
        for _ in range(256):  # bounded: a pad never holds more than a few dozen tags
            result = self._parse(fp.parse_inventory, reply, "inventory")
            uids.extend(entry.uid for entry in result.tags if entry.uid not in uids)
            if not result.more:
                return uids
            reply = await self._exchange(fp.inventory(self.address, more=True), "inventory", idempotent=True)
        raise FeigError("The FEIG reader kept announcing more inventory data; giving up.")

    async def read(self, uid: bytes) -> TagMemory:
        """A tag's memory; before security writes and polls on the line (a stack's items go out sooner)."""
        reply = await self._exchange(
            fp.system_information(uid, self.address), "system info", idempotent=True, priority=READ
        )
        info = self._system_information(reply, uid)
        memory = bytearray()
        first = 0
        while first < info.block_count:
            count = min(MAX_BLOCKS_PER_READ, info.block_count - first)
            reply = await self._exchange(
                fp.read_multiple(uid, first, count, self.address),
                "read blocks",
                idempotent=True,
                priority=READ,
            )
            self._check_addressed(reply, uid, "read blocks")
            blocks = self._parse(
                lambda r: fp.parse_blocks(r, reversed_blocks=self.reversed_blocks), reply, "read blocks"
            )
            memory += blocks.data
            first += count
        return TagMemory(bytes(uid), bytes(memory), info.afi, info.dsfid)

    async def write_blocks(self, uid: bytes, first_block: int, data: bytes) -> None:
        block_size, block_count = await self._block_geometry(uid)
        if first_block < 0 or not data or len(data) % block_size:
            raise ValueError(
                f"write needs a block number >= 0 and whole {block_size}-byte blocks, "
                f"got block {first_block} and {len(data)} bytes"
            )
        if first_block + len(data) // block_size > block_count:
            raise TagWriteError(uid, f"the tag has {block_count} blocks; the data does not fit")
        step = MAX_BYTES_PER_WRITE - MAX_BYTES_PER_WRITE % block_size
        for offset in range(0, len(data), step):
            chunk = data[offset : offset + step]
            request = fp.write_multiple(
                uid,
                first_block + offset // block_size,
                block_size,
                chunk,
                self.address,
                reversed_blocks=self.reversed_blocks,
            )
            reply = await self._exchange(request, "write blocks", idempotent=False)
            self._check_write(reply, uid, "write blocks")

    async def write_afi(self, uid: bytes, afi: int) -> None:
        reply = await self._security(fp.write_afi(uid, afi, self.address), "write AFI")
        self._check_write(reply, uid, "write AFI")

    async def read_afi(self, uid: bytes) -> int:
        """The AFI as the tag reports it now (the read-back of a security write: it goes first too)."""
        reply = await self._security(fp.system_information(uid, self.address), "system info")
        return self._system_information(reply, uid).afi

    async def close(self) -> None:
        async with self._line.hold(POLL):
            self._closed = True
            await asyncio.to_thread(self._close_port)

    # ---------------------------------------------------------------- more than the protocol

    async def system_information(self, uid: bytes) -> fp.SystemInformation:
        reply = await self._exchange(fp.system_information(uid, self.address), "system info", idempotent=True)
        return self._system_information(reply, uid)

    def _system_information(self, reply: fp.Reply, uid: bytes) -> fp.SystemInformation:
        self._check_addressed(reply, uid, "system info")
        info = self._parse(fp.parse_system_information, reply, "system info")
        self._geometry[bytes(uid)] = (info.block_size, info.block_count)
        return info

    async def reader_info(self) -> fp.ReaderInfo:
        reply = await self._exchange(fp.software_version(self.address), "software version", idempotent=True)
        return self._parse(fp.parse_software_version, reply, "software version")

    async def rf_reset(self) -> None:
        reply = await self._exchange(fp.rf_reset(self.address), "RF reset", idempotent=True)
        if reply.status != fp.Status.OK:
            raise FeigStatusError(reply.status, "RF reset")

    # ---------------------------------------------------------------- internals

    async def _block_geometry(self, uid: bytes) -> tuple[int, int]:
        known = self._geometry.get(bytes(uid))
        if known is None:
            info = await self.system_information(uid)
            known = (info.block_size, info.block_count)
        return known

    def _parse(self, parser: Callable[[fp.Reply], _Parsed], reply: fp.Reply, what: str) -> _Parsed:
        if reply.status in (fp.Status.RF_COMMUNICATION_ERROR, fp.Status.RF_WARNING):
            raise FeigRfError(reply.status, what)
        if reply.status == fp.Status.ISO_ERROR:
            code = reply.data[0] if reply.data else -1
            raise FeigStatusError(reply.status, what, f"tag error {fp.ISO_ERRORS.get(code, hex(code))}")
        try:
            return parser(reply)
        except fp.ProtocolError as error:
            raise FeigError(f"The FEIG reader's answer to {what} makes no sense: {error}.") from error

    def _check_addressed(self, reply: fp.Reply, uid: bytes, what: str) -> None:
        if reply.status == fp.Status.NO_TRANSPONDER:
            raise TagNotPresent(uid)

    def _check_write(self, reply: fp.Reply, uid: bytes, what: str) -> None:
        if reply.status == fp.Status.OK:
            return
        if reply.status == fp.Status.NO_TRANSPONDER:
            raise TagNotPresent(uid)
        if reply.status == fp.Status.ISO_ERROR:
            code = reply.data[0] if reply.data else -1
            meaning = fp.ISO_ERRORS.get(code, f"error {code:#04x}")
            raise TagWriteError(uid, f"{what}: the tag answered {meaning}")
        raise TagWriteError(uid, f"{what}: the reader answered {fp.Status.describe(reply.status)}")

    async def _security(self, request: fp.Request, what: str) -> fp.Reply:
        """A security write or read-back: first on the line, grouped with the others waiting for it."""
        if self.command_queue is False:
            idempotent = request.data[0] == fp.ISO_SYSTEM_INFO
            return await self._exchange(request, what, idempotent=idempotent, priority=self.security_priority)
        answer: asyncio.Future[fp.Reply] = asyncio.get_running_loop().create_future()
        self._queued.append((request, answer))
        if self._sender is None:
            self._sender = asyncio.get_running_loop().create_task(self._send_queued(), name="FEIG security")
        return await answer

    async def _send_queued(self) -> None:
        try:
            while self._queued:
                async with self._line.hold(self.security_priority):
                    # Everything that came while waiting for the line goes now, as far as one frame holds.
                    group = [(r, a) for r, a in self._queued if not a.done()]
                    while len(group) > 1 and not fp.queue_fits([r for r, _ in group]):
                        group.pop()
                    taken = {id(a) for _, a in group}
                    self._queued = [(r, a) for r, a in self._queued if id(a) not in taken and not a.done()]
                    if group:
                        await self._send_group(group)
        except BaseException as error:  # cancelled (the station stopping): nobody may wait for ever
            for _, answer in self._queued:
                if not answer.done():
                    answer.set_exception(ReaderUnavailable(f"interrupted ({error!r})"))
            self._queued = []
            raise
        finally:
            self._sender = None

    async def _send_group(self, group: list[tuple[fp.Request, asyncio.Future[fp.Reply]]]) -> None:
        """Hold the line. One command queue for the group (or one frame each, without the queue)."""
        requests = [r for r, _ in group]
        try:
            replies = await self._queue_exchange(requests) if len(group) > 1 else None
            if replies is None:
                replies = [await self._exchange_held(r, "security", idempotent=False) for r in requests]
        except BaseException as error:
            failure = (
                error if isinstance(error, ReaderError) else ReaderUnavailable(f"interrupted ({error!r})")
            )
            for _, answer in group:
                if not answer.done():
                    answer.set_exception(failure)
            if not isinstance(error, ReaderError):
                raise
            return
        for (_, answer), reply in zip(group, replies, strict=True):
            if not answer.done():
                answer.set_result(reply)

    async def _queue_exchange(self, requests: list[fp.Request]) -> list[fp.Reply] | None:
        """The command queue, or None when this reader has none (remembered from then on)."""
        if self.command_queue is False:
            return None
        reply = await self._exchange_held(fp.command_queue(requests, self.address), "queue", idempotent=False)
        if self.command_queue is None:
            self.command_queue = reply.ok
            if not reply.ok:
                return None  # the firmware has no command queue: nothing in it was run
        if not reply.ok:
            raise FeigStatusError(reply.status, "a command queue")
        return self._parse(lambda r: fp.parse_queue_reply(r, len(requests)), reply, "a command queue")

    async def _exchange(
        self, request: fp.Request, what: str, *, idempotent: bool, priority: int = POLL
    ) -> fp.Reply:
        async with self._line.hold(priority):
            return await self._exchange_held(request, what, idempotent=idempotent)

    async def _exchange_held(self, request: fp.Request, what: str, *, idempotent: bool) -> fp.Reply:
        """One request and its reply (retried when idempotent); the caller holds the line."""
        frame = fp.encode_request(request)
        attempts = 1 + (self.retries if idempotent else 0)
        if self._closed:
            raise ReaderUnavailable("the reader has been closed")
        last: ReaderError | None = None
        for _ in range(attempts):
            try:
                self.exchanges += 1
                reply = await asyncio.to_thread(self._transact, frame, request.command)
            except (FeigFrameError, FeigTimeout) as error:
                last = error
                continue
            if idempotent and reply.status == fp.Status.RF_COMMUNICATION_ERROR:
                last = FeigRfError(reply.status, what)
                continue
            return reply
        assert last is not None
        if isinstance(last, FeigRfError):
            # Hand the RF error reply to the caller's status handling.
            raise last
        raise last

    # Everything below runs in a worker thread.

    def _open_port(self) -> Any:
        if self._serial is None:
            try:
                self._serial = self._serial_factory(
                    self.port, baudrate=self.baudrate, bytesize=8, parity="N", stopbits=1, timeout=0.05
                )
            except (serial.SerialException, OSError) as error:
                raise ReaderUnavailable(f"cannot open {self.port}: {error}") from error
            self.port_opens += 1
        return self._serial

    def _close_port(self) -> None:
        port, self._serial = self._serial, None
        if port is not None:
            with contextlib.suppress(serial.SerialException, OSError, termios.error):
                port.close()

    def _transact(self, frame: bytes, command: int) -> fp.Reply:
        port = self._open_port()
        decoder = fp.FrameDecoder(fp.Role.HOST)
        deadline = time.monotonic() + self.timeout
        try:
            port.reset_input_buffer()
            port.write(frame)
            while True:
                event = decoder.next_event()
                if isinstance(event, fp.Reply):
                    if event.command != command:
                        continue  # a stale reply to an earlier, timed-out command
                    return event
                if isinstance(event, fp.CorruptFrame):
                    raise FeigFrameError(f"The FEIG reader's reply was garbled ({event.reason}).")
                if time.monotonic() >= deadline:
                    raise FeigTimeout(f"no answer from the FEIG reader on {self.port} in {self.timeout} s")
                port.timeout = min(0.05, max(0.001, deadline - time.monotonic()))
                chunk = port.read(decoder.bytes_needed())
                if chunk:
                    decoder.receive_data(chunk)
        except (serial.SerialException, OSError, termios.error) as error:
            self._close_port()
            raise ReaderUnavailable(f"the serial device {self.port} went away ({error})") from error
