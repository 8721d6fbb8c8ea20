"""SIP2 wire codec: typed messages <-> bytes. Sans-IO: no sockets, no clocks, no logging.

Frame: ``CC`` + fixed fields + ``XXvalue|`` variable fields [+ ``AY<seq>AZ<hhhh>``] + CR.
The checksum is the two's complement of the 16-bit sum of the *encoded bytes* from the first byte up to
and including the letters ``AZ``. Summing bytes (not characters) matters with UTF-8.

Decoding is lenient by default because real library systems are: lowercase hex, ``%4X`` with spaces,
CRLF or LF, trailing NULs, a missing final ``|``, ``AZ`` without ``AY``. ``strict=True`` accepts only
what this codec itself writes (used by tests and to catch regressions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .dates import Sip2DateError as Sip2DateError
from .dates import format_date as format_date
from .dates import parse_date as parse_date
from .dates import parse_free_date as parse_free_date
from .messages import MESSAGE_TYPES, Message, layout

CR = b"\r"
CONTROL_CODES = ("96", "97")  # carry AZ but never AY


class Sip2Error(Exception):
    """Base of the codec's errors."""


class Sip2DecodeError(Sip2Error, ValueError):
    """The bytes are not a SIP2 message we understand (garbled, truncated, unknown command)."""


class Sip2ChecksumError(Sip2DecodeError):
    """The frame's checksum does not match its bytes."""


class Sip2CharsetError(Sip2DecodeError):
    """A text field is not valid in the charset (and no fallback was allowed)."""


class Sip2EncodeError(Sip2Error, ValueError):
    """A message cannot be written (value not encodable in the charset, bad width, forbidden char)."""


class Sip2FrameTooLarge(Sip2DecodeError):
    """More bytes than the framer's limit arrived without a CR."""


# ---------------------------------------------------------------------------------------------------
# Checksum


def checksum(data: bytes) -> str:
    """Checksum of ``data`` (every byte through ``AZ``) as four uppercase hex digits."""
    return f"{(-sum(data)) & 0xFFFF:04X}"


def verify_checksum(data_through_az: bytes, check: str) -> bool:
    """True if ``check`` (hex, case and padding spaces tolerated) matches ``data_through_az``."""
    text = check.strip()
    if not text or not re.fullmatch(r"[0-9A-Fa-f]{1,4}", text):
        return False
    return (sum(data_through_az) + int(text, 16)) & 0xFFFF == 0


# ---------------------------------------------------------------------------------------------------
# Encoding


def _encode_value(text: str, *, charset: str, where: str) -> bytes:
    for bad in ("|", "\r", "\n", "\x00"):
        if bad in text:
            raise Sip2EncodeError(f"{where}: value contains forbidden character {bad!r}")
    try:
        return text.encode(charset)
    except UnicodeEncodeError as exc:
        char = exc.object[exc.start : exc.end]
        raise Sip2EncodeError(
            f"{where}: character {char!r} (U+{ord(char[0]):04X}) cannot be encoded in {charset}"
        ) from exc


def _encode_fixed(kind: str, width: int, value: Any, where: str) -> bytes:
    if kind == "flag":
        return b"Y" if value else b"N"
    if kind == "ok":
        return b"1" if value else b"0"
    if kind == "date":
        return format_date(value).encode("ascii")
    if kind == "int":
        if not isinstance(value, int) or value < 0 or len(str(value)) > width:
            raise Sip2EncodeError(f"{where}: {value!r} does not fit {width} digits")
        return str(value).zfill(width).encode("ascii")
    text = str(value)
    if len(text) != width or not text.isascii():
        raise Sip2EncodeError(f"{where}: must be {width} ASCII characters, got {text!r}")
    return text.encode("ascii")


def encode_body(message: Message, *, charset: str = "utf-8") -> bytes:
    """The message without trailer and CR."""
    cls = type(message)
    fixed, variable = layout(cls)
    out = bytearray(cls.CODE.encode("ascii"))
    for spec in fixed:
        out += _encode_fixed(spec.kind, spec.width, getattr(message, spec.name), f"{cls.CODE}.{spec.name}")
    pairs: list[tuple[str, str]] = []
    for vspec in variable:
        value = getattr(message, vspec.name)
        if vspec.kind == "rep":
            pairs.extend((vspec.code, v) for v in value)
        elif value is not None:
            pairs.append((vspec.code, value))
    pairs.extend(message.extra)
    for code, value in pairs:
        if len(code) != 2 or not code.isascii() or not code.isalnum():
            raise Sip2EncodeError(f"{cls.CODE}: bad field code {code!r}")
        out += code.encode("ascii") + _encode_value(value, charset=charset, where=f"{cls.CODE} field {code}")
        out += b"|"
    return bytes(out)


