"""A simulated FEIG reader with its pad, served on a pty: the driver talks pyserial to it as to the real one.

The simulator is the reader side of ``drivers.rfid.feig_protocol``. It runs in its own thread (so it serves
async tests, the demo and the synchronous benchmark alike), answers every frame after the time its
**timing model** says the serial line and the air interface would take, and fails on request the way the
hardware fails:

- ``Fault.NO_TRANSPONDER``: the next addressed command finds no tag (status 0x01);
- ``Fault.RF_ERROR``: the next command fails on the air (status 0x83);
- ``Fault.CORRUPT_FRAME``: the next reply leaves with a broken CRC;
- ``Fault.REMOVED_MID_WRITE``: the next multi-block write stores only its first half, then the tag leaves
  the field and the reply says no transponder;
- ``Fault.WRITE_LOST``: the next write is acknowledged but the tag did not store it (a weak field): only
  reading back shows it;
- ``unplug()`` / ``replug()``: the USB serial device disappears (the pty is closed and its stable path
  removed) and comes back under the same path with a new pty behind it.

The stable path (``SimulatedFeigReader.path``) is a symlink, like ``/dev/serial/by-id/...`` on a kiosk.
"""

from __future__ import annotations

import contextlib
import os
import select
import tempfile
import threading
import time
import tty
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from drivers.rfid import feig_protocol as fp
from drivers.rfid.base import AFI_IN_LIBRARY, format_uid
from drivers.rfid.feig_air import BLOCK_SIZE, DEFAULT_BLOCKS, NO_DELAY, AirTiming, Fault, VirtualTag


@dataclass
class _Stats:
    frames: int = 0
    modelled_seconds: float = 0.0
    by_command: dict[str, int] = field(default_factory=dict)


