"""Circulation messages: checkout (11/12), checkin (09/10), renew (29/30), hold (15/16), renew all (65/66)
and item information (17/18)."""

# The field helpers return dataclasses.field(...) with wire metadata; ruff cannot see that.
# ruff: noqa: RUF009

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from .fields import Message, fixed_date, fixed_flag, fixed_int, fixed_ok, fixed_text, register, var


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
