"""RFID readers behind one ``Reader`` protocol."""

from drivers.rfid.base import (
    AFI_IN_LIBRARY,
    AFI_ON_LOAN,
    Reader,
    ReaderError,
    ReaderUnavailable,
    TagMemory,
    TagNotPresent,
    TagWriteError,
)

__all__ = [
    "AFI_IN_LIBRARY",
    "AFI_ON_LOAN",
    "Reader",
    "ReaderError",
    "ReaderUnavailable",
    "TagMemory",
    "TagNotPresent",
    "TagWriteError",
]
