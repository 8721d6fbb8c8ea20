"""`Circulation` over SIP2: turns the kiosk's calls into SIP2 requests and the replies into outcomes.

Mapping decisions (the standard leaves these open):
- Patron: `circulation_base.py` (every loan by id, details only for the shown ones).
- Refusal reasons: structured fields first, then the ILS's own words in Norwegian, Swedish, Finnish and
  English (`refusals.py`, per profile); texts no rule maps are counted (`unmapped_refusals()`). The AF text
  itself always travels as `screen_message`, AG as `print_line`.
- Nothing reaches a patron's screen as the server sent it: texts, titles, names and id lists are cleaned,
  deduplicated and capped (`shown.py`); when something had to be cleaned, the raw reply (secrets masked)
  goes to the log for staff.
- Routing of a return (10): `routing.py`, through the connection's vendor profile.
"""

from __future__ import annotations

from datetime import datetime

from server_api.circulation import (
    CheckinOutcome,
    CheckoutOutcome,
    CirculationProtocolError,
    CirculationUnavailable,
    HoldOutcome,
    ItemStatus,
    RefusalReason,
    RenewAllOutcome,
    RenewOutcome,
    Route,
    RouteKind,
    SecurityAction,
    Transaction,
)

from .circulation_base import SHOWN_LOANS, Sip2CirculationBase
from .client import Sip2Settings
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
    RenewAllRequest,
    RenewAllResponse,
    RenewRequest,
    RenewResponse,
    ScStatus,
)
from .routing import blank
from .shown import Cleaning


def _security(flag: str) -> SecurityAction:
    return SecurityAction.LEAVE if flag == "N" else SecurityAction.WRITE  # Y and U: write to be safe


class Sip2Circulation(Sip2CirculationBase):
    """The `Circulation` protocol over one SIP2 account (= one branch or kiosk location).

    Requests go through a `Sip2Pool` of `settings.pool_size` logged-in connections, so the items of a
    stack can be checked out (or in) concurrently; each connection still carries one request at a time.
    Pass `client` to pin everything to one connection, or `pool` to share a pool (the gateway)."""

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
        if self.pool is not None:
            # The library system answers: open the pool's `pool_min_size` connections now (in the
            # background), ahead of the first stack; it grows from there to `pool_size` on demand.
            await self.pool.warm()

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


__all__ = ["SHOWN_LOANS", "Sip2Circulation", "Sip2Settings"]
