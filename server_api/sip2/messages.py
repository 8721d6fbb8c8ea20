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

# The field helpers below return dataclasses.field(...) with wire metadata; ruff cannot see that.
# ruff: noqa: RUF009

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

# ---------------------------------------------------------------------------------------------------
# Field declaration helpers


def fixed_flag(default: bool = False) -> Any:
    return field(default=default, metadata={"fixed": ("flag", 1)})


def fixed_ok(default: bool = False) -> Any:
    return field(default=default, metadata={"fixed": ("ok", 1)})


def fixed_text(width: int, default: str) -> Any:
    assert len(default) == width
    return field(default=default, metadata={"fixed": ("text", width)})


def fixed_int(width: int, default: int = 0) -> Any:
    return field(default=default, metadata={"fixed": ("int", width)})


def fixed_date() -> Any:
    return field(default=None, metadata={"fixed": ("date", 18)})


# Codes whose values are secrets: never written to a log.
SECRET_CODES = frozenset({"AD", "AC", "CO"})


def var(code: str, kind: str = "opt") -> Any:
    assert len(code) == 2 and kind in ("req", "opt", "rep")
    default: Any = {"req": "", "opt": None, "rep": ()}[kind]
    # Secrets stay out of repr(), so a message logged by accident does not show them.
    return field(default=default, metadata={"var": (code, kind)}, repr=code not in SECRET_CODES)


@dataclass(frozen=True, kw_only=True)
class Message:
    """Base of every SIP2 message."""

    CODE: ClassVar[str] = ""
    extra: tuple[tuple[str, str], ...] = ()

    def get_extra(self, code: str) -> str | None:
        """First value of an unknown/extension variable field, or None."""
        for key, value in self.extra:
            if key == code:
                return value
        return None


# Registry filled by @register: command code -> class.
MESSAGE_TYPES: dict[str, type[Message]] = {}


def register(cls: type[Message]) -> type[Message]:
    assert cls.CODE and cls.CODE not in MESSAGE_TYPES
    MESSAGE_TYPES[cls.CODE] = cls
    return cls


@dataclass(frozen=True)
class FixedSpec:
    name: str
    kind: str
    width: int


@dataclass(frozen=True)
class VarSpec:
    name: str
    code: str
    kind: str


def layout(cls: type[Message]) -> tuple[tuple[FixedSpec, ...], tuple[VarSpec, ...]]:
    """The wire layout of a message class, read from its field metadata (cached)."""
    cached = _LAYOUTS.get(cls)
    if cached is None:
        fixed: list[FixedSpec] = []
        variable: list[VarSpec] = []
        for f in dataclasses.fields(cls):
            if "fixed" in f.metadata:
                kind, width = f.metadata["fixed"]
                fixed.append(FixedSpec(f.name, kind, width))
            elif "var" in f.metadata:
                code, kind = f.metadata["var"]
                variable.append(VarSpec(f.name, code, kind))
        cached = (tuple(fixed), tuple(variable))
        _LAYOUTS[cls] = cached
    return cached


_LAYOUTS: dict[type[Message], tuple[tuple[FixedSpec, ...], tuple[VarSpec, ...]]] = {}


# ---------------------------------------------------------------------------------------------------
# Requests (SC -> ACS) and responses (ACS -> SC), in pairs.


@register
@dataclass(frozen=True, kw_only=True)
class LoginRequest(Message):
    CODE: ClassVar[str] = "93"
    uid_algorithm: str = fixed_text(1, "0")
    pwd_algorithm: str = fixed_text(1, "0")
    login_user_id: str = var("CN", "req")
    login_password: str = var("CO", "req")
    location_code: str | None = var("CP")


@register
@dataclass(frozen=True, kw_only=True)
class LoginResponse(Message):
    CODE: ClassVar[str] = "94"
    ok: bool = fixed_ok()


