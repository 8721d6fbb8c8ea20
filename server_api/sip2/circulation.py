"""`Circulation` over SIP2: turns the kiosk's calls into SIP2 requests and the replies into outcomes.

Mapping decisions (the standard leaves these open):
- Patron: two 63 requests (summary "charged items", then "hold items"), because many library systems
  honour only the first 'Y' of the summary field. Every loan's id is kept (reconciliation looks a loan up
  by id), but titles and due dates come from one 17 per *shown* loan only (`shown_loans`, the first ones
  in the library system's order), at most `details_in_flight` at a time: a patron with 5,000 loans costs
  `shown_loans` requests, not 5,000.
- Refusal reasons: structured fields first, then the ILS's own words in Norwegian, Swedish, Finnish and
  English (`refusals.py`, per profile); texts no rule maps are counted (`unmapped_refusals()`). The AF text
  itself always travels as `screen_message`, AG as `print_line`.
- Nothing reaches a patron's screen as the server sent it: texts, titles, names and id lists are cleaned,
  deduplicated and capped (`shown.py`); when something had to be cleaned, the raw reply (secrets masked)
  goes to the log for staff.
- Routing of a return (10): `routing.py`, through the connection's vendor profile.
"""

from __future__ import annotations

import asyncio
import logging
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
from .codec import parse_free_date, redact_bytes
from .conversation import Reply
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
    patron_blocks,
)
from .pool import Sip2Pool
from .profiles import get_profile
from .refusals import RefusalReader
from .routing import Routing, blank
from .shown import Cleaning

log = logging.getLogger(__name__)

SUMMARY_HOLD_ITEMS = "Y" + " " * 9
SUMMARY_CHARGED_ITEMS = "  Y" + " " * 7
SHOWN_LOANS = 50  # loans whose title and due date are fetched; the rest are listed by id
RAW_LOG_LIMIT = 4096  # characters of a raw reply written to the staff log


def _security(flag: str) -> SecurityAction:
    return SecurityAction.LEAVE if flag == "N" else SecurityAction.WRITE  # Y and U: write to be safe


