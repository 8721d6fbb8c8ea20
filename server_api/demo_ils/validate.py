"""What the demo library system checks before its rules see a request: dates it can compute with.

A client may send any date the SIP2 form can hold (year 9999, a UTC time, year 0000 is refused by the
codec already). The rules add loan periods to dates and compare them with local times, so a date is made
local wall-clock time and must lie in `EARLIEST`..`LATEST`; otherwise the request is refused with a
readable answer of the right type instead of failing inside the rules.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Final

from server_api.sip2.messages import RESPONSE_FOR, Message, layout

EARLIEST: Final = 1900
LATEST: Final = 2199


class BadRequest(Exception):
    """A request the demo refuses with a readable answer."""


def _local(value: datetime, name: str) -> datetime:
    if value.tzinfo is not None:
        try:
            value = value.astimezone().replace(tzinfo=None)
        except (OverflowError, ValueError) as exc:
            raise BadRequest(f"{name} {value.isoformat()} cannot be read as a local time") from exc
    if not EARLIEST <= value.year <= LATEST:
        raise BadRequest(f"{name} {value:%Y-%m-%d} is outside the years {EARLIEST}-{LATEST}")
    return value


def checked(message: Message) -> Message:
    """The message with its dates as local wall-clock time; `BadRequest` for a date it cannot use."""
    changes: dict[str, Any] = {}
    for spec in layout(type(message))[0]:
        value = getattr(message, spec.name)
        if spec.kind == "date" and isinstance(value, datetime):
            local = _local(value, spec.name.replace("_", " "))
            if local is not value:
                changes[spec.name] = local
    return dataclasses.replace(message, **changes) if changes else message


def refusal(message: Message, text: str, branch: str) -> Message | None:
    """A negative answer of the right type to `message`, naming its item and patron, saying `text`; None
    for a message that is no request (hang up)."""
    cls = RESPONSE_FOR.get(type(message))
    if cls is None:
        return None
    names = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {"screen_message": (text,)} if "screen_message" in names else {}
    if "ok" in names:
        values["ok"] = False
    if "institution_id" in names:
        values["institution_id"] = branch
    for name in ("patron_identifier", "item_identifier"):
        sent = getattr(message, name, None)
        if name in names and isinstance(sent, str):
            values[name] = sent
    return cls(**values)


__all__ = ["EARLIEST", "LATEST", "BadRequest", "checked", "refusal"]