def encode(
    message: Message, *, seq: int | None, charset: str = "utf-8", error_detection: bool = True
) -> bytes:
    """A complete frame, CR included. With error detection: ``AY<seq>AZ<checksum>`` (96/97: AZ only;
    ``seq=None``: AZ only, as some systems do)."""
    body = encode_body(message, charset=charset)
    if not error_detection:
        return body + CR
    if seq is not None and type(message).CODE not in CONTROL_CODES:
        if not 0 <= seq <= 9:
            raise Sip2EncodeError(f"sequence number must be 0-9, got {seq}")
        body += b"AY" + str(seq).encode("ascii")
    body += b"AZ"
    return body + checksum(body).encode("ascii") + CR


# ---------------------------------------------------------------------------------------------------
# Decoding


@dataclass(frozen=True)
class Decoded:
    message: Message
    seq: int | None  # AY, if present
    checksum: str | None  # AZ as sent, if present
    # Text fields that did not decode in the charset: read with the fallback charset, else with
    # replacement marks (U+FFFD). Codes in wire order, e.g. ("AJ", "AF").
    repaired: tuple[str, ...] = ()


_TRAILER = re.compile(rb"(?:AY(\d))?AZ([0-9A-Fa-f ]{4})$")
_STRICT_TRAILER = re.compile(rb"(?:AY(\d))?AZ([0-9A-F]{4})$")


def _strip_terminator(data: bytes, strict: bool) -> bytes:
    if strict:
        if not data.endswith(CR) or CR in data[:-1] or b"\x00" in data:
            raise Sip2DecodeError("frame must end with a single CR and contain no NUL")
        return data[:-1]
    data = data.rstrip(b"\x00").lstrip(b"\x00\n")
    if data.endswith(b"\r\n"):
        return data[:-2]
    if data.endswith((CR, b"\n")):
        return data[:-1]
    return data  # lenient: a frame handed over without terminator


def decode_frame(
    data: bytes, *, charset: str = "utf-8", strict: bool = False, fallback: str | None = None
) -> Decoded:
    """Decode one frame. Fixed fields and field codes are ASCII whatever the charset. A text value that is
    not valid in `charset` is an error when `strict` or `fallback` is None; else it is read with `fallback`
    (a charset name, when it fits) or with replacement marks (``fallback=""``), and its code is listed in
    `Decoded.repaired`."""
    body = _strip_terminator(data, strict)
    if len(body) < 2:
        raise Sip2DecodeError(f"frame too short: {data!r}")
    match = (_STRICT_TRAILER if strict else _TRAILER).search(body)
    seq: int | None = None
    check: str | None = None
    if match is not None:
        through_az = body[: match.start(2)]
        check = match[2].decode("ascii")
        if not verify_checksum(through_az, check):
            raise Sip2ChecksumError(f"checksum {check} does not match the frame")
        seq = int(match[1]) if match[1] is not None else None
        body = body[: match.start()]
    try:
        code = body[:2].decode("ascii")
    except UnicodeDecodeError as exc:
        raise Sip2DecodeError("command code is not ASCII") from exc
    cls = MESSAGE_TYPES.get(code)
    if cls is None:
        raise Sip2DecodeError(f"unknown command {code!r}")
    text = _TextDecoder(charset, None if strict else fallback, strict)
    message = _parse(cls, body[2:], text=text, strict=strict)
    return Decoded(message, seq, check, tuple(text.repaired))


def decode(
    data: bytes, *, charset: str = "utf-8", strict: bool = False, fallback: str | None = None
) -> Message:
    """Decode one frame into its typed message (see `decode_frame` for the sequence number)."""
    return decode_frame(data, charset=charset, strict=strict, fallback=fallback).message


def has_trailer(data: bytes) -> bool:
    """True if the frame ends in an AZ checksum (with or without AY): with error detection on, a frame
    without one is damaged (a truncated reply loses its trailer first)."""
    body = data.rstrip(b"\r\n\x00")
    return _TRAILER.search(body[-9:]) is not None  # "AY0AZhhhh" is the longest trailer


class _TextDecoder:
    """Decodes text values: the charset, else the fallback, else replacement marks (never when strict)."""

    def __init__(self, charset: str, fallback: str | None, strict: bool) -> None:
        self.charset, self.fallback, self.strict = charset, fallback, strict
        self.repaired: list[str] = []

    def __call__(self, code: str, raw: bytes, where: str) -> str:
        try:
            return raw.decode(self.charset)
        except UnicodeDecodeError as exc:
            if self.strict or self.fallback is None:
                raise Sip2CharsetError(f"{where}: field {code} is not valid {self.charset}") from exc
        self.repaired.append(code)
        if self.fallback:
            try:
                return raw.decode(self.fallback)
            except UnicodeDecodeError:
                pass
        return raw.decode(self.charset, errors="replace")


