"""What reading and writing tags share: the errors staff see, the constants, the tolerant decode."""

from __future__ import annotations

from drivers.tags import iso28560_3
from drivers.tags.errors import TagDecodeError
from drivers.tags.iso28560_3 import DecodedDanishTag, TypeOfUsage
from drivers.tags.model import UnreadableTag

BLOCK_SIZE = 4  # ISO 15693 library tags (NXP ICODE SLIX and friends)
NOR_RFID_COUNTRY = iso28560_3.NOR_RFID_COUNTRY
AFI_UNKNOWN = -1  # what a reader reports when it cannot read the AFI (PC/SC models without the command)


class TaggingError(Exception):
    """The tags could not be written; the message is one line for staff and names the tag."""


class TaggingRefused(TaggingError):
    """Nothing was written: the pad does not hold what the command asks for, or a tag is not ours."""

    def __init__(self, message: str, *, needs_force: bool = False) -> None:
        super().__init__(message)
        self.needs_force = needs_force


class TaggingFailed(TaggingError):
    """Writing started but a tag did not take it (lifted, locked, did not read back)."""


def usage_name(value: int | str) -> str:
    if isinstance(value, int) and value in TypeOfUsage._value2member_map_:
        return TypeOfUsage(value).name.lower().replace("_", " ")
    return ""


def decode_danish(raw: bytes) -> DecodedDanishTag | None:
    try:
        return iso28560_3.decode_tolerant(raw)
    except TagDecodeError:
        return None
    except Exception:  # a codec bug must not stop the tagging station; decode_any reports the tag
        return None


def unreadable_kind(decoded: UnreadableTag) -> str:
    """What kind of problem ``decode_any`` found (``UNREADABLE_KINDS``): blank, damaged, ..."""
    return decoded.kind or "undecodable"
