"""The states and events of a SIP2 conversation, shared by both sides (see the package docstring)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from ..messages import SUPPORTED_MESSAGE_NAMES, Message

MAX_RESEND_ROUNDS: Final = 3  # 97/96 exchanges per request, at most (the 98 may allow fewer)
_NAMES = {name[-3:-1]: name for name in SUPPORTED_MESSAGE_NAMES}


class State(enum.Enum):
    IDLE = "idle"
    AWAITING_REPLY = "awaiting reply"  # SC: a request is out
    HANDLING = "handling"  # ACS: a request was handed out, `respond()` is due
    CLOSED = "closed"  # an error ended the conversation: close the transport


class ConversationError(RuntimeError):
    """An illegal transition (a programming error in the transport around the state machine)."""


class _NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = _NeedData()


@dataclass(frozen=True)
class Reply:
    """SC: the answer to the request."""

    message: Message
    raw: bytes  # the frame as it came (for staff logs: redact before writing it anywhere)
    seq: int | None
    repaired: tuple[str, ...] = ()  # text fields read with the fallback charset or replacement marks
    after_resend: bool = False  # it came after our 97


@dataclass(frozen=True)
class SendAgain:
    """SC: send these bytes now (a 97, or the request again after a 96) and keep waiting."""

    data: bytes
    why: str


@dataclass(frozen=True)
class Request:
    """ACS: a request to act on; answer it with `AcsConversation.respond`."""

    message: Message
    seq: int | None
    error_detection: bool  # the SC used AY/AZ: answer in kind


@dataclass(frozen=True)
class Answer:
    """ACS: send these bytes (96 to a damaged request, the last reply again on 97)."""

    data: bytes
    why: str


@dataclass(frozen=True)
class BadFrame:
    """ACS: a frame that is not SIP2 at all; hang up."""

    reason: str


def request_name(message: Message) -> str:
    return _NAMES.get(message.CODE, message.CODE)


__all__ = [
    "MAX_RESEND_ROUNDS",
    "NEED_DATA",
    "Answer",
    "BadFrame",
    "ConversationError",
    "Reply",
    "Request",
    "SendAgain",
    "State",
    "request_name",
]
