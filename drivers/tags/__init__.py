"""Tag data models as pure codecs (bytes in, values out; no I/O)."""

from drivers.tags.crc import crc16_ccitt
from drivers.tags.errors import (
    BlankTag,
    MalformedTag,
    TagCrcError,
    TagDecodeError,
    TagEncodeError,
    UnsupportedTag,
)
from drivers.tags.iso28560_3 import DanishTag, TypeOfUsage

__all__ = [
    "BlankTag",
    "DanishTag",
    "MalformedTag",
    "TagCrcError",
    "TagDecodeError",
    "TagEncodeError",
    "TypeOfUsage",
    "UnsupportedTag",
    "crc16_ccitt",
]
