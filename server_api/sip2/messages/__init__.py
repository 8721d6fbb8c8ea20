"""Typed SIP2 2.00 messages (both directions).

Each message is a frozen dataclass. The wire layout lives next to the Python field, in the field's
metadata, so there is one place that says what a message looks like:

- ``fixed_*`` fields come first on the wire, in declaration order, each with a fixed width;
- ``var(...)`` fields are the ``XXvalue|`` variable fields, encoded in declaration order;
- ``extra`` keeps variable fields this module does not know (vendor extensions), in wire order, so a
  message that is decoded and re-encoded loses nothing.

The codec (`codec.py`) reads this metadata; nothing here does I/O.

Fixed field kinds:
  ``flag``  bool   ``Y``/``N``
  ``ok``    bool   ``1``/``0``
  ``text``  str    exactly *width* ASCII characters (codes like ``"03"``, ``"U"``, ``"2.00"``)
  ``int``   int    zero-padded decimal of *width* digits
  ``date``  datetime | None   ``YYYYMMDDZZZZHHMMSS`` (None = 18 spaces)

Variable field kinds: ``req`` (str, always sent, may be empty), ``opt`` (str | None, sent when not
None), ``rep`` (tuple[str, ...], repeatable, one field per value).
"""

from __future__ import annotations

from .circulation import (
    CheckinRequest,
    CheckinResponse,
    CheckoutRequest,
    CheckoutResponse,
    HoldRequest,
    HoldResponse,
    ItemInformationRequest,
    ItemInformationResponse,
    RenewAllRequest,
    RenewAllResponse,
    RenewRequest,
    RenewResponse,
)
from .fields import (
    MESSAGE_TYPES,
    PERSONAL_CODES,
    SECRET_CODES,
    FixedSpec,
    Message,
    VarSpec,
    fixed_date,
    fixed_flag,
    fixed_int,
    fixed_ok,
    fixed_text,
    layout,
    register,
    var,
)
from .session import (
    AcsStatus,
    EndPatronSessionRequest,
    EndSessionResponse,
    LoginRequest,
    LoginResponse,
    PatronInformationRequest,
    PatronInformationResponse,
    PatronStatusRequest,
    PatronStatusResponse,
    RequestAcsResend,
    RequestScResend,
    ScStatus,
)

# Which response answers which request; the client checks it.
RESPONSE_FOR: dict[type[Message], type[Message]] = {
    LoginRequest: LoginResponse,
    ScStatus: AcsStatus,
    PatronStatusRequest: PatronStatusResponse,
    PatronInformationRequest: PatronInformationResponse,
    CheckoutRequest: CheckoutResponse,
    CheckinRequest: CheckinResponse,
    RenewRequest: RenewResponse,
    ItemInformationRequest: ItemInformationResponse,
    EndPatronSessionRequest: EndSessionResponse,
    HoldRequest: HoldResponse,
    RenewAllRequest: RenewAllResponse,
}

# The 14 patron status flags of 24/64, in wire order, in words.
PATRON_STATUS_FLAGS: tuple[str, ...] = (
    "charge privileges denied",
    "renewal privileges denied",
    "recall privileges denied",
    "hold privileges denied",
    "card reported lost",
    "too many items charged",
    "too many items overdue",
    "too many renewals",
    "too many claims of items returned",
    "too many items lost",
    "excessive outstanding fines",
    "excessive outstanding fees",
    "recall overdue",
    "too many items billed",
)


def patron_blocks(patron_status: str) -> tuple[str, ...]:
    """The 14 flags of a 24/64 patron status as readable blocks ("card reported lost", ...).

    'Y' sets a flag; anything else (space, 'N', a short or missing field) does not."""
    return tuple(
        words for flag, words in zip(patron_status, PATRON_STATUS_FLAGS, strict=False) if flag == "Y"
    )


# BX of 98: which messages the ACS supports, in the standard's order (16 positions).
SUPPORTED_MESSAGE_NAMES: tuple[str, ...] = (
    "patron status (23)",
    "checkout (11)",
    "checkin (09)",
    "block patron (01)",
    "SC/ACS status (99)",
    "request SC/ACS resend (97)",
    "login (93)",
    "patron information (63)",
    "end patron session (35)",
    "fee paid (37)",
    "item information (17)",
    "item status update (19)",
    "patron enable (25)",
    "hold (15)",
    "renew (29)",
    "renew all (65)",
)


def supported_messages(bx: str) -> dict[str, bool]:
    """BX as {message name: supported}; positions missing from a short BX count as not supported."""
    return {name: bx[i : i + 1].upper() == "Y" for i, name in enumerate(SUPPORTED_MESSAGE_NAMES)}


def patron_status_string(flags: set[int]) -> str:
    """14-character patron status with 'Y' at the given positions."""
    return "".join("Y" if i in flags else " " for i in range(14))


__all__ = [
    "MESSAGE_TYPES",
    "PATRON_STATUS_FLAGS",
    "PERSONAL_CODES",
    "RESPONSE_FOR",
    "SECRET_CODES",
    "SUPPORTED_MESSAGE_NAMES",
    "AcsStatus",
    "CheckinRequest",
    "CheckinResponse",
    "CheckoutRequest",
    "CheckoutResponse",
    "EndPatronSessionRequest",
    "EndSessionResponse",
    "FixedSpec",
    "HoldRequest",
    "HoldResponse",
    "ItemInformationRequest",
    "ItemInformationResponse",
    "LoginRequest",
    "LoginResponse",
    "Message",
    "PatronInformationRequest",
    "PatronInformationResponse",
    "PatronStatusRequest",
    "PatronStatusResponse",
    "RenewAllRequest",
    "RenewAllResponse",
    "RenewRequest",
    "RenewResponse",
    "RequestAcsResend",
    "RequestScResend",
    "ScStatus",
    "VarSpec",
    "fixed_date",
    "fixed_flag",
    "fixed_int",
    "fixed_ok",
    "fixed_text",
    "layout",
    "patron_blocks",
    "patron_status_string",
    "register",
    "supported_messages",
    "var",
]