def _decode_fixed(kind: str, raw: bytes, where: str, strict: bool) -> Any:
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise Sip2DecodeError(f"{where}: fixed field is not ASCII") from exc
    if kind == "flag":
        if text not in ("Y", "N") and (strict or text not in ("y", "n", " ")):
            raise Sip2DecodeError(f"{where}: expected Y/N, got {text!r}")
        return text in ("Y", "y")
    if kind == "ok":
        if text not in ("0", "1") and (strict or text not in ("Y", "N")):
            raise Sip2DecodeError(f"{where}: expected 1/0, got {text!r}")
        return text in ("1", "Y")
    if kind == "int":
        stripped = text.strip()
        if not stripped and not strict:
            return 0  # some systems send blanks for unknown counts
        if not stripped.isdigit() or (strict and not text.isdigit()):
            raise Sip2DecodeError(f"{where}: expected digits, got {text!r}")
        return int(stripped)
    if kind == "date":
        try:
            return parse_date(text)
        except Sip2DateError as exc:
            raise Sip2DecodeError(f"{where}: {exc}") from exc
    return text


# What a fixed field the server filled with something unreadable is taken as (lenient mode only). Flags
# and ok fields have none: whether a loan happened is never guessed.
_UNREADABLE_FIXED: dict[str, Any] = {"date": None, "int": 0}


def _fixed_value(kind: str, raw: bytes, where: str, text: _TextDecoder) -> Any:
    try:
        return _decode_fixed(kind, raw, where, text.strict)
    except Sip2DecodeError:
        if text.strict or text.fallback is None or kind in ("flag", "ok"):
            raise
        text.repaired.append(where)
        if kind == "text":
            return raw.decode("ascii", errors="replace").replace("\ufffd", "?")
        return _UNREADABLE_FIXED[kind]


def _parse(cls: type[Message], payload: bytes, *, text: _TextDecoder, strict: bool) -> Message:
    fixed, variable = layout(cls)
    values: dict[str, Any] = {}
    pos = 0
    for spec in fixed:
        raw = payload[pos : pos + spec.width]
        if len(raw) != spec.width:
            raise Sip2DecodeError(f"{cls.CODE}: truncated in fixed field {spec.name}")
        values[spec.name] = _fixed_value(spec.kind, raw, f"{cls.CODE}.{spec.name}", text)
        pos += spec.width

    by_code = {v.code: v for v in variable}
    repeated: dict[str, list[str]] = {}
    extra: list[tuple[str, str]] = []
    rest = payload[pos:]
    while rest:
        if len(rest) < 2:
            raise Sip2DecodeError(f"{cls.CODE}: truncated field code {rest!r}")
        end = rest.find(b"|")
        if end == -1:
            if strict:
                raise Sip2DecodeError(f"{cls.CODE}: field {rest[:2]!r} has no terminating '|'")
            end = len(rest)
        try:
            code = rest[:2].decode("ascii")
        except UnicodeDecodeError as exc:
            raise Sip2DecodeError(f"{cls.CODE}: field code {rest[:2]!r} is not ASCII") from exc
        value = text(code, rest[2:end], cls.CODE)
        rest = rest[end + 1 :]
        vspec = by_code.get(code)
        if vspec is None:
            extra.append((code, value))  # unknown: kept, re-encoded after the known ones
        elif vspec.kind == "rep":
            repeated.setdefault(vspec.name, []).append(value)
        elif vspec.name in values:
            if strict:
                raise Sip2DecodeError(f"{cls.CODE}: field {code} appears twice")
            extra.append((code, value))  # never drop what the peer sent
        else:
            values[vspec.name] = value
    for name, items in repeated.items():
        values[name] = tuple(items)
    if strict:
        missing = [v.code for v in variable if v.kind == "req" and v.name not in values]
        if missing:
            raise Sip2DecodeError(f"{cls.CODE}: missing required field(s) {', '.join(missing)}")
    return cls(**values, extra=tuple(extra))


# ---------------------------------------------------------------------------------------------------
# Framing


class Framer:
    """Splits a byte stream into frames. Feed bytes, get complete frames (each ending in CR).

    CR ends a frame, as the standard says; so does a lone LF (some servers end lines with LF only), and
    CRLF counts once. Stray NULs between frames are dropped. A frame longer than ``max_size`` raises
    `Sip2FrameTooLarge` (a peer that never ends its frame must not grow memory without bound).
    """

    def __init__(self, max_size: int = 64 * 1024) -> None:
        self.max_size = max_size
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        frames: list[bytes] = []
        while True:
            end = _FRAME_END.search(self._buffer)
            if end is None:
                break
            frame = bytes(self._buffer[: end.start()]).strip(b"\n\x00")
            del self._buffer[: end.end()]
            if len(frame) > self.max_size:
                raise Sip2FrameTooLarge(f"frame of {len(frame)} bytes exceeds {self.max_size}")
            if frame:
                frames.append(frame + CR)
        if len(self._buffer) > self.max_size:
            size = len(self._buffer)
            self._buffer.clear()
            raise Sip2FrameTooLarge(f"{size} bytes without a frame terminator exceed {self.max_size}")
        return frames

    @property
    def pending(self) -> int:
        """Bytes of an unfinished frame (NULs and line ends between frames do not count)."""
        return len(self._buffer.strip(b"\n\x00"))


_FRAME_END = re.compile(rb"\r\n?|\n")