class SimulatedFeigReader:
    """A FEIG ID ISC reader with a pad, on a pty. Use as a context manager (or ``start``/``stop``)."""

    def __init__(
        self,
        *,
        timing: AirTiming = NO_DELAY,
        address: int = fp.ADDRESS_BROADCAST,
        max_tags_per_reply: int = 4,
        reversed_blocks: bool = False,
        directory: Path | None = None,
        firmware: tuple[int, int, int] = (3, 0, 5),
        command_queue: bool = True,
    ) -> None:
        if max_tags_per_reply < 1:
            raise ValueError("max_tags_per_reply must be at least 1")
        self.timing = timing
        self.address = address
        self.max_tags_per_reply = max_tags_per_reply
        self.reversed_blocks = reversed_blocks
        self.firmware = firmware
        self.command_queue = command_queue  # False: firmware without the command queue (answers DATA_FALSE)
        self._corrupt_reply = False  # a queued command drew CORRUPT_FRAME: the whole reply leaves broken
        self._own_dir = directory is None
        self._dir = Path(tempfile.mkdtemp(prefix="feig-sim-")) if directory is None else directory
        self.path = str(self._dir / "ttyFEIG0")
        self._lock = threading.Lock()
        self._tags: dict[bytes, VirtualTag] = {}
        self._faults: deque[tuple[Fault, int | None]] = deque()
        self._pending_inventory: list[fp.InventoryEntry] = []
        self._master: int | None = None
        self._slave: int | None = None
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = os.pipe()
        self._running = False
        self.stats = _Stats()
        self.rf_on = True

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> SimulatedFeigReader:
        self._open_pty()
        self._running = True
        self._thread = threading.Thread(target=self._serve, name="feig-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._running = False
        os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._close_pty()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self._own_dir:
            with contextlib.suppress(OSError):
                self._dir.rmdir()

    def __enter__(self) -> SimulatedFeigReader:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def unplug(self) -> None:
        """The USB serial device disappears: the open port dies, the path is gone."""
        with self._lock:
            self._close_pty()
        os.write(self._wake_w, b"x")

    def replug(self) -> None:
        """The device comes back under the same path (with a new pty behind it, as after a real replug)."""
        with self._lock:
            if self._master is None:
                self._open_pty()
        os.write(self._wake_w, b"x")

    @property
    def plugged_in(self) -> bool:
        return self._master is not None

    # ---------------------------------------------------------------- the pad

    def place(
        self,
        uid: bytes,
        data: bytes = b"",
        afi: int = AFI_IN_LIBRARY,
        *,
        blocks: int = DEFAULT_BLOCKS,
        dsfid: int = 0,
    ) -> None:
        if len(uid) != fp.UID_LENGTH:
            raise ValueError(f"an ISO 15693 UID is 8 bytes, got {len(uid)}")
        size = blocks * BLOCK_SIZE
        if len(data) > size:
            raise ValueError(f"{len(data)} bytes do not fit in {blocks} blocks")
        memory = bytearray(size)
        memory[: len(data)] = data
        with self._lock:
            self._tags[bytes(uid)] = VirtualTag(bytes(uid), memory, afi, dsfid)

    def remove(self, uid: bytes) -> None:
        with self._lock:
            if self._tags.pop(bytes(uid), None) is None:
                raise KeyError(f"tag {format_uid(uid)} is not on the pad")

    def clear(self) -> None:
        with self._lock:
            self._tags.clear()

    def tag(self, uid: bytes) -> VirtualTag:
        """A copy of a tag's state as the simulator holds it (what a test checks after a write)."""
        with self._lock:
            tag = self._tags[bytes(uid)]
            return VirtualTag(tag.uid, bytearray(tag.memory), tag.afi, tag.dsfid, tag.block_size)

    def uids(self) -> list[bytes]:
        with self._lock:
            return list(self._tags)

    def inject(self, fault: Fault, times: int = 1, *, on: int | None = None) -> None:
        """Queue ``fault`` for the next ``times`` commands (only ISO command ``on``, e.g. 0x27, if given)."""
        with self._lock:
            self._faults.extend([(fault, on)] * times)

    def _take_fault(self, request: fp.Request) -> Fault | None:
        iso = request.data[0] if request.command == fp.CMD_ISO_HOST and request.data else None
        for index, (fault, on) in enumerate(self._faults):
            if on is None or on == iso:
                del self._faults[index]
                return fault
        return None

    def pending_faults(self) -> int:
        with self._lock:
            return len(self._faults)

    # ---------------------------------------------------------------- the pty

    def _open_pty(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        self._master, self._slave = master, slave
        link = Path(self.path)
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        link.symlink_to(os.ttyname(slave))

    def _close_pty(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            Path(self.path).unlink()
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None

    def _serve(self) -> None:
        decoder = fp.FrameDecoder(fp.Role.READER)
        current: int | None = None
        while self._running:
            master = self._master
            if master != current:
                decoder.clear()  # a new device: nothing carries over
                current = master
            watch = [self._wake_r] + ([master] if master is not None else [])
            try:
                readable, _, _ = select.select(watch, [], [], 0.5)
            except (OSError, ValueError):
                continue
            if self._wake_r in readable:
                os.read(self._wake_r, 64)
            if master is None or master not in readable:
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:
                continue  # the pty was closed under us (unplug)
            decoder.receive_data(chunk)
            while True:
                event = decoder.next_event()
                if isinstance(event, fp.Request):
                    reply, modelled = self._answer(event)
                    if reply is not None:
                        self._send(master, reply, modelled)
                elif isinstance(event, fp.CorruptFrame):
                    continue  # a real reader stays silent on a bad frame; the host times out
                else:
                    break

    def _send(self, master: int, frame: bytes, modelled: float) -> None:
        delay = modelled + self.timing.serial_time(len(frame))
        if delay > 0:
            time.sleep(delay)
        with self._lock:
            self.stats.modelled_seconds += delay
        with contextlib.suppress(OSError):
            os.write(master, frame)

    # ---------------------------------------------------------------- the reader's firmware

    def _answer(self, request: fp.Request) -> tuple[bytes | None, float]:
        if request.address not in (self.address, fp.ADDRESS_BROADCAST):
            return None, 0.0
        with self._lock:
            self.stats.frames += 1
            queued = request.command == fp.CMD_COMMAND_QUEUE and self.command_queue
            fault = None if queued else self._take_fault(request)  # queued: each command draws its own
            reply, modelled = self._execute_queue(request) if queued else self._execute(request, fault)
            corrupt, self._corrupt_reply = fault is Fault.CORRUPT_FRAME or self._corrupt_reply, False
        frame = fp.encode_reply(reply)
        if corrupt:
            frame = frame[:-1] + bytes([frame[-1] ^ 0xFF])
        # Time on the wire for the request too: the host waited for it to be sent.
        return frame, modelled + self.timing.serial_time(len(fp.encode_request(request)))

    def _reply(self, request: fp.Request, status: int, data: bytes = b"") -> fp.Reply:
        return fp.Reply(self.address, request.command, status, data)

    def _execute(self, request: fp.Request, fault: Fault | None) -> tuple[fp.Reply, float]:
        t = self.timing
        name = f"{request.command:02X}" + (f"/{request.data[0]:02X}" if request.data else "")
        self.stats.by_command[name] = self.stats.by_command.get(name, 0) + 1
        if request.command == fp.CMD_SOFTWARE_VERSION:
            major, minor, dev = self.firmware
            return self._reply(request, fp.Status.OK, bytes([major, minor, dev, 0x4C, 0x01, 0x00, 0x08])), 0.0
        if request.command == fp.CMD_RF_RESET:
            self._pending_inventory = []
            return self._reply(request, fp.Status.OK), t.command_overhead
        if request.command != fp.CMD_ISO_HOST or len(request.data) < 2:
            return self._reply(request, fp.Status.DATA_FALSE), 0.0
        if fault is Fault.RF_ERROR:
            return self._reply(request, fp.Status.RF_COMMUNICATION_ERROR), t.command_overhead
        iso, mode = request.data[0], request.data[1]
        if iso == fp.ISO_INVENTORY:
            return self._inventory(request, more=bool(mode & fp.MODE_MORE), fault=fault)
        if len(request.data) < 10:
            return self._reply(request, fp.Status.DATA_FALSE), 0.0
        uid = request.data[2:10]
        tag = self._tags.get(uid)
        if tag is None or fault is Fault.NO_TRANSPONDER:
            return self._reply(request, fp.Status.NO_TRANSPONDER), t.command_overhead + 12 * t.air_byte
        if iso == fp.ISO_READ_MULTIPLE and len(request.data) == 12:
            first, count = request.data[10], request.data[11]
            if first + count > tag.block_count:
                return self._reply(request, fp.Status.ISO_ERROR, b"\x10"), t.read_time(0, tag.block_size)
            memory = tag.memory[first * tag.block_size : (first + count) * tag.block_size]
            body = fp.encode_block_data(bytes(memory), tag.block_size, reversed_blocks=self.reversed_blocks)
            return self._reply(request, fp.Status.OK, body), t.read_time(count, tag.block_size)
        if iso == fp.ISO_WRITE_MULTIPLE:
            try:
                _, first, size, data = fp.parse_write_multiple(request, reversed_blocks=self.reversed_blocks)
            except fp.ProtocolError:
                return self._reply(request, fp.Status.DATA_FALSE), 0.0
            count = len(data) // size
            if size != tag.block_size or first + count > tag.block_count:
                return self._reply(request, fp.Status.ISO_ERROR, b"\x10"), t.write_time(0, tag.block_size)
            start = first * size
            if fault is Fault.REMOVED_MID_WRITE:
                half = max(1, count // 2) * size
                tag.memory[start : start + half] = data[:half]
                del self._tags[uid]
                return self._reply(request, fp.Status.NO_TRANSPONDER), t.write_time(count // 2, size)
            if fault is not Fault.WRITE_LOST:
                tag.memory[start : start + len(data)] = data
            return self._reply(request, fp.Status.OK), t.write_time(count, size)
        if iso == fp.ISO_WRITE_AFI and len(request.data) == 11:
            if fault is not Fault.WRITE_LOST:
                tag.afi = request.data[10]
            return self._reply(request, fp.Status.OK), t.afi_time()
        if iso == fp.ISO_SYSTEM_INFO:
            info = fp.SystemInformation(
                tag.uid, tag.dsfid, tag.afi, tag.block_size, tag.block_count, tag.ic_reference
            )
            body = fp.encode_system_information(info)
            return self._reply(request, fp.Status.OK, body), t.system_info_time()
        return self._reply(request, fp.Status.ISO_ERROR, b"\x01"), t.command_overhead

    def _execute_queue(self, request: fp.Request) -> tuple[fp.Reply, float]:
        """The queued ISO commands one after the other on the air, answered in one frame."""
        self.stats.by_command["BC"] = self.stats.by_command.get("BC", 0) + 1
        try:
            commands = fp.parse_queue_request(request)
        except fp.ProtocolError:
            return self._reply(request, fp.Status.DATA_FALSE), 0.0
        if not fp.queue_fits(commands):
            return self._reply(request, fp.Status.DATA_FALSE), 0.0
        replies, modelled = [], 0.0
        for command in commands:
            fault = self._take_fault(command)
            self._corrupt_reply |= fault is Fault.CORRUPT_FRAME
            reply, seconds = self._execute(command, fault)
            replies.append(reply)
            modelled += seconds
        return self._reply(request, fp.Status.OK, fp.encode_queue_reply(replies)), modelled

    def _inventory(self, request: fp.Request, *, more: bool, fault: Fault | None) -> tuple[fp.Reply, float]:
        t = self.timing
        if more and self._pending_inventory:
            batch = self._pending_inventory[: self.max_tags_per_reply]
            self._pending_inventory = self._pending_inventory[self.max_tags_per_reply :]
            status = fp.Status.MORE_DATA if self._pending_inventory else fp.Status.OK
            return self._reply(request, status, fp.encode_inventory_data(batch)), 0.0
        found = [fp.InventoryEntry(tag.uid, tag.dsfid) for tag in self._tags.values()]
        modelled = t.inventory_time(len(found))
        if not found or fault is Fault.NO_TRANSPONDER:
            self._pending_inventory = []
            return self._reply(request, fp.Status.NO_TRANSPONDER), modelled
        batch, self._pending_inventory = found[: self.max_tags_per_reply], found[self.max_tags_per_reply :]
        status = fp.Status.MORE_DATA if self._pending_inventory else fp.Status.OK
        return self._reply(request, status, fp.encode_inventory_data(batch)), modelled


__all__ = [
    "BLOCK_SIZE",
    "DEFAULT_BLOCKS",
    "NO_DELAY",
    "AirTiming",
    "Fault",
    "SimulatedFeigReader",
    "VirtualTag",
]
