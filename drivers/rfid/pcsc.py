"""PC/SC readers (pyscard): ISO 15693 tags through PC/SC part 3 pseudo-APDUs, one tag at a time.

A PC/SC slot shows one tag at a time: such readers suit patron cards and single-item stations, not stacks.
Every pyscard call blocks, so each runs in a worker thread behind an ``asyncio.Lock``.

The command set per reader model is data (``READER_MODELS``): UID, read and write are PC/SC part 3
(``FF CA``, ``FF B0``, ``FF D6``) and work on most readers; AFI and system information are vendor
commands, present only in models whose manual we have checked. ``virtual-15693`` is the command set of the
virtual tag used in the tests (``drivers.rfid.vicc15693``). A model without AFI commands raises
``AfiNotSupported`` on ``write_afi``/``read_afi``: the station then reports the security write as failed,
it never pretends.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from drivers.rfid.base import ReaderError, ReaderUnavailable, TagMemory, TagNotPresent, TagWriteError

BLOCK_SIZE = 4


@dataclass(frozen=True)
class ReaderModel:
    name: str
    block_size: int = BLOCK_SIZE
    max_read_bytes: int = 64  # per read APDU
    memory_blocks: int = 28  # when the model cannot ask the tag (no system information command)
    write_afi: tuple[int, int, int, int] | None = None  # APDU header; data = the AFI byte
    system_info: tuple[int, int, int, int] | None = None  # APDU header; answer: ISO 15693 system info


READER_MODELS: dict[str, ReaderModel] = {
    "generic": ReaderModel("generic"),
    "virtual-15693": ReaderModel(
        "virtual-15693", write_afi=(0xFF, 0x30, 0x00, 0x27), system_info=(0xFF, 0x30, 0x00, 0x2B)
    ),
}


class PcscError(ReaderError):
    def __init__(self, what: str, sw: int) -> None:
        super().__init__(f"The PC/SC reader answered {sw:04X} to {what}.")
        self.sw = sw


class AfiNotSupported(ReaderError):
    def __init__(self, model: str) -> None:
        super().__init__(
            f"The PC/SC reader model {model!r} has no AFI command configured: the security bit cannot be set."
        )


class PcscReader:
    """A ``Reader`` for one PC/SC slot (``reader_name``: part of the name; "" = the first reader)."""

    def __init__(self, reader_name: str = "", model: str = "generic") -> None:
        if model not in READER_MODELS:
            raise ValueError(f"unknown PC/SC reader model {model!r} (known: {', '.join(READER_MODELS)})")
        self.reader_name = reader_name
        self.model = READER_MODELS[model]
        self._lock = asyncio.Lock()
        self._connection: Any = None
        self._uid: bytes | None = None

    # ---------------------------------------------------------------- the Reader protocol

    async def inventory(self) -> list[bytes]:
        async with self._lock:
            uid = await asyncio.to_thread(self._current_uid)
        return [uid] if uid is not None else []

    async def read(self, uid: bytes) -> TagMemory:
        async with self._lock:
            return await asyncio.to_thread(self._read, uid)

    async def write_blocks(self, uid: bytes, first_block: int, data: bytes) -> None:
        if first_block < 0 or not data or len(data) % self.model.block_size:
            raise ValueError(f"write needs whole {self.model.block_size}-byte blocks, got {len(data)} bytes")
        async with self._lock:
            await asyncio.to_thread(self._write_blocks, uid, first_block, data)

    async def write_afi(self, uid: bytes, afi: int) -> None:
        if self.model.write_afi is None:
            raise AfiNotSupported(self.model.name)
        header = self.model.write_afi
        async with self._lock:
            await asyncio.to_thread(self._expect_tag_and_send, uid, [*header, 1, afi], "write AFI", True)

    async def read_afi(self, uid: bytes) -> int:
        async with self._lock:
            return (await asyncio.to_thread(self._system_info, uid))[1]

    async def wait_for_change(self, timeout: float, known: list[bytes] | None = None) -> bool:
        """Presence event: wait until the slot no longer holds ``known`` (default: what it holds now) -
        a tag arrived, left or was swapped (True) - or ``timeout`` passes (False)."""
        if known is None:
            async with self._lock:
                before = await asyncio.to_thread(self._current_uid)
        else:
            before = known[0] if known else None
        async with self._lock:
            if await asyncio.to_thread(self._current_uid) != before:
                return True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            changed = await asyncio.to_thread(self._status_change, min(0.5, deadline - loop.time()))
            if changed:
                async with self._lock:
                    now = await asyncio.to_thread(self._current_uid)
                if now != before:
                    return True
        return False

    async def close(self) -> None:
        async with self._lock:
            await asyncio.to_thread(self._disconnect)

    # ---------------------------------------------------------------- worker thread

    def _reader(self) -> Any:
        from smartcard.Exceptions import SmartcardException
        from smartcard.System import readers

        try:
            found = readers()
        except SmartcardException as error:
            raise ReaderUnavailable(f"pcscd is not running ({error})") from error
        matching = [r for r in found if self.reader_name in str(r)]
        if not matching:
            names = ", ".join(str(r) for r in found) or "none"
            raise ReaderUnavailable(f"no PC/SC reader matching {self.reader_name!r} (readers: {names})")
        return matching[0]

    def _current_uid(self) -> bytes | None:
        from smartcard.Exceptions import CardConnectionException, NoCardException

        self._disconnect()
        try:
            connection = self._reader().createConnection()
            connection.connect()
        except (NoCardException, CardConnectionException):
            return None
        self._connection = connection
        data, sw1, sw2 = connection.transmit([0xFF, 0xCA, 0x00, 0x00, 0x00])
        if (sw1, sw2) != (0x90, 0x00):
            raise PcscError("get UID", sw1 << 8 | sw2)
        self._uid = bytes(data)[::-1]  # LSB first from the reader, MSB first for us
        return self._uid

    def _disconnect(self) -> None:
        connection, self._connection, self._uid = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):  # the card may already be gone; nothing to do about it
                connection.disconnect()

    def _expect_tag_and_send(self, uid: bytes, apdu: list[int], what: str, write: bool = False) -> bytes:
        from smartcard.Exceptions import CardConnectionException

        stale = self._connection is None or self._uid != bytes(uid)
        if stale and self._current_uid() != bytes(uid):
            raise TagNotPresent(uid)
        try:
            data, sw1, sw2 = self._connection.transmit(apdu)
        except CardConnectionException as error:
            self._disconnect()
            raise TagNotPresent(uid) from error
        if (sw1, sw2) != (0x90, 0x00):
            if write:
                raise TagWriteError(uid, f"{what}: the reader answered {sw1:02X}{sw2:02X}")
            raise PcscError(what, sw1 << 8 | sw2)
        return bytes(data)

    def _system_info(self, uid: bytes) -> tuple[int, int, int]:
        """(DSFID, AFI, blocks) from the tag, where the model has a command for it."""
        if self.model.system_info is None:
            raise AfiNotSupported(self.model.name)
        info = self._expect_tag_and_send(uid, [*self.model.system_info, 0], "system information")
        if len(info) < 15:
            raise PcscError("system information (short answer)", 0x9000)
        return info[10], info[11], info[12] + 1

    def _read(self, uid: bytes) -> TagMemory:
        dsfid, afi, blocks = 0, -1, self.model.memory_blocks
        if self.model.system_info is not None:
            dsfid, afi, blocks = self._system_info(uid)
        size = self.model.block_size
        memory = bytearray()
        per = max(1, self.model.max_read_bytes // size)
        for first in range(0, blocks, per):
            count = min(per, blocks - first)
            memory += self._expect_tag_and_send(uid, [0xFF, 0xB0, 0x00, first, count * size], "read")
        return TagMemory(bytes(uid), bytes(memory), afi, dsfid)

    def _write_blocks(self, uid: bytes, first_block: int, data: bytes) -> None:
        size = self.model.block_size
        for offset in range(0, len(data), size):
            block = first_block + offset // size
            chunk = list(data[offset : offset + size])
            self._expect_tag_and_send(uid, [0xFF, 0xD6, 0x00, block, size, *chunk], "write", True)

    def _status_change(self, timeout: float) -> bool:
        from smartcard.scard import (
            SCARD_S_SUCCESS,
            SCARD_SCOPE_USER,
            SCARD_STATE_CHANGED,
            SCARD_STATE_UNAWARE,
            SCardEstablishContext,
            SCardGetStatusChange,
            SCardReleaseContext,
        )

        name = str(self._reader())
        result, context = SCardEstablishContext(SCARD_SCOPE_USER)
        if result != SCARD_S_SUCCESS:
            raise ReaderUnavailable("cannot talk to pcscd")
        try:
            result, states = SCardGetStatusChange(context, 0, [(name, SCARD_STATE_UNAWARE)])
            if result != SCARD_S_SUCCESS:
                return False
            current = states[0][1] & ~SCARD_STATE_CHANGED
            result, states = SCardGetStatusChange(context, int(timeout * 1000), [(name, current)])
            return result == SCARD_S_SUCCESS and bool(states[0][1] & SCARD_STATE_CHANGED)
        finally:
            SCardReleaseContext(context)
