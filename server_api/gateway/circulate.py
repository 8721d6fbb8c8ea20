"""Stacks of circulation actions, carried out exactly once over the SIP2 pool of the device's library.

One item's path (`Carrier.carry`): claim its key in the ledger (durable) → send over SIP2 → settle the
outcome (durable) → answer. The items of a stack run concurrently, bounded by the account's pool.

When a request went out and no reply came, the gateway finds out itself, the way the station does: a
checkout happened if the patron's charged items (63) list the item, a checkin if the item (17) is no longer
charged. Only an action that certainly did not happen is sent again; one that cannot be settled stays
UNKNOWN, and the next question about its key (a repeat, `GET /v1/transactions/{id}`, the start of a
gateway) asks again. A renewal is sent again, as the station does: it extends the same loan.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Connection

from server_api.circulation import (
    CheckinOutcome,
    CheckoutOutcome,
    CirculationError,
    CirculationNoReply,
    CirculationUnavailable,
    RenewOutcome,
    Route,
    RouteKind,
    Transaction,
)
from server_api.sip2 import Sip2Circulation, Sip2Pools

from .config import GatewayConfig
from .devices import Device
from .ledger import Claim, Entry, GroupWriter, Ledger, Settlement, State
from .storage import run
from .wire import ItemState, TransactionIn

log = logging.getLogger(__name__)

Outcome = CheckoutOutcome | CheckinOutcome | RenewOutcome
CHARGED = "04"
POLL_SECONDS = 0.05
EXPIRE_EVERY = 3600.0  # seconds between two passes that forget old settled keys
KEY_REUSED = "this transaction id was used for another action (or another library)"
OUTCOME_TYPES: dict[str, type[Any]] = {
    "checkout": CheckoutOutcome,
    "checkin": CheckinOutcome,
    "renew": RenewOutcome,
}


# Made once: building a TypeAdapter compiles a schema (milliseconds), validating with one is cheap.
ADAPTERS: dict[str, TypeAdapter[Any]] = {name: TypeAdapter(kind) for name, kind in OUTCOME_TYPES.items()}
ADAPTER_FOR: dict[type[Any], TypeAdapter[Any]] = {OUTCOME_TYPES[name]: a for name, a in ADAPTERS.items()}


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    result: dict[str, Any] = ADAPTER_FOR[type(outcome)].dump_python(outcome, mode="json")
    return result


def outcome_of(operation: str, data: dict[str, Any]) -> Outcome:
    value: Outcome = ADAPTERS[operation].validate_python(data)
    return value


@dataclass(frozen=True)
class ItemReport:
    """One item's answer, before it becomes a wire result."""

    key: str
    state: ItemState
    outcome: Outcome | None = None
    error: str = ""
    repeat: bool = False
    reconciled: bool = False


@dataclass(frozen=True)
class Action:
    """One item of a stack, as the gateway carries it out."""

    operation: str  # checkout | checkin | renew
    item_id: str
    patron_id: str
    txn: TransactionIn
    send: Callable[[Sip2Circulation], Awaitable[Outcome]]

    @property
    def key(self) -> str:
        return str(self.txn.id)


# Counts a carried-out action in the statistics, inside the commit that settles it.
OutcomeCounter = Callable[[Connection, Device, str, Outcome, Transaction], None]


