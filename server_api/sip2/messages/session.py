"""Session messages: login (93/94), status (99/98), patron status (23/24) and information (63/64), end of
session (35/36), and the resend requests (97, 96)."""

# The field helpers return dataclasses.field(...) with wire metadata; ruff cannot see that.
# ruff: noqa: RUF009

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from .fields import Message, fixed_date, fixed_flag, fixed_int, fixed_ok, fixed_text, register, var


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
