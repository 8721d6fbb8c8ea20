"""What travels between kiosk and gateway, as Pydantic models: the gateway validates requests with them
and publishes them in its OpenAPI; `server_api.client.HttpCirculation` validates the answers with them.

The outcomes themselves are the dataclasses of `server_api.circulation` (Pydantic validates stdlib
dataclasses), so the kiosk gets exactly the types it gets from SIP2.

This module imports Pydantic only (no FastAPI, no SQLAlchemy): the kiosk imports it.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from server_api.circulation import (
    CheckinOutcome,
    CheckoutOutcome,
    ItemStatus,
    PatronAccount,
    RenewOutcome,
    Transaction,
)

Identifier = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f|]+$")]
Pin = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f|]+$")]
LibraryNumber = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z_-]+$")]
ShortText = Annotated[str, Field(max_length=200)]


def _plausible(when: datetime) -> datetime:
    if not 1970 <= when.year <= 2099:
        raise ValueError("a transaction date must lie between 1970 and 2099")
    return when


# A date the library system can be told: SIP2 writes four-digit years. 1970 stays allowed: a Raspberry Pi
# without a real-time clock may start there, and its offline actions (marked clock_synchronised=False)
# must still be recorded.
CirculationDate = Annotated[datetime, AfterValidator(_plausible)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TransactionIn(_In):
    """The kiosk journal's record of one action; `id` is the idempotency key."""

    id: uuid.UUID
    at: CirculationDate
    offline: bool = False
    clock_synchronised: bool = True
    due_date: CirculationDate | None = None

    @classmethod
    def of(cls, txn: Transaction) -> TransactionIn:
        return cls(
            id=txn.id,
            at=txn.at,
            offline=txn.offline,
            clock_synchronised=txn.clock_synchronised,
            due_date=txn.due_date,
        )

    def transaction(self) -> Transaction:
        return Transaction(self.id, self.at, self.offline, self.clock_synchronised, self.due_date)


class StackItem(_In):
    item_id: Identifier
    txn: TransactionIn


class CheckoutStack(_In):
    """Items one patron borrows together; each keeps its own idempotency key."""

    library: LibraryNumber | None = None  # if given, must be the device's library
    patron_id: Identifier
    pin: Pin | None = None
    items: Annotated[list[StackItem], Field(min_length=1, max_length=500)]


class CheckinStack(_In):
    library: LibraryNumber | None = None
    items: Annotated[list[StackItem], Field(min_length=1, max_length=500)]


class RenewStack(_In):
    library: LibraryNumber | None = None
    patron_id: Identifier
    items: Annotated[list[StackItem], Field(min_length=1, max_length=500)]


class ItemState(enum.StrEnum):
    """What the gateway can say about one item of a stack."""

    DONE = "done"  # the library system answered: `outcome` holds it (a refusal is done too)
    UNAVAILABLE = "unavailable"  # nothing was sent: the library system could not be reached
    NO_REPLY = "no_reply"  # sent, no answer, and asking could not settle it: reconcile later
    PROTOCOL_ERROR = "protocol_error"  # the request cannot be carried (nothing sent)
    IN_FLIGHT = "in_flight"  # the same key is being carried out elsewhere and did not finish in time
    KEY_REUSED = "key_reused"  # this key was used for another action: a bug on the kiosk


class _ItemResult(BaseModel):
    id: uuid.UUID
    state: ItemState
    error: str = ""
    repeat: bool = False  # answered from the ledger: this key had been seen before
    reconciled: bool = False  # the outcome was found out from the library system, not from its reply


class CheckoutResult(_ItemResult):
    outcome: CheckoutOutcome | None = None


class CheckinResult(_ItemResult):
    outcome: CheckinOutcome | None = None


class RenewResult(_ItemResult):
    outcome: RenewOutcome | None = None


class CheckoutResults(BaseModel):
    results: list[CheckoutResult]


class CheckinResults(BaseModel):
    results: list[CheckinResult]


class RenewResults(BaseModel):
    results: list[RenewResult]


class PatronLookup(_In):
    library: LibraryNumber | None = None
    patron_id: Identifier
    pin: Pin | None = None
    txn: TransactionIn


class PatronAnswer(BaseModel):
    account: PatronAccount
    cooldown_seconds: int = 0  # > 0: too many wrong PINs for this card; nothing was sent


class ItemAnswer(BaseModel):
    status: ItemStatus


class EndSession(_In):
    library: LibraryNumber | None = None
    patron_id: Identifier


class LedgerState(enum.StrEnum):
    IN_FLIGHT = "in_flight"
    DONE = "done"
    NOT_APPLIED = "not_applied"  # certainly did not happen at the library system: may be sent again
    UNKNOWN = "unknown"  # sent, fate not known yet (asked again on the next question)


