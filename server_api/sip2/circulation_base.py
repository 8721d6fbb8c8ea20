"""What every call of `Sip2Circulation` needs (the pool or pinned connection, the profile's routing and
refusal reading, cleaning what is shown, logging the raw reply for staff) and reading a patron's account.

A patron's account lists every loan by id (reconciliation looks a loan up by id), but titles and due
dates come from one 17 per *shown* loan only (`shown_loans`, the first ones in the library system's
order), at most `details_in_flight` at a time: a patron with 5,000 loans costs `shown_loans` requests.
Two 63 requests (summary "charged items", then "hold items"), because many library systems honour only
the first 'Y' of the summary field.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from server_api.circulation import (
    HoldReady,
    Loan,
    PatronAccount,
    RefusalReason,
    Route,
    Transaction,
)

from .client import Sip2Client, Sip2Settings
from .codec import parse_free_date
from .conversation import Reply
from .messages import (
    AcsStatus,
    CheckinResponse,
    ItemInformationRequest,
    ItemInformationResponse,
    Message,
    PatronInformationRequest,
    PatronInformationResponse,
    patron_blocks,
)
from .pool import Sip2Pool
from .profiles import get_profile
from .redaction import redact_bytes
from .refusals import RefusalReader
from .routing import Routing
from .shown import Cleaning

log = logging.getLogger("server_api.sip2.circulation")

SUMMARY_HOLD_ITEMS = "Y" + " " * 9
SUMMARY_CHARGED_ITEMS = "  Y" + " " * 7
SHOWN_LOANS = 50  # loans whose title and due date are fetched; the rest are listed by id
RAW_LOG_LIMIT = 4096  # characters of a raw reply written to the staff log


class Sip2CirculationBase:
    """The plumbing of `Sip2Circulation` over one SIP2 account (= one branch or kiosk location).

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

    # -- the patron's account -------------------------------------------------------------------------

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
            email=clean.text(info.email_address, where="BE"),
        )

    async def patron_email(self, patron_id: str) -> str:
        """The patron's e-mail address (SIP2 BE) from one 63 without lists ("" when none or no such
        patron): for the gateway's e-mail receipts, which ask for it when they send and keep nothing."""
        info, _ = await self._patron_info(patron_id, None, datetime.now(), " " * 10)
        if info.valid_patron == "N":
            return ""
        return Cleaning().text(info.email_address, where="BE")

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


__all__ = ["RAW_LOG_LIMIT", "SHOWN_LOANS", "Sip2CirculationBase"]
