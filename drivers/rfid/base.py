"""The RFID reader protocol every reader driver (PC/SC, FEIG, simulator) implements.

UIDs are 8-byte ISO 15693 UIDs in **MSB-first order**: ``uid[0] == 0xE0``, then the manufacturer code
(0x04 = NXP), as printed on labels and shown by most tools. ISO 15693 sends the UID least significant byte
first over the air and many readers hand it over that way: each driver converts at its own boundary.

Tag user memory is handled as bytes in block order (block 0 first); AFI is the ISO 15693 Application Family
Identifier used as the theft-alarm bit by libraries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

AFI_ON_LOAN = 0xC2
"""Written at checkout: the security gates stay quiet."""

AFI_IN_LIBRARY = 0x07
"""Written at return: the security gates alarm if the item leaves unborrowed."""


def afi_hex(afi: int) -> str:
    """An AFI as people write it, ``0x07``; ``unknown`` when the reader cannot read it (it reports -1)."""
    return "unknown" if afi < 0 else f"0x{afi:02X}"


def format_uid(uid: bytes) -> str:
    """A UID as staff and logs see it: upper-case hex, MSB first, e.g. ``E004010000000001``."""
    return uid.hex().upper()


@dataclass(frozen=True)
class TagMemory:
    """What one read of a tag returns: its UID, all of its user memory in block order, and its AFI."""

    uid: bytes
    data: bytes
    afi: int
    dsfid: int = 0  # data storage format id (0x06: ISO 28560-2), where the reader reports it


@runtime_checkable
class Reader(Protocol):
    """An RFID pad that sees every tag in its field at once (a PC/SC slot sees one at a time)."""

    async def inventory(self) -> list[bytes]:
        """UIDs of all tags currently in the field."""
        ...

    async def read(self, uid: bytes) -> TagMemory:
        """User memory and AFI of one tag. Raises ``TagNotPresent`` if it has left the field."""
        ...

    async def write_blocks(self, uid: bytes, first_block: int, data: bytes) -> None:
        """Write ``data`` (a whole number of blocks) starting at ``first_block``."""
        ...

    async def write_afi(self, uid: bytes, afi: int) -> None:
        """Set the tag's AFI (callers verify with ``read_afi``: a write can fail silently on the air)."""
        ...

    async def read_afi(self, uid: bytes) -> int: ...

    async def close(self) -> None: ...


class ReaderError(Exception):
    """Something went wrong talking to the reader or a tag."""


class TagNotPresent(ReaderError):
    """The tag is no longer in the reader's field (the patron lifted the book)."""

    def __init__(self, uid: bytes) -> None:
        super().__init__(f"Tag {format_uid(uid)} is no longer on the reader.")
        self.uid = uid


class TagWriteError(ReaderError):
    """The tag did not accept a write (AFI or data): it may be locked, damaged or at the edge of the field."""

    def __init__(self, uid: bytes, detail: str) -> None:
        super().__init__(f"Could not write to tag {format_uid(uid)}: {detail}.")
        self.uid = uid
        self.detail = detail


class ReaderUnavailable(ReaderError):
    """The reader does not answer at all (unplugged, powered off, driver gone)."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"The RFID reader is not available: {detail}.")
        self.detail = detail