@register
@dataclass(frozen=True, kw_only=True)
class ScStatus(Message):
    CODE: ClassVar[str] = "99"
    status_code: str = fixed_text(1, "0")  # 0 ok, 1 printer out of paper, 2 shutting down
    max_print_width: int = fixed_int(3, 40)
    protocol_version: str = fixed_text(4, "2.00")


@register
@dataclass(frozen=True, kw_only=True)
class AcsStatus(Message):
    CODE: ClassVar[str] = "98"
    online_status: bool = fixed_flag(True)
    checkin_ok: bool = fixed_flag(True)
    checkout_ok: bool = fixed_flag(True)
    acs_renewal_policy: bool = fixed_flag(True)
    status_update_ok: bool = fixed_flag(False)
    offline_ok: bool = fixed_flag(False)
    timeout_period: int = fixed_int(3, 30)  # tenths of a second; 000 = none
    retries_allowed: int = fixed_int(3, 3)  # 999 = unknown
    date_time_sync: datetime | None = fixed_date()
    protocol_version: str = fixed_text(4, "2.00")
    institution_id: str = var("AO", "req")
    library_name: str | None = var("AM")
    supported_messages: str = var("BX", "req")
    terminal_location: str | None = var("AN")
    screen_message: tuple[str, ...] = var("AF", "rep")
    print_line: tuple[str, ...] = var("AG", "rep")


@register
@dataclass(frozen=True, kw_only=True)
class PatronStatusRequest(Message):
    CODE: ClassVar[str] = "23"
    language: str = fixed_text(3, "000")
    transaction_date: datetime | None = fixed_date()
    institution_id: str = var("AO", "req")
    patron_identifier: str = var("AA", "req")
    terminal_password: str = var("AC", "req")
    patron_password: str = var("AD", "req")


@register
@dataclass(frozen=True, kw_only=True)
class PatronStatusResponse(Message):
    CODE: ClassVar[str] = "24"
    patron_status: str = fixed_text(14, " " * 14)
    language: str = fixed_text(3, "000")
    transaction_date: datetime | None = fixed_date()
    institution_id: str = var("AO", "req")
    patron_identifier: str = var("AA", "req")
    personal_name: str = var("AE", "req")
    valid_patron: str | None = var("BL")
    valid_patron_password: str | None = var("CQ")
    currency_type: str | None = var("BH")
    fee_amount: str | None = var("BV")
    screen_message: tuple[str, ...] = var("AF", "rep")
    print_line: tuple[str, ...] = var("AG", "rep")


@register
@dataclass(frozen=True, kw_only=True)
class PatronInformationRequest(Message):
    CODE: ClassVar[str] = "63"
    language: str = fixed_text(3, "000")
    transaction_date: datetime | None = fixed_date()
    # Position 0 hold items, 1 overdue, 2 charged, 3 fine, 4 recall, 5 unavailable holds.
    summary: str = fixed_text(10, " " * 10)
    institution_id: str = var("AO", "req")
    patron_identifier: str = var("AA", "req")
    terminal_password: str | None = var("AC")
    patron_password: str | None = var("AD")
    start_item: str | None = var("BP")
    end_item: str | None = var("BQ")


