"""Secret-free text of SIP2 messages and frames, for transcripts and staff logs: the patron PIN (AD), the
terminal password (AC) and the login password (CO) become ``***``, even in a frame that does not decode."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from .codec import Sip2DecodeError, decode, encode_body
from .messages import SECRET_CODES, Message, layout


def redact(message: Message) -> Message:
    """A copy with patron PIN (AD), terminal password (AC) and login password (CO) masked."""
    _, variable = layout(type(message))
    changes: dict[str, Any] = {
        v.name: "***" for v in variable if v.code in SECRET_CODES and getattr(message, v.name) is not None
    }
    extra = tuple((c, "***" if c in SECRET_CODES else val) for c, val in message.extra)
    return dataclasses.replace(message, **changes, extra=extra)


_SECRET_TEXT = re.compile(r"(?<=\|)(AD|AC|CO)[^|\r]*")


def redact_bytes(data: bytes, *, charset: str = "utf-8") -> str:
    """Printable, secret-free text of a raw frame (for transcripts), even if it does not decode."""
    try:
        message = decode(data, charset=charset)
    except Sip2DecodeError:
        text = data.decode(charset, errors="replace").rstrip("\r\n\x00")
        # Without a parse we cannot tell where the first field starts: mask after every '|', and
        # everything after the command if a secret code appears before the first '|'.
        head, sep, tail = text.partition("|")
        if any(code in head[2:] for code in SECRET_CODES):
            head = head[:2] + "***"
        return head + sep + _SECRET_TEXT.sub(lambda m: m[1] + "***", tail)
    return encode_body(redact(message), charset=charset).decode(charset, errors="replace")


__all__ = ["redact", "redact_bytes"]
