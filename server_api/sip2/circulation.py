"""`Circulation` over SIP2: turns the kiosk's calls into SIP2 requests and the replies into outcomes.

Mapping decisions (the standard leaves these open):
- Patron: two 63 requests (summary "charged items", then "hold items"), because many library systems
  honour only the first 'Y' of the summary field. Titles and due dates of loans and ready holds come
  from one 17 per item (64 lists only item ids).
- Refusal reasons: SIP2 has no reason codes. We use flags where they exist (CQ=N -> PIN), then match
  the ILS's own screen message (AF) against Norwegian and English phrases (`REASON_PATTERNS`). The AF
  text itself always travels as `screen_message`, AG as `print_line`.
- Routing of a return (10) is read through the connection's vendor profile (`profiles.py`), which names
  the field for each role: destination (CT), alert type (CV), hold patron id (CY) and name (DA); a role
  the system does not send is ignored even when the field is present. Then: alert type 01 -> hold shelf
  here; 02/03/04 -> transit to the destination; a destination naming another place than this kiosk's
  location/institution -> transit; 02/03/04 without a destination, or an alert without a route -> staff;
  else reshelve. The destination's *name* comes from `Sip2Settings.library_names` (code -> name). The
  destination is a code (in the demo ILS the 7-digit library number, as in NOR-RFID's owner library); a
  consortium's library list is configuration the kiosk has anyway. If the code is missing from the
  table, and it is the library we are logged in to, the ACS's own name from 98 (AM) is used.
- Who a hold is for goes to the staff slip only (`Route.hold_patron_*`), and the hold patron id only when
  the profile says it is a card number (`cy_is="card"`): an internal database id is never passed on as
  a card number. The texts that reach the patron (AF/AG of the 10) have the hold patron's name and id
  blanked, in case an ILS puts them there.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime

from server_api.circulation import (
    CheckinOutcome,
    CheckoutOutcome,
    CirculationProtocolError,
    CirculationUnavailable,
    HoldOutcome,
    HoldReady,
    ItemStatus,
    Loan,
    PatronAccount,
    RefusalReason,
    RenewAllOutcome,
    RenewOutcome,
    Route,
    RouteKind,
    SecurityAction,
    Transaction,
)

from .client import Sip2Client, Sip2Settings
from .codec import parse_free_date
from .messages import (
    AcsStatus,
    CheckinRequest,
    CheckinResponse,
    CheckoutRequest,
    CheckoutResponse,
    EndPatronSessionRequest,
    HoldRequest,
    HoldResponse,
    ItemInformationRequest,
    ItemInformationResponse,
    Message,
    PatronInformationRequest,
    PatronInformationResponse,
    RenewAllRequest,
    RenewAllResponse,
    RenewRequest,
    RenewResponse,
    ScStatus,
    layout,
    patron_blocks,
)
from .pool import Sip2Pool
from .profiles import get_profile

SUMMARY_HOLD_ITEMS = "Y" + " " * 9
SUMMARY_CHARGED_ITEMS = "  Y" + " " * 7

# First match wins; checked against the joined AF text, case-insensitively.
REASON_PATTERNS: tuple[tuple[RefusalReason, re.Pattern[str]], ...] = tuple(
    (reason, re.compile(pattern, re.IGNORECASE))
    for reason, pattern in (
        (RefusalReason.PIN_INVALID, r"\bpin\b|passord|password"),
        (
            RefusalReason.PATRON_NOT_FOUND,
            r"ukjent låner|låner(en)? finnes ikke|patron not found|invalid patron",
        ),
        (RefusalReason.ON_HOLD_FOR_ANOTHER, r"reservert|on hold|reserved"),
        (RefusalReason.ALREADY_ON_LOAN, r"allerede utlånt|already (checked out|on loan)"),
        (RefusalReason.LIMIT_REACHED, r"maks|for mange lån|limit|too many"),
        (RefusalReason.PATRON_BLOCKED, r"sperret|blokkert|gebyr|blocked|debarred|fines|fees"),
        (RefusalReason.ITEM_NOT_FOR_LOAN, r"ikke til utlån|not for loan|referanse"),
        (RefusalReason.ITEM_LOST, r"\btapt\b|savnet|\blost\b|\bmissing\b"),
        (
            RefusalReason.ITEM_NOT_FOUND,
            r"ukjent eksemplar|eksemplaret finnes ikke|item not found|unknown item",
        ),
        (RefusalReason.NOT_ON_LOAN, r"ikke utlånt|not (checked out|on loan)"),
        (RefusalReason.RENEWAL_REFUSED, r"forny|renew"),
    )
)


def refusal_reason(reply: Message, screen_message: str, default: RefusalReason) -> RefusalReason:
    """Best reading of why the ILS refused: flags first, then its own words."""
    if reply.get_extra("CQ") == "N":  # some systems add CQ to 12/30 when AD was wrong
        return RefusalReason.PIN_INVALID
    for reason, pattern in REASON_PATTERNS:
        if pattern.search(screen_message):
            return reason
    return default


def _security(flag: str) -> SecurityAction:
    return SecurityAction.LEAVE if flag == "N" else SecurityAction.WRITE  # Y and U: write to be safe


def _joined(lines: tuple[str, ...]) -> str:
    return " ".join(line for line in lines if line)


class Sip2Circulation:
    """The `Circulation` protocol over one SIP2 account (= one branch or kiosk location).

    Requests go through a `Sip2Pool` of `settings.pool_size` logged-in connections, so the items of a
    stack can be checked out (or in) concurrently; each connection still carries one request at a time.
    Pass `client` to pin everything to one connection, or `pool` to share a pool (the gateway)."""

    def __init__(
        self, settings: Sip2Settings, *, client: Sip2Client | None = None, pool: Sip2Pool | None = None
    ) -> None:
        self.settings = settings
        self.client = client
        self.pool = None if client is not None else (pool or Sip2Pool(settings))
        self.profile = get_profile(settings.profile)

    async def _request(self, message: Message) -> Message:
        if self.client is not None:
            return await self.client.request(message)
        assert self.pool is not None
        return await self.pool.request(message)

    @property
    def acs_status(self) -> AcsStatus | None:
        """What the library system said about itself (98) at the most recent login."""
        if self.client is not None:
            return self.client.acs_status
        assert self.pool is not None
        return self.pool.acs_status

    # -- helpers --------------------------------------------------------------------------------------

    @property
    def _ac(self) -> str:
        return self.settings.terminal_password

    def library_name(self, code: str) -> str:
        if not code:
            return ""
        name = self.settings.library_names.get(code)
        if name:
            return name
        status = self.acs_status
        if status is None or not status.library_name:
            return ""
        if code == status.institution_id or self._is_here(code):
            return status.library_name  # the library we are logged in to (FOLIO: "here" is a service point)
        return ""

    def _nb_due_date(self, txn: Transaction) -> datetime | None:
        """Offline replays carry the due date the patron was given; online requests what the server wants
        (the profile's or the settings' `nb_due_date`): 18 blanks, or the transaction's own timestamp."""
        if txn.offline:
            return txn.due_date
        return txn.at if self.settings.online_nb_due_date == "transaction" else None

    def _is_here(self, code: str) -> bool:
        return code in {c for c in (self.settings.location, self.settings.institution) if c}

    async def _item_info(self, item_id: str) -> ItemInformationResponse:
        reply = await self._request(
            ItemInformationRequest(
                transaction_date=datetime.now(),
                institution_id=self.settings.institution,
                item_identifier=item_id,
                terminal_password=self._ac or None,
            )
        )
        assert isinstance(reply, ItemInformationResponse)
        return reply

    async def _items_info(self, item_ids: tuple[str, ...]) -> list[ItemInformationResponse]:
        return list(await asyncio.gather(*(self._item_info(item_id) for item_id in item_ids)))

    async def _patron_info(
        self, patron_id: str, pin: str | None, at: datetime, summary: str
    ) -> PatronInformationResponse:
        reply = await self._request(
            PatronInformationRequest(
                transaction_date=at,
                summary=summary,
                institution_id=self.settings.institution,
                patron_identifier=patron_id,
                terminal_password=self._ac or None,
                patron_password=pin,
            )
        )
        assert isinstance(reply, PatronInformationResponse)
        return reply

    # -- Circulation ----------------------------------------------------------------------------------

    async def patron(self, patron_id: str, pin: str | None, txn: Transaction) -> PatronAccount:
        info = await self._patron_info(patron_id, pin, txn.at, SUMMARY_CHARGED_ITEMS)
        found = info.valid_patron == "Y" if info.valid_patron is not None else bool(info.personal_name)
        pin_ok: bool | None = None
        if pin is not None and info.valid_patron_password is not None:
            pin_ok = info.valid_patron_password == "Y"
        blocks = patron_blocks(info.patron_status)
        screen, printed = _joined(info.screen_message), _joined(info.print_line)
        if not found or pin_ok is False:
            return PatronAccount(
                patron_id=patron_id,
                found=found,
                pin_ok=pin_ok,
                name=info.personal_name if found else "",
                screen_message=screen,
                print_line=printed,
            )
        loans = []
        # One 17 per item, concurrently over the pool's connections.
        for item_id, item in zip(info.charged_items, await self._items_info(info.charged_items), strict=True):
            due = parse_free_date(item.due_date)
            loans.append(
                Loan(item_id=item_id, title=item.title_identifier, due=due, overdue=_overdue(due, txn.at))
            )
        holds = []
        if info.hold_items_count:
            hold_info = await self._patron_info(patron_id, pin, txn.at, SUMMARY_HOLD_ITEMS)
            items = await self._items_info(hold_info.hold_items)
            for item_id, item in zip(hold_info.hold_items, items, strict=True):
                pickup = item.current_location or ""
                holds.append(
                    HoldReady(
                        item_id=item_id,
                        title=item.title_identifier,
                        pickup_library=self.library_name(pickup) or pickup,
                    )
                )
        fees = info.fee_amount or ""
        if fees and _is_zero(fees):
            fees = ""
        return PatronAccount(
            patron_id=patron_id,
            found=True,
            pin_ok=pin_ok,
            name=info.personal_name,
            may_borrow=info.patron_status[0] != "Y",
            blocks=blocks,
            loans=tuple(loans),
            holds_ready=tuple(holds),
            fees=fees,
            currency=(info.currency_type or "") if fees else "",
            language=info.language if info.language != "000" else "",
            screen_message=screen,
            print_line=printed,
        )

    async def checkout(
        self, patron_id: str, item_id: str, txn: Transaction, *, pin: str | None = None
    ) -> CheckoutOutcome:
        reply = await self._request(
            CheckoutRequest(
                sc_renewal_policy=True,
                no_block=txn.offline,
                transaction_date=txn.at,
                nb_due_date=self._nb_due_date(txn),
                institution_id=self.settings.institution,
                patron_identifier=patron_id,
                item_identifier=item_id,
                terminal_password=self._ac,
                patron_password=pin,
            )
        )
        assert isinstance(reply, CheckoutResponse)
        screen, printed = _joined(reply.screen_message), _joined(reply.print_line)
        if not reply.ok:
            return CheckoutOutcome(
                item_id=item_id,
                ok=False,
                title=reply.title_identifier,
                security=SecurityAction.LEAVE,
                reason=refusal_reason(reply, screen, RefusalReason.OTHER),
                screen_message=screen,
                print_line=printed,
            )
        return CheckoutOutcome(
            item_id=item_id,
            ok=True,
            title=reply.title_identifier,
            due=parse_free_date(reply.due_date),
            security=_security(reply.desensitize),
            screen_message=screen,
            print_line=printed,
            renewed=reply.renewal_ok,
        )

    async def checkin(self, item_id: str, txn: Transaction) -> CheckinOutcome:
        reply = await self._request(
            CheckinRequest(
                no_block=txn.offline,
                transaction_date=txn.at,
                return_date=txn.at,
                current_location=self.settings.location,
                institution_id=self.settings.institution,
                item_identifier=item_id,
                terminal_password=self._ac,
            )
        )
        assert isinstance(reply, CheckinResponse)
        # What the patron may see or take home: never who a hold is for.
        hidden = (self._field(reply, "hold_patron_name"), self._field(reply, "hold_patron_id"))
        screen = _blank(_joined(reply.screen_message), hidden)
        printed = _blank(_joined(reply.print_line), hidden)
        if not reply.ok:
            return CheckinOutcome(
                item_id=item_id,
                ok=False,
                title=reply.title_identifier or "",
                route=Route(RouteKind.STAFF, alert_type=self._field(reply, "alert_type")),
                security=SecurityAction.LEAVE,  # a refused return leaves the tag as it was
                reason=refusal_reason(reply, screen, RefusalReason.OTHER),
                screen_message=screen,
                print_line=printed,
            )
        return CheckinOutcome(
            item_id=item_id,
            ok=True,
            title=reply.title_identifier or "",
            route=self.route(reply),
            security=_security(reply.resensitize),
            screen_message=screen,
            print_line=printed,
        )

    def _field(self, reply: CheckinResponse, role: str) -> str:
        """The value of a routing role (destination, alert_type, hold_patron_id, hold_patron_name) in the
        field the connection's profile names for it; "" when the profile says the system does not send it."""
        code: str = getattr(self.profile, f"{role}_field")
        return field_value(reply, code).strip() if code else ""

    def route(self, reply: CheckinResponse) -> Route:
        """Where a returned item goes, from the 10's alert flag and the routing fields its profile names."""
        cv = self._field(reply, "alert_type")
        ct = self._field(reply, "destination")
        cy = self._field(reply, "hold_patron_id")
        common = {
            "hold_patron_id": cy if self.profile.hold_patron_id_is_card else "",
            "hold_patron_name": self._field(reply, "hold_patron_name"),
            "alert_type": cv,
        }
        if cv == "01":
            here = ct or self.settings.location or self.settings.institution
            return Route(
                RouteKind.HOLD_SHELF, destination_id=here, destination_name=self.library_name(here), **common
            )
        if cv in ("02", "03", "04") or (ct and not self._is_here(ct)):
            if not ct:
                return Route(RouteKind.STAFF, **common)  # "send elsewhere" without saying where
            return Route(
                RouteKind.TRANSIT, destination_id=ct, destination_name=self.library_name(ct), **common
            )
        if reply.alert:
            return Route(RouteKind.STAFF, destination_id=ct, **common)
        return Route(RouteKind.RESHELVE)

    async def renew(self, patron_id: str, item_id: str, txn: Transaction) -> RenewOutcome:
        reply = await self._request(
            RenewRequest(
                no_block=txn.offline,
                transaction_date=txn.at,
                nb_due_date=self._nb_due_date(txn),
                institution_id=self.settings.institution,
                patron_identifier=patron_id,
                item_identifier=item_id,
                terminal_password=self._ac or None,
            )
        )
        assert isinstance(reply, RenewResponse)
        screen, printed = _joined(reply.screen_message), _joined(reply.print_line)
        return RenewOutcome(
            item_id=item_id,
            ok=reply.ok,
            title=reply.title_identifier,
            due=parse_free_date(reply.due_date) if reply.ok else None,
            reason=None if reply.ok else refusal_reason(reply, screen, RefusalReason.RENEWAL_REFUSED),
            screen_message=screen,
            print_line=printed,
        )

    async def renew_all(self, patron_id: str, txn: Transaction, *, pin: str | None = None) -> RenewAllOutcome:
        """Renew every loan of the patron (65). Not part of `Circulation`: SIP2-specific."""
        reply = await self._request(
            RenewAllRequest(
                transaction_date=txn.at,
                institution_id=self.settings.institution,
                patron_identifier=patron_id,
                patron_password=pin,
                terminal_password=self._ac or None,
            )
        )
        assert isinstance(reply, RenewAllResponse)
        screen, printed = _joined(reply.screen_message), _joined(reply.print_line)
        return RenewAllOutcome(
            ok=reply.ok,
            renewed=reply.renewed_items,
            not_renewed=reply.unrenewed_items,
            reason=None if reply.ok else refusal_reason(reply, screen, RefusalReason.RENEWAL_REFUSED),
            screen_message=screen,
            print_line=printed,
        )

    async def hold(
        self,
        patron_id: str,
        txn: Transaction,
        *,
        item_id: str | None = None,
        title: str | None = None,
        mode: str = "+",
        pickup: str | None = None,
        pin: str | None = None,
    ) -> HoldOutcome:
        """Place (+), cancel (-) or change (*) a hold (15) on an item or a title."""
        if mode not in ("+", "-", "*"):
            raise ValueError(f"hold mode must be '+', '-' or '*', got {mode!r}")
        reply = await self._request(
            HoldRequest(
                hold_mode=mode,
                transaction_date=txn.at,
                pickup_location=pickup,
                hold_type="3" if item_id else ("2" if title else None),
                institution_id=self.settings.institution,
                patron_identifier=patron_id,
                patron_password=pin,
                item_identifier=item_id,
                title_identifier=title,
                terminal_password=self._ac or None,
            )
        )
        assert isinstance(reply, HoldResponse)
        screen, printed = _joined(reply.screen_message), _joined(reply.print_line)
        position = (reply.queue_position or "").strip()
        where = reply.pickup_location or ""
        return HoldOutcome(
            ok=reply.ok,
            item_id=reply.item_identifier or item_id or "",
            title=reply.title_identifier or "",
            available=reply.available,
            queue_position=int(position) if position.isdigit() else None,
            pickup_id=where,
            pickup_library=self.library_name(where),
            reason=None
            if reply.ok
            else _hold_reason(refusal_reason(reply, screen, RefusalReason.HOLD_REFUSED)),
            screen_message=screen,
            print_line=printed,
        )

    async def item_status(self, item_id: str) -> ItemStatus:
        reply = await self._item_info(item_id)
        # An unknown item comes back with an empty title and status 01 ("other") in most systems.
        found = bool(reply.title_identifier) or reply.circulation_status not in ("01", "13")
        queue = (reply.hold_queue_length or "0").strip()
        return ItemStatus(
            item_id=item_id,
            found=found,
            title=reply.title_identifier,
            circulation_status=reply.circulation_status,
            owner=reply.owner or "",
            current_location=reply.current_location or "",
            due=parse_free_date(reply.due_date),
            hold_queue_length=int(queue) if queue.isdigit() else 0,
            screen_message=_joined(reply.screen_message),
        )

    async def end_session(self, patron_id: str) -> None:
        await self._request(
            EndPatronSessionRequest(
                transaction_date=datetime.now(),
                institution_id=self.settings.institution,
                patron_identifier=patron_id,
                terminal_password=self._ac or None,
            )
        )

    async def ping(self) -> None:
        reply = await self._request(ScStatus())
        if not isinstance(reply, AcsStatus):
            raise CirculationProtocolError(f"SC status answered with {type(reply).__name__}")
        if not reply.online_status:
            raise CirculationUnavailable("the library system says it is off-line (98 online status N)")

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()
        if self.pool is not None:
            await self.pool.close()


