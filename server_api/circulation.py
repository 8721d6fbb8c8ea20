"""The circulation service as the kiosk sees it.

`Circulation` is the one protocol the station calls, whatever is behind it: SIP2 straight to the
library system (`server_api.sip2.Sip2Circulation`) or, later, the consortium's central HTTP API.

Rules:
- Every call carries a `Transaction`: its UUID (assigned by the station, travels end to end), when it
  happened, whether it happened offline, and the due date the patron was given. SIP2 cannot carry the
  UUID; an idempotent central service can.
- A refusal is a normal result (`ok=False`) with a `RefusalReason` *and* the library system's own words
  (`screen_message`, `print_line`): those often hold the real reason and must be shown.
- Failing to reach the service, or not getting an answer, is an exception (`CirculationUnavailable`,
  `CirculationNoReply`): the caller must not assume the action did or did not happen.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Transaction:
    """What the station knows about one circulation action before it is sent."""

    id: uuid.UUID
    at: datetime
    offline: bool = False
    clock_synchronised: bool = True
    due_date: datetime | None = None  # the due date the patron was given offline (SIP2 "nb due date")

    @classmethod
    def new(cls, at: datetime, **kwargs: object) -> Transaction:
        return cls(id=uuid.uuid4(), at=at, **kwargs)  # type: ignore[arg-type]


class RefusalReason(enum.StrEnum):
    """Why the library system said no, in words the station can act on."""

    PATRON_NOT_FOUND = "patron_not_found"
    PIN_INVALID = "pin_invalid"
    PATRON_BLOCKED = "patron_blocked"
    ITEM_NOT_FOUND = "item_not_found"
    ITEM_NOT_FOR_LOAN = "item_not_for_loan"
    ITEM_LOST = "item_lost"  # registered lost or missing: it belongs at the desk, not on a loan
    ON_HOLD_FOR_ANOTHER = "on_hold_for_another"
    ALREADY_ON_LOAN = "already_on_loan"
    LIMIT_REACHED = "limit_reached"
    NOT_ON_LOAN = "not_on_loan"
    RENEWAL_REFUSED = "renewal_refused"
    HOLD_REFUSED = "hold_refused"
    OTHER = "other"


class SecurityAction(enum.StrEnum):
    """What to do with the tag's security after a loan or return (SIP2 desensitize / resensitize)."""

    WRITE = "write"  # Y, or U (unknown: write to be safe)
    LEAVE = "leave"  # N: the library system says do not touch it


class RouteKind(enum.StrEnum):
    """Where a returned item goes next."""

    RESHELVE = "reshelve"  # back on the shelf here
    HOLD_SHELF = "hold_shelf"  # a patron is waiting for it at this library
    TRANSIT = "transit"  # send to another library (owner, or a hold there)
    STAFF = "staff"  # needs a person: refused, unknown, alert without a route


@dataclass(frozen=True)
class Route:
    kind: RouteKind
    destination_id: str = ""  # library code or location (SIP2 CT)
    destination_name: str = ""  # human name of the destination library
    # For the staff slip only: never shown to the returning patron.
    hold_patron_id: str = ""
    hold_patron_name: str = ""
    alert_type: str = ""  # SIP2 CV as sent ("01", "04", ...)


@dataclass(frozen=True)
class Loan:
    item_id: str
    title: str = ""
    due: datetime | None = None
    overdue: bool = False


@dataclass(frozen=True)
class HoldReady:
    item_id: str
    title: str = ""
    pickup_library: str = ""


@dataclass(frozen=True)
class PatronAccount:
    patron_id: str
    found: bool
    pin_ok: bool | None  # None: no PIN was checked
    name: str = ""
    may_borrow: bool = False
    blocks: tuple[str, ...] = ()  # readable account blocks ("too many overdue", "card lost", ...)
    loans: tuple[Loan, ...] = ()
    holds_ready: tuple[HoldReady, ...] = ()
    fees: str = ""  # amount owed as the library system wrote it ("125.00"), "" for none
    currency: str = ""
    language: str = ""  # preferred language if the library system knows it
    screen_message: str = ""
    print_line: str = ""
    # The e-mail address the library system has (SIP2 BE), for e-mail receipts. Through the gateway only
    # `masked_email` of it, and only where the library sends receipts by e-mail; never shown in full.
    email: str = ""


def masked_email(address: str) -> str:
    """An address as a screen may show it: enough for its owner to recognise, too little for anyone else.
    Masking a masked address changes nothing.

    >>> masked_email("ande.nuolja@post.example.no")
    'a•••@p•••.no'
    >>> masked_email("not an address")
    ''
    """
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or "." not in domain:
        return ""
    host, _, top = domain.rpartition(".")
    return f"{local[0]}•••@{host[0]}•••.{top}"