@register
@dataclass(frozen=True, kw_only=True)
class PatronInformationResponse(Message):
    CODE: ClassVar[str] = "64"
    patron_status: str = fixed_text(14, " " * 14)
    language: str = fixed_text(3, "000")
    transaction_date: datetime | None = fixed_date()
    hold_items_count: int = fixed_int(4)
    overdue_items_count: int = fixed_int(4)
    charged_items_count: int = fixed_int(4)
    fine_items_count: int = fixed_int(4)
    recall_items_count: int = fixed_int(4)
    unavailable_holds_count: int = fixed_int(4)
    institution_id: str = var("AO", "req")
    patron_identifier: str = var("AA", "req")
    personal_name: str = var("AE", "req")
    hold_items_limit: str | None = var("BZ")
    overdue_items_limit: str | None = var("CA")
    charged_items_limit: str | None = var("CB")
    valid_patron: str | None = var("BL")
    valid_patron_password: str | None = var("CQ")
    currency_type: str | None = var("BH")
    fee_amount: str | None = var("BV")
    fee_limit: str | None = var("CC")
    hold_items: tuple[str, ...] = var("AS", "rep")
    overdue_items: tuple[str, ...] = var("AT", "rep")
    charged_items: tuple[str, ...] = var("AU", "rep")
    fine_items: tuple[str, ...] = var("AV", "rep")
    recall_items: tuple[str, ...] = var("BU", "rep")
    unavailable_hold_items: tuple[str, ...] = var("CD", "rep")
    home_address: str | None = var("BD")
    email_address: str | None = var("BE")
    home_phone_number: str | None = var("BF")
    screen_message: tuple[str, ...] = var("AF", "rep")
    print_line: tuple[str, ...] = var("AG", "rep")


@register
@dataclass(frozen=True, kw_only=True)
class CheckoutRequest(Message):
    CODE: ClassVar[str] = "11"
    sc_renewal_policy: bool = fixed_flag(True)
    no_block: bool = fixed_flag(False)
    transaction_date: datetime | None = fixed_date()
    nb_due_date: datetime | None = fixed_date()
    institution_id: str = var("AO", "req")
    patron_identifier: str = var("AA", "req")
    item_identifier: str = var("AB", "req")
    terminal_password: str = var("AC", "req")
    item_properties: str | None = var("CH")
    patron_password: str | None = var("AD")
    fee_acknowledged: str | None = var("BO")
    cancel: str | None = var("BI")


@register
@dataclass(frozen=True, kw_only=True)
class CheckoutResponse(Message):
    CODE: ClassVar[str] = "12"
    ok: bool = fixed_ok()
    renewal_ok: bool = fixed_flag(False)
    magnetic_media: str = fixed_text(1, "U")
    desensitize: str = fixed_text(1, "U")
    transaction_date: datetime | None = fixed_date()
    institution_id: str = var("AO", "req")
    patron_identifier: str = var("AA", "req")
    item_identifier: str = var("AB", "req")
    title_identifier: str = var("AJ", "req")
    due_date: str = var("AH", "req")  # free format in the standard
    fee_type: str | None = var("BT")
    security_inhibit: str | None = var("CI")
    currency_type: str | None = var("BH")
    fee_amount: str | None = var("BV")
    media_type: str | None = var("CK")
    item_properties: str | None = var("CH")
    transaction_id: str | None = var("BK")
    screen_message: tuple[str, ...] = var("AF", "rep")
    print_line: tuple[str, ...] = var("AG", "rep")


@register
@dataclass(frozen=True, kw_only=True)
class CheckinRequest(Message):
    CODE: ClassVar[str] = "09"
    no_block: bool = fixed_flag(False)
    transaction_date: datetime | None = fixed_date()
    return_date: datetime | None = fixed_date()
    current_location: str = var("AP", "req")
    institution_id: str = var("AO", "req")
    item_identifier: str = var("AB", "req")
    terminal_password: str = var("AC", "req")
    item_properties: str | None = var("CH")
    cancel: str | None = var("BI")


@register
@dataclass(frozen=True, kw_only=True)
class CheckinResponse(Message):
    CODE: ClassVar[str] = "10"
    ok: bool = fixed_ok()
    resensitize: str = fixed_text(1, "Y")  # Y/N (U tolerated)
    magnetic_media: str = fixed_text(1, "U")
    alert: bool = fixed_flag(False)
    transaction_date: datetime | None = fixed_date()
    institution_id: str = var("AO", "req")
    item_identifier: str = var("AB", "req")
    permanent_location: str = var("AQ", "req")
    title_identifier: str | None = var("AJ")
    sort_bin: str | None = var("CL")
    patron_identifier: str | None = var("AA")
    media_type: str | None = var("CK")
    item_properties: str | None = var("CH")
    screen_message: tuple[str, ...] = var("AF", "rep")
    print_line: tuple[str, ...] = var("AG", "rep")
    # Routing extensions (3M/Koha/Evergreen): where the item goes next.
    destination_location: str | None = var("CT")
    alert_type: str | None = var("CV")
    hold_patron_id: str | None = var("CY")
    hold_patron_name: str | None = var("DA")
    collection_code: str | None = var("CR")
    call_number: str | None = var("CS")


