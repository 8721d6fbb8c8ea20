"""An in-process RFID pad for tests and the demo: place and remove tags, inject faults.

It keeps what a real ISO 15693 tag keeps (user memory in 4-byte blocks, an AFI) and fails the way real
hardware fails (tag lifted mid-operation, AFI write refused, reader unplugged), through the same ``Reader``
protocol and error types as the hardware drivers.

All methods must be called from the event loop's thread (the placing methods are synchronous so a test or
the demo panel can call them directly).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from drivers.rfid.base import (
    AFI_IN_LIBRARY,
    ReaderUnavailable,
    TagMemory,
    TagNotPresent,
    TagWriteError,
    format_uid,
)

BLOCK_SIZE = 4
DEFAULT_MEMORY_BLOCKS = 28
"""112 bytes of user memory, like an NXP ICODE SLIX, the common library tag."""

UID_LENGTH = 8
_SIM_UID_PREFIX = bytes([0xE0, 0x04, 0x01])  # ISO 15693 marker, NXP, ICODE family


def make_uid(n: int) -> bytes:
    """A deterministic 8-byte ISO 15693 UID, MSB first: ``E0 04 01`` then ``n`` as 5 big-endian bytes.

    ``make_uid(1).hex() == "e004010000000001"``.
    """
    if not 0 <= n < 1 << 40:
        raise ValueError(f"UID number must be 0..2**40-1, got {n}")
    return _SIM_UID_PREFIX + n.to_bytes(5, "big")


@dataclass
class _SimTag:
    memory: bytearray
    afi: int
    failing_afi_writes: int = 0


class SimulatedPad:
    """A ``Reader`` whose field holds whatever tags the test or demo placed on it."""

    def __init__(self, *, operation_delay: float = 0.0, memory_blocks: int = DEFAULT_MEMORY_BLOCKS) -> None:
        if operation_delay < 0:
            raise ValueError(f"operation delay cannot be negative, got {operation_delay}")
        if memory_blocks < 1:
            raise ValueError(f"a tag needs at least one block of memory, got {memory_blocks}")
        self.operation_delay = operation_delay
        self.memory_blocks = memory_blocks
        self._tags: dict[bytes, _SimTag] = {}
        self._plugged_in = True
        self._closed = False
        self._change_count = 0
        self._changed = asyncio.Event()

    # --- what the test / demo does -------------------------------------------------------------------

    def place(
        self, uid: bytes, data: bytes, afi: int = AFI_IN_LIBRARY, *, memory_blocks: int | None = None
    ) -> None:
        """Put a tag on the pad (or replace the one with this UID); ``data`` is zero-padded to memory size."""
        _check_uid(uid)
        _check_afi(afi)
        blocks = self.memory_blocks if memory_blocks is None else memory_blocks
        size = blocks * BLOCK_SIZE
        if len(data) > size:
            raise ValueError(f"{len(data)} bytes do not fit in a tag of {blocks} blocks ({size} bytes)")
        memory = bytearray(size)
        memory[: len(data)] = data
        self._tags[bytes(uid)] = _SimTag(memory=memory, afi=afi)
        self._note_change()

    def remove(self, uid: bytes) -> None:
        """Lift a tag off the pad. Removing a tag that is not there is an error in the test."""
        if uid not in self._tags:
            raise KeyError(f"tag {format_uid(uid)} is not on the pad")
        del self._tags[uid]
        self._note_change()

    def clear(self) -> None:
        """Lift everything off the pad."""
        if self._tags:
            self._tags.clear()
            self._note_change()

    def tags(self) -> list[TagMemory]:
        """A snapshot of every tag on the pad, in the order they were placed (ignores unplug and faults)."""
        return [TagMemory(uid, bytes(tag.memory), tag.afi) for uid, tag in self._tags.items()]

    def fail_next_afi_writes(self, uid: bytes, count: int) -> None:
        """The next ``count`` AFI writes to this tag raise ``TagWriteError``; the AFI stays as it was."""
        if count < 0:
            raise ValueError(f"count cannot be negative, got {count}")
        self._tag(uid).failing_afi_writes = count

    def unplug(self) -> None:
        """Every operation now raises ``ReaderUnavailable`` until ``replug``; the tags stay where they are."""
        self._plugged_in = False

    def replug(self) -> None:
        self._plugged_in = True

    @property
    def change_count(self) -> int:
        """Goes up by one whenever a tag is placed, replaced or removed."""
        return self._change_count

    async def wait_changed(self, since: int | None = None, timeout: float | None = None) -> bool:
        """Wait until ``change_count`` differs from ``since`` (default: its value now).

        Returns True when the pad changed, False on timeout. Passing the count you last saw means a change
        that happened between your inventory and this call is not missed.
        """
        seen = self._change_count if since is None else since
        try:
            async with asyncio.timeout(timeout):
                while self._change_count == seen:
                    await self._changed.wait()
        except TimeoutError:
            return False
        return True

    # --- the Reader protocol ---------------------------------------------------------------------------

    async def inventory(self) -> list[bytes]:
        await self._operate()
        return list(self._tags)

    async def read(self, uid: bytes) -> TagMemory:
        await self._operate()
        tag = self._present(uid)
        return TagMemory(bytes(uid), bytes(tag.memory), tag.afi)

    async def write_blocks(self, uid: bytes, first_block: int, data: bytes) -> None:
        if first_block < 0:
            raise ValueError(f"block number cannot be negative, got {first_block}")
        if not data or len(data) % BLOCK_SIZE:
            raise ValueError(
                f"data must be a whole number of {BLOCK_SIZE}-byte blocks, got {len(data)} bytes"
            )
        await self._operate()
        tag = self._present(uid)
        start = first_block * BLOCK_SIZE
        if start + len(data) > len(tag.memory):
            # A real tag answers "block not available" (ISO 15693 error 0x10) and writes nothing.
            raise TagWriteError(
                uid,
                f"blocks {first_block}..{first_block + len(data) // BLOCK_SIZE - 1} are beyond the tag's "
                f"{len(tag.memory) // BLOCK_SIZE} blocks",
            )
        tag.memory[start : start + len(data)] = data

    async def write_afi(self, uid: bytes, afi: int) -> None:
        _check_afi(afi)
        await self._operate()
        tag = self._present(uid)
        if tag.failing_afi_writes:
            tag.failing_afi_writes -= 1
            raise TagWriteError(uid, "the tag did not acknowledge the AFI write (simulated fault)")
        tag.afi = afi

    async def read_afi(self, uid: bytes) -> int:
        await self._operate()
        return self._present(uid).afi

    async def close(self) -> None:
        self._closed = True

    # --- internals ------------------------------------------------------------------------------------

    async def _operate(self) -> None:
        if self.operation_delay:
            await asyncio.sleep(self.operation_delay)
        # Checked after the delay: a reader unplugged mid-command fails that command.
        if self._closed:
            raise ReaderUnavailable("the reader has been closed")
        if not self._plugged_in:
            raise ReaderUnavailable("the reader is unplugged (simulated)")

    def _present(self, uid: bytes) -> _SimTag:
        tag = self._tags.get(bytes(uid))
        if tag is None:
            raise TagNotPresent(uid)
        return tag

    def _tag(self, uid: bytes) -> _SimTag:
        try:
            return self._tags[bytes(uid)]
        except KeyError:
            raise KeyError(f"tag {format_uid(uid)} is not on the pad") from None

    def _note_change(self) -> None:
        self._change_count += 1
        # Wake every current waiter, then start a fresh event for the next change.
        self._changed.set()
        self._changed = asyncio.Event()


def _check_uid(uid: bytes) -> None:
    if len(uid) != UID_LENGTH:
        raise ValueError(f"an ISO 15693 UID is {UID_LENGTH} bytes, got {len(uid)}: {uid.hex()}")


def _check_afi(afi: int) -> None:
    if not 0 <= afi <= 0xFF:
        raise ValueError(f"AFI must be one byte (0..255), got {afi}")
