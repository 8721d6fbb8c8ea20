"""Replay the journal to the library system, exactly once, in order per item.

SIP2 has no transaction id, so "exactly once" rests on two rules:

1. An entry is marked REPLAYING durably *before* it is sent. An entry found in SENDING or REPLAYING
   (a crash, a lost reply) is never resent blindly: first the library system is asked what happened —
   the patron's loans for a checkout, the item's status (still charged or not) for a checkin.
   Only if the action is not there is it sent (again).
2. Entries for one item are settled strictly in journal order; a later entry waits while an earlier
   one for the same item is unsettled. The station records a new action only after the previous one for
   that item was settled, and the settlement rides along with that record's commit, so at most the
   newest entry of an item can be "sent, fate unknown" — which is what reconciliation can decide.

A conflict's outcome says whether the action took effect at the library system (`happened`): staff
fix the account either way, and the audits count it once or not at all.

Offline actions are replayed as offline transactions (over SIP2: *no block* = Y) with the original
transaction date (and the due date the patron was given): they already happened at the station and
must be recorded. A replay the library system refuses becomes a CONFLICT for staff, with its reason
and the library system's own words.

An online action the station was in the middle of when it crashed (journaled, sent or not, never
confirmed to the patron) and that did not reach the library system is sent as it was first sent,
without no block: nobody was promised anything, so the library system's own rules apply (a book not
for loan is not lent by a replay). If it refuses, the entry is REFUSED, not a conflict: the patron and
the library system agree that nothing happened.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Awaitable, Callable, Collection, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kiosk.core import Operation
from kiosk.journal.entry import Entry
from kiosk.journal.journal import Journal
from kiosk.journal.states import IllegalTransition, State
from server_api.circulation import (
    Circulation,
    CirculationError,
    CirculationUnavailable,
    Transaction,
)

log = logging.getLogger(__name__)

TOLD_FAILED = "failed"  # outcome["told_patron"]: the patron was told it did not happen
# Entries of a round through the gateway: they go as stacks of up to 50 (kiosk.station.gateway.MAX_STACK),
# marked REPLAYING in one commit. Bounded, so one round's outcomes waiting to ride along stay few.
ROUND_SIZE = 200


@dataclass
class SyncReport:
    replayed: int = 0  # sent and accepted
    reconciled: int = 0  # found already done at the library system
    conflicts: int = 0  # refused on replay: for staff
    abandoned: int = 0  # never took effect, and no patron was promised it did
    remaining: int = 0  # still unsettled (the service went away again)
    stopped: str = ""  # why the sync stopped early
    conflict_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class EntryReplayed:
    """One entry settled by the replay: `result` says how ("done", "already done", "refused, never
    promised"); `details` what the reply said (operation, due date, route ...)."""

    entry_id: str
    item_id: str
    result: str
    details: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class ConflictForStaff:
    """A replayed action the library system refused, or one it has that the patron was told failed."""

    entry_id: str
    item_id: str
    operation: str
    patron_id: str
    reason: str
    screen_message: str


# What the replayer reports as it goes (the station turns each into its observation); a sync ends with
# its SyncReport.
ReplayReport = SyncReport | EntryReplayed | ConflictForStaff


class Replayer:
    def __init__(
        self,
        journal: Journal,
        circulation: Circulation,
        *,
        observe: Callable[[ReplayReport], None] | None = None,
        clock: Callable[[], datetime] = datetime.now,
        ledger: Callable[[Entry], Awaitable[bool]] | None = None,
    ) -> None:
        """`ledger`: a service that keeps its own record of transaction ids (the gateway: "what happened
        to UUID X?") answers `happened` instead of the patron's loans and the item's status."""
        self.journal = journal
        self.circulation = circulation
        self.observe = observe or (lambda report: None)
        self.clock = clock
        self.ledger = ledger
        self._in_flight: Callable[[], Collection[uuid.UUID]] = frozenset
        # Entries settled together: through the gateway a round goes as stacks, each entry with its own
        # UUID as idempotency key; over SIP2 one at a time, as the 63/17 reconciliation was built for.
        self.round_size = ROUND_SIZE if ledger is not None else 1
        self._lock = asyncio.Lock()

    def leave_to(self, in_flight: Callable[[], Collection[uuid.UUID]]) -> None:
        """`in_flight()`: the entries the station is sending right now. They look unsettled (SENDING) but
        are the station's to settle: a replay that reconciled or resent one would race its reply (over
        SIP2 a 63 asked before the checkout arrives says "not there", and the replay lends it again)."""
        self._in_flight = in_flight

    async def sync(self) -> SyncReport:
        """Settle every unsettled entry the library system can be reached for."""
        async with self._lock:
            report = await self._drain(lambda entry: True)
        if report.replayed or report.conflicts or report.reconciled:
            self.journal.set_meta("last_sync", self.clock().isoformat())
            await asyncio.to_thread(self.journal.flush)
        self.observe(report)
        return report

    async def drain_item(self, item_id: str) -> bool:
        """Settle what is pending for one item (before a new action on it). True when nothing is left."""
        async with self._lock:
            report = await self._drain(lambda entry: entry.item_id == item_id)
        return report.remaining == 0

    async def _drain(self, wanted: Callable[[Entry], bool]) -> SyncReport:
        report = SyncReport()
        pending = [e for e in await asyncio.to_thread(self.journal.unsettled) if wanted(e)]
        busy: set[str] = set()  # items with an entry the station is sending: their later entries wait
        while pending:
            batch, pending = self._next_round(pending, busy, report)
            failures = await self._round(batch, report)
            if failures:
                first = failures[0]
                # An entry settled by someone else meanwhile (IllegalTransition) does not remain.
                report.remaining += len(pending)
                report.remaining += sum(not isinstance(f, IllegalTransition) for f in failures)
                report.stopped = _why_stopped(first)
                if isinstance(first, IllegalTransition):
                    log.error("replay: %s; stopping this sync", first)
                break
        return report

    def _next_round(
        self, pending: list[Entry], busy: set[str], report: SyncReport
    ) -> tuple[list[Entry], list[Entry]]:
        """The next round: the oldest pending entry of each item (per-item order: an item's next entry
        waits for the next round), at most `round_size`. Entries the station is sending are left to it,
        and so are the later entries of their items (asked each round, after the journal was read: an
        entry recorded meanwhile is in the set already)."""
        in_flight = self._in_flight()
        batch: list[Entry] = []
        later: list[Entry] = []
        items: set[str] = set()
        for entry in pending:
            if entry.item_id in busy or entry.id in in_flight:
                busy.add(entry.item_id)
                report.remaining += 1
            elif entry.item_id in items or len(batch) >= self.round_size:
                items.add(entry.item_id)
                later.append(entry)
            else:
                items.add(entry.item_id)
                batch.append(entry)
        return batch, later

    async def _round(self, batch: list[Entry], report: SyncReport) -> list[Exception]:
        """Settle a round's entries together: find out about the unanswered ones, mark what must be sent
        REPLAYING in one commit, send it all at once (through the gateway the calls of one loop turn go
        as stacks: `kiosk.station.GatewayLink`). The failures, in journal order; a round of one is the
        sequential replay."""
        decided = await _together([self._must_send(entry, report) for entry in batch])
        results: dict[uuid.UUID, Any] = {
            entry.id: result for entry, result in zip(batch, decided, strict=True)
        }
        to_send = [entry for entry in batch if results[entry.id] is True]
        if to_send:
            refused = await self._mark_replaying(to_send)
            results.update(refused)
            to_send = [entry for entry in to_send if entry.id not in refused]
            sent = await _together([self._send(entry, report) for entry in to_send])
            results.update((entry.id, result) for entry, result in zip(to_send, sent, strict=True))
        return [results[e.id] for e in batch if isinstance(results[e.id], Exception)]

    async def _mark_replaying(self, entries: list[Entry]) -> dict[uuid.UUID, Exception]:
        """Mark `entries` REPLAYING, durably, before any is sent: one commit. The ones settled since the
        journal was read are refused by the table (`IllegalTransition`) and returned: not to be sent."""
        try:
            if len(entries) == 1:  # over SIP2, one at a time
                await asyncio.to_thread(self.journal.mark_replaying, entries[0].id)
            else:
                await asyncio.to_thread(self.journal.mark_replaying_many, [e.id for e in entries])
            return {}
        except IllegalTransition as error:
            if len(entries) == 1:
                return {entries[0].id: error}
            refused: dict[uuid.UUID, Exception] = {}
            for entry in entries:  # one by one, to tell which
                try:
                    await asyncio.to_thread(self.journal.mark_replaying, entry.id)
                except IllegalTransition as error:
                    refused[entry.id] = error
            return refused

    async def _must_send(self, entry: Entry, report: SyncReport) -> bool:
        """Settle `entry` if its fate can be found out (an unanswered SENDING or REPLAYING one); True
        when it must be sent (again)."""
        told_failed = entry.outcome.get("told_patron") == TOLD_FAILED
        if entry.state in (State.SENDING, State.REPLAYING):
            if await self.happened(entry):
                if told_failed:
                    self._conflict(
                        entry,
                        report,
                        "done at the library system although the patron was told it"
                        " failed: check the item and the patron's account",
                        "",
                        {"happened": True},
                    )
                else:
                    self.journal.settle(
                        entry.id,
                        State.DONE,
                        outcome={**entry.outcome, "reconciled": True},
                        replayed=entry.state is State.REPLAYING or entry.offline,
                    )
                    report.reconciled += 1
                    self.observe(EntryReplayed(str(entry.id), entry.item_id, "already done"))
                return False
            if told_failed:
                self.journal.settle(
                    entry.id, State.REFUSED, reason="never reached the library system", outcome=entry.outcome
                )
                report.abandoned += 1
                return False
        return True

    async def happened(self, entry: Entry) -> bool:
        """Ask the library system whether an action whose reply was lost took effect."""
        if self.ledger is not None:
            return await self.ledger(entry)
        probe = Transaction.new(self.clock())
        if entry.operation is Operation.CHECKOUT:
            account = await self.circulation.patron(entry.patron_id, None, probe)
            return any(loan.item_id == entry.item_id for loan in account.loans)
        if entry.operation is Operation.CHECKIN:
            status = await self.circulation.item_status(entry.item_id)
            return status.found and not status.charged
        return False  # a renewal is harmless to repeat: it extends the same loan

    async def _send(self, entry: Entry, report: SyncReport) -> None:
        # Offline: no block, it already happened at the station. Online and never confirmed: as first
        # sent. The original date goes with it either way.
        promised = entry.offline
        txn = entry.transaction()
        outcome: dict[str, Any]
        if entry.operation is Operation.CHECKOUT:
            checkout = await self.circulation.checkout(entry.patron_id, entry.item_id, txn)
            ok, reason, message = checkout.ok, checkout.reason, checkout.screen_message
            outcome = {"due": checkout.due.isoformat() if checkout.due else None}
        elif entry.operation is Operation.CHECKIN:
            checkin = await self.circulation.checkin(entry.item_id, txn)
            ok, reason, message = checkin.ok, checkin.reason, checkin.screen_message
            outcome = {
                "route": checkin.route.kind.value,
                "destination": checkin.route.destination_name or checkin.route.destination_id,
            }
        else:
            renewal = await self.circulation.renew(entry.patron_id, entry.item_id, txn)
            ok, reason, message = renewal.ok, renewal.reason, renewal.screen_message
            outcome = {"due": renewal.due.isoformat() if renewal.due else None}
        if not entry.clock_synchronised:
            outcome["time_untrusted"] = True  # staff see that the transaction date may be wrong
        if ok:
            self.journal.settle(entry.id, State.DONE, screen_message=message, outcome=outcome, replayed=True)
            report.replayed += 1
            details = {"operation": entry.operation.value, **outcome}
            self.observe(EntryReplayed(str(entry.id), entry.item_id, "done", details))
        elif not promised:
            self.journal.settle(
                entry.id,
                State.REFUSED,
                reason=str(reason or "refused"),
                screen_message=message,
                outcome={**outcome, "sent_after_restart": True},
                replayed=True,
            )
            report.abandoned += 1
            self.observe(EntryReplayed(str(entry.id), entry.item_id, "refused, never promised"))
        else:
            self._conflict(entry, report, str(reason or "refused"), message, {**outcome, "happened": False})

    def _conflict(
        self,
        entry: Entry,
        report: SyncReport,
        reason: str,
        message: str,
        outcome: dict[str, Any] | None = None,
    ) -> None:
        self.journal.settle(
            entry.id,
            State.CONFLICT,
            reason=reason,
            screen_message=message,
            outcome={**entry.outcome, **(outcome or {})},
            replayed=True,
        )
        report.conflicts += 1
        report.conflict_ids.append(str(entry.id))
        self.observe(
            ConflictForStaff(
                entry_id=str(entry.id),
                item_id=entry.item_id,
                operation=entry.operation.value,
                patron_id=entry.patron_id,
                reason=reason,
                screen_message=message,
            )
        )


_FAILURES = (CirculationError, IllegalTransition)


async def _together(calls: list[Coroutine[Any, Any, Any]]) -> list[Any]:
    """Run `calls` at once; each one's result, or the circulation or journal error it raised."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, _FAILURES):
            raise result  # a bug, or the sync cancelled: not an outcome of one entry
    return results


def _why_stopped(error: Exception) -> str:
    if isinstance(error, CirculationUnavailable):
        return f"library system unavailable: {error}"
    if isinstance(error, IllegalTransition):
        # Settled by someone else since it was read: the table refused the change, so nothing was sent
        # for it. Stop; the next sync reads afresh.
        return f"journal changed while replaying: {error}"
    # Its fate is unknown again: the next sync reconciles it. Stop here, so no later entry for the same
    # item overtakes it; a lost reply usually means the line is bad anyway.
    return f"no reply while replaying: {error}"


__all__ = ["TOLD_FAILED", "ConflictForStaff", "EntryReplayed", "ReplayReport", "Replayer", "SyncReport"]