@register
@dataclass(frozen=True, kw_only=True)
class RenewRequest(Message):
    CODE: ClassVar[str] = "29"
    third_party_allowed: bool = fixed_flag(False)
    no_block: bool = fixed_flag(False)
    transaction_date: datetime | None = fixed_date()
    nb_due_date: datetime | None = fixed_date()
    institution_id: str = var("AO", "req")
    patron_identifier: str = var("AA", "req")
    patron_password: str | None = var("AD")
    item_identifier: str | None = var("AB")
    title_identifier: str | None = var("AJ")
    terminal_password: str | None = var("AC")
    item_properties: str | None = var("CH")
    fee_acknowledged: str | None = var("BO")


@register
@dataclass(frozen=True, kw_only=True)
class RenewResponse(Message):
    CODE: ClassVar[str] = "30"
    ok: bool = fixed_ok()
    renewal_ok: bool = fixed_flag(False)
    magnetic_media: str = fixed_text(1, "U")
    desensitize: str = fixed_text(1, "U")
    transaction_date: datetime | None = fixed_date()
    institution_id: str = var("AO", "req")
    patron_identifier: str = var("AA", "req")
    item_identifier: str = var("AB", "req")
    title_identifier: str = var("AJ", "req")
    due_date: str = var("AH", "req")
    fee_type: str | None = var("BT")
    security_inhibit: str | None = var("CI")
    currency_type: str | None = var("BH")
    fee_amount: str | None = var("BV")
    media_type: str | None = var("CK")
    item_properties: str | None = var("CH")
    transaction_id: str | None = var("BK")
    screen_message: tuple[str, ...] = var("AF", "rep")
    print_line: tuple[str, ...] = var("AG", "rep")


@register
@dataclass(frozen=True, kw_only=True)
class HoldRequest(Message):
    """15: place (+), delete (-) or change (*) a hold."""

    CODE: ClassVar[str] = "15"
    hold_mode: str = fixed_text(1, "+")
    transaction_date: datetime | None = fixed_date()
    expiration_date: str | None = var("BW")  # an 18-character SIP2 date
    pickup_location: str | None = var("BS")
    # 1 other, 2 any copy of a title, 3 a specific copy, 4 any copy at a single branch or sublocation
    hold_type: str | None = var("BY")
    institution_id: str = var("AO", "req")
    patron_identifier: str = var("AA", "req")
    patron_password: str | None = var("AD")
    item_identifier: str | None = var("AB")
    title_identifier: str | None = var("AJ")
    terminal_password: str | None = var("AC")
    fee_acknowledged: str | None = var("BO")


@register
@dataclass(frozen=True, kw_only=True)
class HoldResponse(Message):
    CODE: ClassVar[str] = "16"
    ok: bool = fixed_ok()
    available: bool = fixed_flag(False)  # the item is on the shelf now
    transaction_date: datetime | None = fixed_date()
    expiration_date: str | None = var("BW")
    queue_position: str | None = var("BR")
    pickup_location: str | None = var("BS")
    institution_id: str = var("AO", "req")
    patron_identifier: str = var("AA", "req")
    item_identifier: str | None = var("AB")
    title_identifier: str | None = var("AJ")
    screen_message: tuple[str, ...] = var("AF", "rep")
    print_line: tuple[str, ...] = var("AG", "rep")


