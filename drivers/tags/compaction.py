"""The ISO/IEC 15962 compaction schemes that ISO 28560-2 data sets use (pure functions).

Scheme numbers are the precursor's bits 6..4::

    0 application-defined (ISO 28560-2 defines it per data element: ISIL, type of usage, content parameter)
    1 integer: big-endian binary of a decimal number without leading zeros (``1203`` -> ``04 B3``)
    2 numeric: decimal digits, two per byte, an odd count ends with the nibble 0xF (keeps leading zeros)
    3 5-bit code (0x40..0x5F), 4 6-bit code (0x20..0x5F), 5 7-bit code (ASCII)
    6 octet string (ISO/IEC 8859-1 text), 7 UTF-8

The bit codes are packed most significant bit first. The filler at the end is the leading bits of the
code's "nothing" character (6-bit: a space, ``10`` in Annex D's ``QA268.L55``; 5- and 7-bit: zeros); a
whole filler character is dropped on reading, and so is a 7-bit 0x7F, which other encoders write when
they fill with 1-bits (0x7F is DEL, never text). Integer and 6-bit are checked against ISO 28560-2
Annex D; numeric, 5- and 7-bit against no published vector yet.
"""

from __future__ import annotations

import enum

from drivers.tags.errors import TagEncodeError

__all__ = ["BIT_WIDTHS", "TEXT_SCHEMES", "Compaction", "best_compaction", "compact", "decompact"]


class Compaction(enum.IntEnum):
    APPLICATION = 0
    INTEGER = 1
    NUMERIC = 2
    FIVE_BIT = 3
    SIX_BIT = 4
    SEVEN_BIT = 5
    OCTETS = 6
    UTF8 = 7


BIT_WIDTHS = {Compaction.FIVE_BIT: 5, Compaction.SIX_BIT: 6, Compaction.SEVEN_BIT: 7}
# The schemes that hold text (every one but application-defined).
TEXT_SCHEMES = frozenset(Compaction) - {Compaction.APPLICATION}


def _decode_bits(data: bytes, width: int) -> str:
    bits = int.from_bytes(data, "big")
    total = len(data) * 8
    chars = []
    for i in range(total // width):
        value = (bits >> (total - (i + 1) * width)) & ((1 << width) - 1)
        if width == 5:
            chars.append(chr(0x40 + value))
        elif width == 6:
            chars.append(chr(value + 0x40 if value < 0x20 else value))
        else:
            chars.append(chr(value))
    text = "".join(chars)
    if width == 7 and text.endswith("\x7f"):
        return text[:-1]  # a whole filler character of 1-bits
    return text.rstrip({5: "@", 6: " ", 7: "\x00"}[width])


def _code_value(char: str, width: int) -> int:
    code = ord(char)
    if width == 5:
        if not 0x41 <= code <= 0x5F:
            raise TagEncodeError(f"{char!r} is not in the 5-bit code (A..Z and [\\]^_)")
        return code - 0x40
    if width == 6:
        if not 0x20 <= code <= 0x5F:
            raise TagEncodeError(f"{char!r} is not in the 6-bit code (space..underscore, capitals)")
        return code - 0x40 if code >= 0x40 else code
    if not 0x01 <= code <= 0x7E:
        raise TagEncodeError(f"{char!r} is not printable 7-bit ASCII")
    return code


def _encode_bits(text: str, width: int) -> bytes:
    bits = 0
    count = 0
    for char in text:
        bits = (bits << width) | _code_value(char, width)
        count += width
    padding = (-count) % 8
    pad_value = {5: 0, 6: 0x20, 7: 0}[width]
    # Pad with the leading bits of the "nothing" character.
    bits = (bits << padding) | (pad_value >> (width - padding) if padding <= width else 0)
    return bits.to_bytes((count + padding) // 8, "big") if count else b""


def _decode_numeric(data: bytes) -> str:
    digits = []
    for byte in data:
        for nibble in (byte >> 4, byte & 0x0F):
            if nibble == 0x0F:
                break
            if nibble > 9:
                raise ValueError(f"byte {byte:#04x} is not numeric compaction")
            digits.append(str(nibble))
    return "".join(digits)


def decompact(scheme: Compaction, data: bytes) -> bytes | str:
    """Text for the text schemes (octets as ISO/IEC 8859-1); the bytes for application-defined."""
    if scheme is Compaction.INTEGER:
        return str(int.from_bytes(data, "big"))
    if scheme is Compaction.NUMERIC:
        return _decode_numeric(data)
    if scheme in BIT_WIDTHS:
        return _decode_bits(data, BIT_WIDTHS[scheme])
    if scheme is Compaction.UTF8:
        return data.decode("utf-8")
    if scheme is Compaction.OCTETS:
        return data.decode("latin-1")
    return bytes(data)


def compact(scheme: Compaction, value: bytes | str) -> bytes:
    if isinstance(value, bytes):
        if scheme is not Compaction.APPLICATION:
            raise TagEncodeError(f"bytes are written with application-defined compaction, not {scheme.name}")
        return value
    if scheme is Compaction.APPLICATION:
        raise TagEncodeError("application-defined compaction needs the bytes, not text")
    if scheme is Compaction.INTEGER:
        if not value.isdigit() or not value.isascii() or (len(value) > 1 and value[0] == "0"):
            raise TagEncodeError(f"integer compaction needs digits without a leading zero, got {value!r}")
        number = int(value)
        return number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big")
    if scheme is Compaction.NUMERIC:
        if not value.isdigit() or not value.isascii():
            raise TagEncodeError(f"numeric compaction needs digits, got {value!r}")
        return bytes.fromhex(value + ("F" if len(value) % 2 else ""))
    if scheme in BIT_WIDTHS:
        return _encode_bits(value, BIT_WIDTHS[scheme])
    if scheme is Compaction.OCTETS:
        try:
            return value.encode("latin-1")
        except UnicodeEncodeError as error:
            raise TagEncodeError(f"{value!r} is not ISO/IEC 8859-1 text") from error
    return value.encode("utf-8")


def best_compaction(text: str) -> Compaction:
    """The scheme ISO/IEC 15962 picks for ``text``: integer for a number without a leading zero, numeric
    for digits that start with 0 (integer would lose the zero), else the smallest code that holds it."""
    if text.isdigit() and text.isascii():
        return Compaction.INTEGER if text[0] != "0" or text == "0" else Compaction.NUMERIC
    if text and all(0x41 <= ord(c) <= 0x5F for c in text):
        return Compaction.FIVE_BIT
    if text and all(0x20 <= ord(c) <= 0x5F for c in text):
        return Compaction.SIX_BIT
    if all(0x01 <= ord(c) <= 0x7E for c in text):
        return Compaction.SEVEN_BIT
    return Compaction.UTF8