class Carrier:
    """Carries actions out over per-library SIP2 circulation, with the ledger in front."""

    def __init__(self, config: GatewayConfig, ledger: Ledger, count: OutcomeCounter) -> None:
        self.config = config
        self.ledger = ledger
        self.pools = Sip2Pools()
        self._circulations: dict[str, Sip2Circulation] = {}
        self._events: dict[str, asyncio.Event] = {}
        self.count = count
        self.writer = GroupWriter(ledger)
        self._expired_at: float | None = None  # loop time of the last `ledger.expire`

    def circulation(self, library: str) -> Sip2Circulation:
        circulation = self._circulations.get(library)
        if circulation is None:
            settings = self.config.sip2_settings(library)
            circulation = Sip2Circulation(settings, pool=self.pools.pool(settings))
            self._circulations[library] = circulation
        return circulation

    async def close(self) -> None:
        await self.pools.close()

    # -- one item -----------------------------------------------------------------------------------------

    async def carry_stack(self, device: Device, actions: list[Action]) -> list[ItemReport]:
        """Every item of a stack: the claims in one commit, then the items concurrently."""
        rows = [
            self.ledger.new_row(
                action.key,
                library=device.library,
                device_id=device.id,
                operation=action.operation,
                item_id=action.item_id,
                patron_id=action.patron_id,
                request=action.txn.model_dump(mode="json"),
            )
            for action in actions
        ]
        claims = await self.writer.claim_many(rows)
        return list(
            await asyncio.gather(
                *(self._carry(device, action, claim) for action, claim in zip(actions, claims, strict=True))
            )
        )

    async def _carry(self, device: Device, action: Action, claim: Claim) -> ItemReport:
        if claim.mine:
            return await self._send(device, action, claim.entry)
        return await self._repeat(device, action, claim.entry)

    async def _repeat(self, device: Device, action: Action, entry: Entry) -> ItemReport:
        try:
            return await self._await_outcome(device, action, entry)
        finally:
            self._events.pop(action.key, None)

    async def _await_outcome(self, device: Device, action: Action, entry: Entry) -> ItemReport:
        if (entry.library, entry.operation, entry.item_id) != (
            device.library,
            action.operation,
            action.item_id,
        ):
            return ItemReport(action.key, ItemState.KEY_REUSED, error=KEY_REUSED)
        deadline = asyncio.get_running_loop().time() + self.config.gateway.in_flight_wait
        while True:
            if entry.state is State.DONE:
                return self._stored(entry)
            orphaned = entry.state is State.IN_FLIGHT and not await run(self.ledger.owner_alive, entry)
            if entry.state in (State.NOT_APPLIED, State.UNKNOWN) or orphaned:
                ours = await run(lambda e=entry: self.ledger.take_over(e, patron_id=action.patron_id))
                if ours is not None:
                    return await self._after_take_over(device, action, entry, ours)
            elif asyncio.get_running_loop().time() >= deadline:
                return ItemReport(
                    action.key, ItemState.IN_FLIGHT, error="still being carried out", repeat=True
                )
            else:
                await self._wait(action.key)
            fresh = await run(self.ledger.get, action.key)
            assert fresh is not None
            entry = fresh

    async def _wait(self, key: str) -> None:
        event = self._events.setdefault(key, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout=POLL_SECONDS)  # other processes: poll

    def _stored(self, entry: Entry) -> ItemReport:
        assert entry.outcome is not None
        return ItemReport(
            entry.key,
            ItemState.DONE,
            outcome_of(entry.operation, entry.outcome),
            repeat=True,
            reconciled=entry.reconciled,
        )

    async def _after_take_over(
        self, device: Device, action: Action, before: Entry, ours: Entry
    ) -> ItemReport:
        if before.state is State.NOT_APPLIED:
            return await self._send(device, action, ours)  # it certainly did not happen: send it
        found = await self._find_out(device.library, ours)
        return found if found is not None else await self._send(device, action, ours)

    async def _send(self, device: Device, action: Action, entry: Entry, *, again: bool = True) -> ItemReport:
        try:
            outcome = await action.send(self.circulation(device.library))
        except CirculationUnavailable as exc:
            return await self._settle(entry, State.NOT_APPLIED, ItemState.UNAVAILABLE, error=str(exc))
        except CirculationNoReply as exc:
            found = await self._find_out(device.library, entry, error=str(exc))
            if found is not None:
                return found
            if again:
                return await self._send(device, action, entry, again=False)  # certainly did not happen
            return await self._settle(entry, State.NOT_APPLIED, ItemState.NO_REPLY, error=str(exc))
        except CirculationError as exc:
            return await self._settle(entry, State.NOT_APPLIED, ItemState.PROTOCOL_ERROR, error=str(exc))
        txn = action.txn.transaction()

        def count(db: Connection) -> None:
            self.count(db, device, action.operation, outcome, txn)

        return await self._settle(entry, State.DONE, ItemState.DONE, outcome=outcome, also=count)

    async def _settle(
        self,
        entry: Entry,
        state: State,
        item_state: ItemState,
        *,
        outcome: Outcome | None = None,
        error: str = "",
        reconciled: bool = False,
        also: Callable[[Connection], None] | None = None,
    ) -> ItemReport:
        stored = None if outcome is None else outcome_json(outcome)
        await self.writer.settle(Settlement(entry.key, state, stored, error, reconciled, also))
        event = self._events.pop(entry.key, None)
        if event is not None:
            event.set()
        return ItemReport(entry.key, item_state, outcome, error=error, reconciled=reconciled)

    # -- finding out --------------------------------------------------------------------------------------

    async def _find_out(self, library: str, entry: Entry, *, error: str = "") -> ItemReport | None:
        """Ask the library system whether `entry` took effect: DONE (reconciled) if it did, NO_REPLY
        (settled UNKNOWN) if asking failed, None if it certainly did not (still ours, in flight)."""
        try:
            outcome = await self._happened(self.circulation(library), entry)
        except CirculationError as exc:
            text = f"{error or 'no reply'}; asking the library system failed too: {exc}"
            return await self._settle(entry, State.UNKNOWN, ItemState.NO_REPLY, error=text)
        if outcome is None:
            return None
        log.info("ledger: %s %s found done at the library system", entry.operation, entry.key)
        return await self._settle(entry, State.DONE, ItemState.DONE, outcome=outcome, reconciled=True)

    async def _happened(self, circulation: Sip2Circulation, entry: Entry) -> Outcome | None:
        txn = Transaction.new(datetime.now().replace(microsecond=0))
        if entry.operation == "checkout":
            account = await circulation.patron(entry.patron_id, None, txn)
            loan = next((loan for loan in account.loans if loan.item_id == entry.item_id), None)
            if loan is None:
                return None
            return CheckoutOutcome(entry.item_id, ok=True, title=loan.title, due=loan.due)
        if entry.operation == "checkin":
            status = await circulation.item_status(entry.item_id)
            if not status.found or status.circulation_status == CHARGED:
                return None
            return CheckinOutcome(entry.item_id, ok=True, title=status.title, route=Route(RouteKind.STAFF))
        return None  # a renewal extends the same loan: sending it again is harmless

    async def reconcile(self, entry: Entry) -> ItemReport | None:
        """Settle an orphan or UNKNOWN key (a crash, a lost reply); None if another process took it."""
        ours = await run(lambda: self.ledger.take_over(entry))
        if ours is None:
            return None
        report = await self._find_out(entry.library, ours)
        if report is None:
            # Certainly not done; nobody was answered. A repeat of the key will send it.
            return await self._settle(ours, State.NOT_APPLIED, ItemState.NO_REPLY, error="did not happen")
        return report

    async def reconcile_orphans(self) -> int:
        """The ledger's upkeep (at the gateway's start and every few heartbeats): keys left in flight by a
        crash are reconciled through SIP2, and, at start and then hourly, settled keys past
        `[gateway] ledger_days` are forgotten. Returns how many orphans were found done."""
        await self._expire()
        entries = await run(self.ledger.orphans)
        settled = 0
        for entry in entries:
            try:
                report = await self.reconcile(entry)
            except Exception:  # a config change removed the library, ...: keep serving, log it
                log.exception("ledger: could not reconcile %s", entry.key)
                continue
            settled += report is not None and report.state is ItemState.DONE
        return settled

    async def _expire(self) -> None:
        now = asyncio.get_running_loop().time()
        if self._expired_at is not None and now - self._expired_at < EXPIRE_EVERY:
            return
        self._expired_at = now
        try:
            days = self.config.gateway.ledger_days
            forgotten = await run(self.ledger.expire, timedelta(days=days))
        except Exception:  # the database went away for a moment: the next pass tries again
            log.exception("ledger: could not forget old keys")
            return
        if forgotten:
            log.info("ledger: %d settled key(s) older than %d days forgotten", forgotten, days)


__all__ = ["Action", "Carrier", "ItemReport", "Outcome", "outcome_json", "outcome_of"]