@register
@dataclass(frozen=True, kw_only=True)
class RenewAllRequest(Message):
    """65: renew every item the patron has."""

    CODE: ClassVar[str] = "65"
    transaction_date: datetime | None = fixed_date()
    institution_id: str = var("AO", "req")
    patron_identifier: str = var("AA", "req")
    patron_password: str | None = var("AD")
    terminal_password: str | None = var("AC")
    fee_acknowledged: str | None = var("BO")


@register
@dataclass(frozen=True, kw_only=True)
class RenewAllResponse(Message):
    CODE: ClassVar[str] = "66"
    ok: bool = fixed_ok()
    renewed_count: int = fixed_int(4)
    unrenewed_count: int = fixed_int(4)
    transaction_date: datetime | None = fixed_date()
    institution_id: str = var("AO", "req")
    renewed_items: tuple[str, ...] = var("BM", "rep")
    unrenewed_items: tuple[str, ...] = var("BN", "rep")
    screen_message: tuple[str, ...] = var("AF", "rep")
    print_line: tuple[str, ...] = var("AG", "rep")


@register
@dataclass(frozen=True, kw_only=True)
class ItemInformationRequest(Message):
    CODE: ClassVar[str] = "17"
    transaction_date: datetime | None = fixed_date()
    institution_id: str = var("AO", "req")
    item_identifier: str = var("AB", "req")
    terminal_password: str | None = var("AC")


@register
@dataclass(frozen=True, kw_only=True)
class ItemInformationResponse(Message):
    CODE: ClassVar[str] = "18"
    # 01 other, 02 on order, 03 available, 04 charged, 05 charged; not to be recalled until earliest
    # recall date, 06 in process, 07 recalled, 08 waiting on hold shelf, 09 waiting to be re-shelved,
    # 10 in transit between library locations, 11 claimed returned, 12 lost, 13 missing
    circulation_status: str = fixed_text(2, "01")
    security_marker: str = fixed_text(2, "02")
    fee_type: str = fixed_text(2, "01")
    transaction_date: datetime | None = fixed_date()
    hold_queue_length: str | None = var("CF")
    due_date: str | None = var("AH")
    recall_date: str | None = var("CJ")
    hold_pickup_date: str | None = var("CM")
    item_identifier: str = var("AB", "req")
    title_identifier: str = var("AJ", "req")
    owner: str | None = var("BG")
    currency_type: str | None = var("BH")
    fee_amount: str | None = var("BV")
    media_type: str | None = var("CK")
    permanent_location: str | None = var("AQ")
    current_location: str | None = var("AP")
    item_properties: str | None = var("CH")
    screen_message: tuple[str, ...] = var("AF", "rep")
    print_line: tuple[str, ...] = var("AG", "rep")


@register
@dataclass(frozen=True, kw_only=True)
class EndPatronSessionRequest(Message):
    CODE: ClassVar[str] = "35"
    transaction_date: datetime | None = fixed_date()
    institution_id: str = var("AO", "req")
    patron_identifier: str = var("AA", "req")
    terminal_password: str | None = var("AC")
    patron_password: str | None = var("AD")


@register
@dataclass(frozen=True, kw_only=True)
class EndSessionResponse(Message):
    CODE: ClassVar[str] = "36"
    end_session: bool = fixed_flag(True)
    transaction_date: datetime | None = fixed_date()
    institution_id: str = var("AO", "req")
    patron_identifier: str = var("AA", "req")
    screen_message: tuple[str, ...] = var("AF", "rep")
    print_line: tuple[str, ...] = var("AG", "rep")


@register
@dataclass(frozen=True, kw_only=True)
class RequestAcsResend(Message):
    """97: the SC asks the ACS to send its last response again (carries no AY)."""

    CODE: ClassVar[str] = "97"


@register
@dataclass(frozen=True, kw_only=True)
class RequestScResend(Message):
    """96: the ACS asks the SC to send its last request again (carries no AY)."""

    CODE: ClassVar[str] = "96"


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