class TransactionAnswer(BaseModel):
    """ "What happened to transaction X?"."""

    id: uuid.UUID
    known: bool  # False: the gateway never received this key
    state: LedgerState | None = None
    operation: str = ""
    item_id: str = ""
    outcome: CheckoutOutcome | CheckinOutcome | RenewOutcome | None = None
    reconciled: bool = False
    claimed_at: datetime | None = None
    settled_at: datetime | None = None


class EnrollRequest(_In):
    code: Annotated[str, Field(min_length=8, max_length=64)]
    version: ShortText = ""


class EnrollAnswer(BaseModel):
    device_id: str
    token: str  # shown once; the gateway keeps only a hash
    library: str
    library_name: str
    kiosk_name: str
    consortium: str


class Heartbeat(_In):
    # A kiosk updated before its gateway sends fields this gateway does not know yet: they are left out, not
    # refused, or the fleet would show every updated kiosk as silent until the gateway caught up. Only the
    # heartbeat and its hour counts (telemetry) are this lenient; circulation stays strict.
    model_config = ConfigDict(extra="ignore")

    sent_at: datetime
    online: bool
    reader: Annotated[str, Field(max_length=40)] = "ok"  # ok | missing | error | ...
    printer: Annotated[str, Field(max_length=40)] = "ok"  # ok | paper_out | offline | ...
    journal_depth: Annotated[int, Field(ge=0, le=10_000_000)] = 0
    oldest_pending_at: datetime | None = None
    conflicts: Annotated[int, Field(ge=0, le=10_000_000)] = 0
    clock_synchronised: bool = True
    version: ShortText = ""
    config_version: ShortText = ""  # the staff console's settings version the kiosk runs ("" for none)
    sip2_rtt_ms: Annotated[float, Field(ge=0, le=600_000)] | None = None
    hours: list[HourStatistics] = Field(default_factory=list, max_length=48)  # the kiosk's hour counts


class HourStatistics(_In):
    """What only the kiosk knows about an hour (the library's local time), as totals so far: a resend
    replaces, never adds. Loans, returns, renewals and refusals the gateway counts itself as it carries
    them out."""

    model_config = ConfigDict(extra="ignore")  # a newer kiosk's counts: see Heartbeat

    hour: datetime
    offline_minutes: Annotated[float, Field(ge=0, le=60)] = 0
    languages: dict[Annotated[str, Field(max_length=16)], Annotated[int, Field(ge=0, le=100_000)]] = Field(
        default_factory=dict, max_length=50
    )  # patron sessions by the language they ended in
    offline_loans: Annotated[int, Field(ge=0, le=100_000)] = 0  # taken offline at the kiosk
    offline_returns: Annotated[int, Field(ge=0, le=100_000)] = 0
    # refused by the kiosk's own offline rules, by reason ("offline_card_not_known", "offline_limit", ...)
    offline_refusals: dict[
        Annotated[str, Field(max_length=40, pattern=r"^offline_[a-z_]+$")],
        Annotated[int, Field(ge=0, le=100_000)],
    ] = Field(default_factory=dict, max_length=20)


class CardHashing(BaseModel):
    algorithm: str = "hmac-sha256"
    key: str  # base64 of the library's derived key
    hex_digits: int  # each list entry is the first this-many hex digits of the digest
    normalise: str = "strip spaces, upper case"


class OfflinePolicyData(BaseModel):
    borrowing: bool
    max_items_per_session: int
    max_items_per_patron: int
    loan_days: int


class CardRulesData(BaseModel):
    patterns: list[str]
    min_length: int
    max_length: int


class OfflineData(BaseModel):
    library: str
    library_name: str
    generated_at: datetime
    refresh_seconds: int
    policy: OfflinePolicyData
    card_rules: CardRulesData
    hashing: CardHashing
    blocked: list[str]
    known: list[str]


class Problem(BaseModel):
    """Every 4xx/5xx answer: a stable code and a sentence saying what is wrong and what to do."""

    error: str
    message: str


__all__ = [
    "CardHashing",
    "CardRulesData",
    "CheckinResult",
    "CheckinResults",
    "CheckinStack",
    "CheckoutResult",
    "CheckoutResults",
    "CheckoutStack",
    "EndSession",
    "EnrollAnswer",
    "EnrollRequest",
    "Heartbeat",
    "HourStatistics",
    "ItemAnswer",
    "ItemState",
    "LedgerState",
    "OfflineData",
    "OfflinePolicyData",
    "PatronAnswer",
    "PatronLookup",
    "Problem",
    "RenewResult",
    "RenewResults",
    "RenewStack",
    "StackItem",
    "TransactionAnswer",
    "TransactionIn",
]
