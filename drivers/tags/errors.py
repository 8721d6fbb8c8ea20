"""Errors raised by the tag data model codecs.

Every decode error carries the raw bytes that were read, so a caller can log them or show them to staff,
and a message written for library staff rather than for programmers.
"""

from __future__ import annotations


class TagDecodeError(Exception):
    """The tag's memory could not be turned into an item or card."""

    def __init__(self, message: str, raw: bytes) -> None:
        super().__init__(message)
        self.message = message
        self.raw = bytes(raw)

    def __str__(self) -> str:
        return self.message


class TagCrcError(TagDecodeError):
    """The checksum stored on the tag does not match its contents: the tag is damaged or half-written."""

    def __init__(self, raw: bytes, stored: int, computed: int) -> None:
        super().__init__(
            f"The tag's data is damaged (checksum stored {stored:#06x}, computed {computed:#06x}). "
            "Re-program the tag at the staff station.",
            raw,
        )
        self.stored = stored
        self.computed = computed


class BlankTag(TagDecodeError):
    """The tag has never been programmed (memory all 0x00 or all 0xFF)."""

    def __init__(self, raw: bytes) -> None:
        super().__init__("The tag is blank: it has not been programmed with an item or card number.", raw)


class UnsupportedTag(TagDecodeError):
    """The tag is written in a data model or version this codec does not read."""

    def __init__(self, raw: bytes, detail: str) -> None:
        super().__init__(f"The tag uses a format this station cannot read: {detail}.", raw)
        self.detail = detail


class MalformedTag(TagDecodeError):
    """The tag's fields make no sense (too short, bad characters, impossible part numbers)."""

    def __init__(self, raw: bytes, detail: str) -> None:
        super().__init__(f"The tag's data is not valid: {detail}.", raw)
        self.detail = detail


class ShortRead(TagDecodeError):
    """Fewer bytes came back than the tag's data needs: the read was cut short (the tag moved, a weak
    field). Nothing was decoded from it; read the tag again."""

    def __init__(self, raw: bytes, detail: str) -> None:
        super().__init__(
            f"The tag was not read completely ({detail}). Hold it still on the pad and read it again.", raw
        )
        self.detail = detail


class UnknownCompaction(UnsupportedTag):
    """An ISO 28560-2 data element is written in a compaction scheme this codec does not read for it:
    reported by name instead of decoded into a wrong value."""

    def __init__(self, raw: bytes, element: str, oid: int, scheme: str) -> None:
        super().__init__(raw, f"its {element} (relative OID {oid}) is written in {scheme} compaction")
        self.element = element
        self.oid = oid
        self.scheme = scheme


class TagEncodeError(ValueError):
    """A tag could not be encoded because a field does not fit the data model."""
