"""Tag data models as pure codecs (bytes in, values out; no I/O)."""

from drivers.tags.crc import crc16_ccitt
from drivers.tags.errors import (
    BlankTag,
    MalformedTag,
    ShortRead,
    TagCrcError,
    TagDecodeError,
    TagEncodeError,
    UnknownCompaction,
    UnsupportedTag,
)
from drivers.tags.iso28560_3 import DanishTag, TypeOfUsage
from drivers.tags.library import library_number, normalise_library_id, same_library

__all__ = [
    "BlankTag",
    "DanishTag",
    "MalformedTag",
    "ShortRead",
    "TagCrcError",
    "TagDecodeError",
    "TagEncodeError",
    "TypeOfUsage",
    "UnknownCompaction",
    "UnsupportedTag",
    "crc16_ccitt",
    "library_number",
    "normalise_library_id",
    "same_library",
]