# Reasons a hold refusal can carry; anything else ("already reserved", "on hold") is a plain hold refusal.
_HOLD_REASONS = frozenset(
    {
        RefusalReason.PIN_INVALID,
        RefusalReason.PATRON_NOT_FOUND,
        RefusalReason.PATRON_BLOCKED,
        RefusalReason.ITEM_NOT_FOUND,
        RefusalReason.ITEM_NOT_FOR_LOAN,
    }
)


def field_value(message: Message, code: str) -> str:
    """The value of variable field `code` in `message`, known or extension ("" when absent); repeated
    fields are joined with spaces."""
    for spec in layout(type(message))[1]:
        if spec.code == code:
            value = getattr(message, spec.name)
            if isinstance(value, tuple):
                return _joined(value)
            return value or ""
    return " ".join(v for k, v in message.extra if k == code and v)


def _blank(text: str, hidden: tuple[str, ...]) -> str:
    for value in hidden:
        if len(value) >= 2:  # a one-letter "name" would blank half the text
            text = re.sub(re.escape(value), "***", text, flags=re.IGNORECASE)
    return text


def _hold_reason(reason: RefusalReason) -> RefusalReason:
    return reason if reason in _HOLD_REASONS else RefusalReason.HOLD_REFUSED


def _overdue(due: datetime | None, now: datetime) -> bool:
    if due is None:
        return False
    if (due.tzinfo is None) != (now.tzinfo is None):
        return False  # cannot compare local and UTC times honestly
    return due < now


def _is_zero(amount: str) -> bool:
    try:
        return float(amount.replace(",", ".")) == 0
    except ValueError:
        return False