@dataclass(frozen=True)
class CheckoutOutcome:
    item_id: str
    ok: bool
    title: str = ""
    due: datetime | None = None
    security: SecurityAction = SecurityAction.WRITE
    reason: RefusalReason | None = None
    screen_message: str = ""
    print_line: str = ""
    renewed: bool = False  # already on loan to this patron and renewed instead


@dataclass(frozen=True)
class CheckinOutcome:
    item_id: str
    ok: bool
    title: str = ""
    route: Route = field(default_factory=lambda: Route(RouteKind.RESHELVE))
    security: SecurityAction = SecurityAction.WRITE
    reason: RefusalReason | None = None
    screen_message: str = ""
    print_line: str = ""


@dataclass(frozen=True)
class RenewOutcome:
    item_id: str
    ok: bool
    title: str = ""
    due: datetime | None = None
    reason: RefusalReason | None = None
    screen_message: str = ""
    print_line: str = ""


@dataclass(frozen=True)
class RenewAllOutcome:
    """Renew everything a patron has (SIP2 65/66)."""

    ok: bool  # the library system accepted the request (some items may still be refused)
    renewed: tuple[str, ...] = ()
    not_renewed: tuple[str, ...] = ()
    reason: RefusalReason | None = None
    screen_message: str = ""
    print_line: str = ""


@dataclass(frozen=True)
class HoldOutcome:
    """Place, cancel or change a hold (SIP2 15/16)."""

    ok: bool
    item_id: str = ""
    title: str = ""
    available: bool = False  # on the shelf now
    queue_position: int | None = None
    pickup_id: str = ""
    pickup_library: str = ""
    reason: RefusalReason | None = None
    screen_message: str = ""
    print_line: str = ""


class CirculationStatus(enum.StrEnum):
    """Where an item is, as the library system says (the SIP2 circulation status codes)."""

    OTHER = "01"
    ON_ORDER = "02"
    AVAILABLE = "03"
    CHARGED = "04"
    CHARGED_NOT_TO_BE_RECALLED = "05"  # charged; not to be recalled until the earliest recall date
    IN_PROCESS = "06"
    RECALLED = "07"
    WAITING_ON_HOLD_SHELF = "08"
    WAITING_TO_BE_RESHELVED = "09"
    IN_TRANSIT = "10"
    CLAIMED_RETURNED = "11"
    LOST = "12"
    MISSING = "13"


@dataclass(frozen=True)
class ItemStatus:
    item_id: str
    found: bool
    title: str = ""
    circulation_status: str = ""  # a CirculationStatus value as the library system sent it ("03", ...)
    owner: str = ""
    current_location: str = ""
    due: datetime | None = None
    hold_queue_length: int = 0
    screen_message: str = ""

    @property
    def charged(self) -> bool:
        """On loan to a patron."""
        return self.circulation_status in (
            CirculationStatus.CHARGED,
            CirculationStatus.CHARGED_NOT_TO_BE_RECALLED,
        )

    @property
    def available(self) -> bool:
        """On the shelf, free to borrow."""
        return self.circulation_status == CirculationStatus.AVAILABLE


class CirculationError(Exception):
    """Base of everything a circulation service raises."""


class CirculationUnavailable(CirculationError):
    """The service could not be reached (connection refused, login failed, DNS). Nothing was sent."""


class CirculationNoReply(CirculationError):
    """A request was sent but no valid reply came. The action may or may not have happened:
    reconcile (patron's charged items, item status) before telling anyone anything."""


class CirculationProtocolError(CirculationError):
    """The service answered with something that could not be understood."""


@runtime_checkable
class Circulation(Protocol):
    """What the kiosk needs from the library system."""

    async def patron(self, patron_id: str, pin: str | None, txn: Transaction) -> PatronAccount: ...

    async def checkout(
        self, patron_id: str, item_id: str, txn: Transaction, *, pin: str | None = None
    ) -> CheckoutOutcome: ...

    async def checkin(self, item_id: str, txn: Transaction) -> CheckinOutcome: ...

    async def renew(self, patron_id: str, item_id: str, txn: Transaction) -> RenewOutcome: ...

    async def item_status(self, item_id: str) -> ItemStatus: ...

    async def end_session(self, patron_id: str) -> None: ...

    async def ping(self) -> None:
        """Cheap proof the service answers (SIP2: 99/98). Raises a `CirculationError` if not."""
        ...

    async def close(self) -> None: ...