class Sip2Circulation:
    """The `Circulation` protocol over one SIP2 account (= one branch or kiosk location).

    Requests go through a `Sip2Pool` of `settings.pool_size` logged-in connections, so the items of a
    stack can be checked out (or in) concurrently; each connection still carries one request at a time.
    Pass `client` to pin everything to one connection, or `pool` to share a pool (the gateway)."""

    def __init__(
        self,
        settings: Sip2Settings,
        *,
        client: Sip2Client | None = None,
        pool: Sip2Pool | None = None,
        shown_loans: int = SHOWN_LOANS,
    ) -> None:
        self.settings = settings
        self.client = client
        self.pool = None if client is not None else (pool or Sip2Pool(settings))
        self.profile = get_profile(settings.profile)
        self.routing = Routing(settings, self.profile, lambda: self.acs_status)
        self.refusals = RefusalReader(self.profile.refusal_languages, self.profile.refusal_patterns)
        self.shown_loans = shown_loans
        self.details_in_flight = self.pool.max_size if self.pool is not None else 1

    async def _request(self, message: Message) -> Reply:
        if self.client is not None:
            return await self.client.exchange(message)
        assert self.pool is not None
        return await self.pool.exchange(message)

    @property
    def acs_status(self) -> AcsStatus | None:
        """What the library system said about itself (98) at the most recent login."""
        if self.client is not None:
            return self.client.acs_status
        assert self.pool is not None
        return self.pool.acs_status

    def unmapped_refusals(self) -> list[tuple[str, int]]:
        """Refusal texts no rule mapped to a reason, most frequent first (for the probe and statistics)."""
        return self.refusals.unmapped()

    # -- helpers --------------------------------------------------------------------------------------

    @property
    def _ac(self) -> str:
        return self.settings.terminal_password

    def library_name(self, code: str) -> str:
        return self.routing.library_name(code)

    def route(self, reply: CheckinResponse) -> Route:
        return self.routing.route(reply)

    def _nb_due_date(self, txn: Transaction) -> datetime | None:
        """Offline replays carry the due date the patron was given; online requests what the server wants
        (the profile's or the settings' `nb_due_date`): 18 blanks, or the transaction's own timestamp."""
        if txn.offline:
            return txn.due_date
        return txn.at if self.settings.online_nb_due_date == "transaction" else None

    def _logged(self, reply: Reply, cleaning: Cleaning) -> None:
        """When something of a reply had to be cleaned: the raw reply for staff, secrets masked."""
        if not cleaning.notes:
            return
        raw = redact_bytes(reply.raw, charset=self.settings.charset)
        if len(raw) > RAW_LOG_LIMIT:
            raw = f"{raw[:RAW_LOG_LIMIT]}... ({len(reply.raw)} bytes)"
        log.warning(
            "SIP2 %s reply cleaned before it was shown (%s); raw reply: %r",
            reply.message.CODE,
            "; ".join(cleaning.notes),
            raw,
        )

    def _refusal(self, reply: Message, screen: str, default: RefusalReason) -> RefusalReason:
        return self.refusals.reason(reply, screen, default)

    async def _item_info(self, item_id: str) -> ItemInformationResponse:
        reply = await self._request(
            ItemInformationRequest(
                transaction_date=datetime.now(),
                institution_id=self.settings.institution,
                item_identifier=item_id,
                terminal_password=self._ac or None,
            )
        )
        assert isinstance(reply.message, ItemInformationResponse)
        return reply.message

    async def _items_info(self, item_ids: tuple[str, ...]) -> list[ItemInformationResponse]:
        """One 17 per item, at most `details_in_flight` at a time."""
        in_flight = asyncio.Semaphore(self.details_in_flight)

        async def one(item_id: str) -> ItemInformationResponse:
            async with in_flight:
                return await self._item_info(item_id)

        return list(await asyncio.gather(*(one(item_id) for item_id in item_ids)))

    async def _patron_info(
        self, patron_id: str, pin: str | None, at: datetime, summary: str
    ) -> tuple[PatronInformationResponse, Reply]:
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
        assert isinstance(reply.message, PatronInformationResponse)
        return reply.message, reply

    # -- Circulation ----------------------------------------------------------------------------------

    async def patron(self, patron_id: str, pin: str | None, txn: Transaction) -> PatronAccount:
        info, raw = await self._patron_info(patron_id, pin, txn.at, SUMMARY_CHARGED_ITEMS)
        clean = Cleaning()
        found = info.valid_patron == "Y" if info.valid_patron is not None else bool(info.personal_name)
        pin_ok: bool | None = None
        if pin is not None and info.valid_patron_password is not None:
            pin_ok = info.valid_patron_password == "Y"
        name = clean.text(info.personal_name, where="AE")
        screen, printed = clean.lines(info.screen_message, "AF"), clean.lines(info.print_line, "AG")
        if not found or pin_ok is False:
            self._logged(raw, clean)
            return PatronAccount(
                patron_id=patron_id,
                found=found,
                pin_ok=pin_ok,
                name=name if found else "",
                screen_message=screen,
                print_line=printed,
            )
        charged = clean.ids(info.charged_items, "AU")
        if charged and info.charged_items_count < len(charged):
            clean.count(info.charged_items_count, charged, "charged items")
        self._logged(raw, clean)
        loans = await self._loans(charged, txn.at)
        holds = await self._holds_ready(patron_id, pin, txn.at) if info.hold_items_count else ()
        fees = clean.text(info.fee_amount, 20, "BV")
        if fees and _is_zero(fees):
            fees = ""
        return PatronAccount(
            patron_id=patron_id,
            found=True,
            pin_ok=pin_ok,
            name=name,
            may_borrow=info.patron_status[0] != "Y",
            blocks=patron_blocks(info.patron_status),
            loans=loans,
            holds_ready=holds,
            fees=fees,
            currency=clean.text(info.currency_type, 3, "BH") if fees else "",
            language=info.language if info.language != "000" else "",
            screen_message=screen,
            print_line=printed,
        )

    async def _loans(self, item_ids: tuple[str, ...], now: datetime) -> tuple[Loan, ...]:
        """Every loan by id; title and due date for the first `shown_loans`."""
        shown = item_ids[: self.shown_loans]
        loans = []
        clean = Cleaning()
        for item_id, item in zip(shown, await self._items_info(shown), strict=True):
            due = parse_free_date(item.due_date)
            title = clean.text(item.title_identifier, where="AJ")
            loans.append(Loan(item_id=item_id, title=title, due=due, overdue=_overdue(due, now)))
        loans += [Loan(item_id=item_id) for item_id in item_ids[self.shown_loans :]]
        return tuple(loans)

    async def _holds_ready(self, patron_id: str, pin: str | None, at: datetime) -> tuple[HoldReady, ...]:
        hold_info, raw = await self._patron_info(patron_id, pin, at, SUMMARY_HOLD_ITEMS)
        clean = Cleaning()
        item_ids = clean.ids(hold_info.hold_items, "AS")[: self.shown_loans]
        self._logged(raw, clean)
        holds = []
        for item_id, item in zip(item_ids, await self._items_info(item_ids), strict=True):
            pickup = clean.text(item.current_location, where="AP")
            holds.append(
                HoldReady(
                    item_id=item_id,
                    title=clean.text(item.title_identifier, where="AJ"),
                    pickup_library=self.library_name(pickup) or pickup,
                )
            )
        return tuple(holds)

    async def checkout(
        self, patron_id: str, item_id: str, txn: Transaction, *, pin: str | None = None
    ) -> CheckoutOutcome:
        raw = await self._request(
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
        reply = raw.message
        assert isinstance(reply, CheckoutResponse)
        clean = Cleaning()
        screen, printed = clean.lines(reply.screen_message, "AF"), clean.lines(reply.print_line, "AG")
        title = clean.text(reply.title_identifier, where="AJ")
        self._logged(raw, clean)
        if not reply.ok:
            return CheckoutOutcome(
                item_id=item_id,
                ok=False,
                title=title,
                security=SecurityAction.LEAVE,
                reason=self._refusal(reply, screen, RefusalReason.OTHER),
                screen_message=screen,
                print_line=printed,
            )
        return CheckoutOutcome(
            item_id=item_id,
            ok=True,
            title=title,
            due=parse_free_date(reply.due_date),
            security=_security(reply.desensitize),
            screen_message=screen,
            print_line=printed,
            renewed=reply.renewal_ok,
        )

    async def checkin(self, item_id: str, txn: Transaction) -> CheckinOutcome:
        raw = await self._request(
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
        reply = raw.message
        assert isinstance(reply, CheckinResponse)
        clean = Cleaning()
        # What the patron may see or take home: never who a hold is for.
        hidden = self.routing.hidden(reply)
        screen = blank(clean.lines(reply.screen_message, "AF"), hidden)
        printed = blank(clean.lines(reply.print_line, "AG"), hidden)
        title = clean.text(reply.title_identifier, where="AJ")
        self._logged(raw, clean)
        if not reply.ok:
            return CheckinOutcome(
                item_id=item_id,
                ok=False,
                title=title,
                route=Route(RouteKind.STAFF, alert_type=self.routing.field(reply, "alert_type")),
                security=SecurityAction.LEAVE,  # a refused return leaves the tag as it was
                reason=self._refusal(reply, screen, RefusalReason.OTHER),
                screen_message=screen,
                print_line=printed,
            )
        return CheckinOutcome(
            item_id=item_id,
            ok=True,
            title=title,
            route=self.route(reply),
            security=_security(reply.resensitize),
            screen_message=screen,
            print_line=printed,
        )

    async def renew(self, patron_id: str, item_id: str, txn: Transaction) -> RenewOutcome:
        raw = await self._request(
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
        reply = raw.message
        assert isinstance(reply, RenewResponse)
        clean = Cleaning()
        screen, printed = clean.lines(reply.screen_message, "AF"), clean.lines(reply.print_line, "AG")
        title = clean.text(reply.title_identifier, where="AJ")
        self._logged(raw, clean)
        return RenewOutcome(
            item_id=item_id,
            ok=reply.ok,
            title=title,
            due=parse_free_date(reply.due_date) if reply.ok else None,
            reason=None if reply.ok else self._refusal(reply, screen, RefusalReason.RENEWAL_REFUSED),
            screen_message=screen,
            print_line=printed,
        )

    async def renew_all(self, patron_id: str, txn: Transaction, *, pin: str | None = None) -> RenewAllOutcome:
        """Renew every loan of the patron (65). Not part of `Circulation`: SIP2-specific."""
        raw = await self._request(
            RenewAllRequest(
                transaction_date=txn.at,
                institution_id=self.settings.institution,
                patron_identifier=patron_id,
                patron_password=pin,
                terminal_password=self._ac or None,
            )
        )
        reply = raw.message
        assert isinstance(reply, RenewAllResponse)
        clean = Cleaning()
        screen, printed = clean.lines(reply.screen_message, "AF"), clean.lines(reply.print_line, "AG")
        renewed, refused = clean.ids(reply.renewed_items, "BM"), clean.ids(reply.unrenewed_items, "BN")
        clean.count(reply.renewed_count, renewed, "renewed count")
        clean.count(reply.unrenewed_count, refused, "unrenewed count")
        self._logged(raw, clean)
        return RenewAllOutcome(
            ok=reply.ok,
            renewed=renewed,
            not_renewed=refused,
            reason=None if reply.ok else self._refusal(reply, screen, RefusalReason.RENEWAL_REFUSED),
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
        raw = await self._request(
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
        reply = raw.message
        assert isinstance(reply, HoldResponse)
        clean = Cleaning()
        screen, printed = clean.lines(reply.screen_message, "AF"), clean.lines(reply.print_line, "AG")
        position = (reply.queue_position or "").strip()
        where = clean.text(reply.pickup_location, where="BS")
        self._logged(raw, clean)
        refused = None if reply.ok else self._refusal(reply, screen, RefusalReason.HOLD_REFUSED)
        return HoldOutcome(
            ok=reply.ok,
            item_id=reply.item_identifier or item_id or "",
            title=clean.text(reply.title_identifier, where="AJ"),
            available=reply.available,
            queue_position=int(position) if position.isdigit() and len(position) < 7 else None,
            pickup_id=where,
            pickup_library=self.library_name(where),
            reason=None if refused is None else _hold_reason(refused),
            screen_message=screen,
            print_line=printed,
        )

    async def item_status(self, item_id: str) -> ItemStatus:
        reply = await self._item_info(item_id)
        clean = Cleaning()
        # An unknown item comes back with an empty title and status 01 ("other") in most systems.
        found = bool(reply.title_identifier) or reply.circulation_status not in ("01", "13")
        queue = (reply.hold_queue_length or "0").strip()
        return ItemStatus(
            item_id=item_id,
            found=found,
            title=clean.text(reply.title_identifier, where="AJ"),
            circulation_status=reply.circulation_status,
            owner=clean.text(reply.owner, where="BG"),
            current_location=clean.text(reply.current_location, where="AP"),
            due=parse_free_date(reply.due_date),
            hold_queue_length=int(queue) if queue.isdigit() and len(queue) < 7 else 0,
            screen_message=clean.lines(reply.screen_message, "AF"),
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
        reply = (await self._request(ScStatus())).message
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
