"""The FEIG ISO host protocol's vocabulary: command and status codes, and the typed frames.

The codec (``drivers.rfid.feig_protocol``, which re-exports everything here) turns bytes into these frames
and back; the reply bodies are ``drivers.rfid.feig_bodies``.
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
CMD_COMMAND_QUEUE: Final = 0xBC  # several addressed ISO commands in one exchange (see feig_protocol)

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


class NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = NeedData()

Event = Request | Reply | CorruptFrame


class ProtocolError(ValueError):
    """A frame or field cannot be encoded or a reply's contents are impossible."""


def check_byte(name: str, value: int) -> None:
    if not 0 <= value <= 0xFF:
        raise ProtocolError(f"{name} must be one byte (0..255), got {value}")


def check_uid(uid: bytes) -> None:
    if len(uid) != UID_LENGTH:
        raise ProtocolError(f"an ISO 15693 UID is {UID_LENGTH} bytes, got {len(uid)}")
