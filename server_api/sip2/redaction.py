"""Secret-free text of SIP2 messages and frames, for transcripts and staff logs: the patron PIN (AD), the
terminal password (AC) and the login password (CO) become ``***``, and what identifies a patron (card number,
name, addresses, phone, birth date, the hold patron: `PERSONAL_CODES`) becomes ``<patron>``, even in a
frame that does not decode. What is left (codes, item, title, flags, messages) is what staff diagnose with."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from .codec import Sip2DecodeError, decode, encode_body
from .messages import PERSONAL_CODES, SECRET_CODES, Message, layout

SECRET_MASK = "***"
PERSONAL_MASK = "<patron>"


def _mask(code: str, value: str) -> str:
    if code in SECRET_CODES:
        return SECRET_MASK
    return PERSONAL_MASK if code in PERSONAL_CODES and value else value


def redact(message: Message) -> Message:
    """A copy with the secrets (`SECRET_CODES`) and what identifies a patron (`PERSONAL_CODES`) masked."""
    _, variable = layout(type(message))
    changes: dict[str, Any] = {}
    for v in variable:
        value = getattr(message, v.name)
        if value is None or (v.code not in SECRET_CODES and v.code not in PERSONAL_CODES):
            continue
        changes[v.name] = (
            tuple(_mask(v.code, x) for x in value) if isinstance(value, tuple) else _mask(v.code, value)
        )
    extra = tuple((c, _mask(c, val)) for c, val in message.extra)
    return dataclasses.replace(message, **changes, extra=extra)


_MASKED = sorted(SECRET_CODES | PERSONAL_CODES)
_MASKED_TEXT = re.compile(r"(?<=\|)(" + "|".join(_MASKED) + r")([^|\r]*)")


def redact_bytes(data: bytes, *, charset: str = "utf-8") -> str:
    """Printable, secret-free text of a raw frame (for transcripts), even if it does not decode."""
    try:
        message = decode(data, charset=charset)
    except Sip2DecodeError:
        text = data.decode(charset, errors="replace").rstrip("\r\n\x00")
        # Without a parse we cannot tell where the first field starts: mask after every '|', and
        # everything after the command if a secret code appears before the first '|'.
        head, sep, tail = text.partition("|")
        if any(code in head[2:] for code in _MASKED):
            head = head[:2] + SECRET_MASK
        return head + sep + _MASKED_TEXT.sub(lambda m: m[1] + _mask(m[1], m[2]), tail)
    return encode_body(redact(message), charset=charset).decode(charset, errors="replace")


__all__ = ["redact", "redact_bytes"]
