"""SIP2 dates: ``YYYYMMDDZZZZHHMMSS`` (18 characters). Zone "    " = local time (a naive datetime), "   Z"
= UTC (an aware one); all blanks = no date. Due dates (AH) are free text in the standard, so they are also
read in common ISO forms."""

from __future__ import annotations

import re
from datetime import UTC, datetime


class Sip2DateError(ValueError):
    """Not a SIP2 date."""


def format_date(value: datetime | None) -> str:
    if value is None:
        return " " * 18
    zone = "    "
    if value.tzinfo is not None:
        value, zone = value.astimezone(UTC), "   Z"
    # strftime("%Y") leaves years below 1000 unpadded on glibc, which breaks the fixed 18-character field.
    day = f"{value.year:04d}{value.month:02d}{value.day:02d}"
    return f"{day}{zone}{value.hour:02d}{value.minute:02d}{value.second:02d}"


def parse_date(text: str) -> datetime | None:
    """Parse an 18-character SIP2 date; all blanks -> None. Raises `Sip2DateError`."""
    if not text.strip():
        return None
    m = re.fullmatch(r"(\d{8})(.{4})(\d{6})", text)
    if m is None:
        raise Sip2DateError(f"not a SIP2 date: {text!r}")
    try:
        value = datetime.strptime(m[1] + m[3], "%Y%m%d%H%M%S")
    except ValueError as exc:
        raise Sip2DateError(f"not a SIP2 date: {text!r}") from exc
    zone = m[2].strip()
    if zone in ("Z", "UTC", "GMT"):
        return value.replace(tzinfo=UTC)
    return value  # local time, or a zone we do not interpret: keep the wall clock


def parse_free_date(text: str | None) -> datetime | None:
    """Due dates (AH) are free text in the standard: accept the SIP2 form and common ISO forms."""
    if not text or not text.strip():
        return None
    text = text.strip()
    try:
        return parse_date(text)
    except Sip2DateError:
        pass
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


__all__ = ["Sip2DateError", "format_date", "parse_date", "parse_free_date"]
