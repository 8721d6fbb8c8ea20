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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kiosk.core import Operation
from kiosk.journal.entry import Entry
from kiosk.journal.journal import Journal
from kiosk.journal.states import IllegalTransition, State
from server_api.circulation import (
    Circulation,
    CirculationNoReply,
    CirculationProtocolError,
    CirculationUnavailable,
    Transaction,
)

log = logging.getLogger(__name__)

TOLD_FAILED = "failed"  # outcome["told_patron"]: the patron was told it did not happen


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
        self._lock = asyncio.Lock()

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
        entries = [e for e in await asyncio.to_thread(self.journal.unsettled) if wanted(e)]
        for index, entry in enumerate(entries):
            try:
                await self._settle(entry, report)
            except CirculationUnavailable as error:
                report.stopped = f"library system unavailable: {error}"
                report.remaining += len(entries) - index
                break
            except (CirculationNoReply, CirculationProtocolError) as error:
                # Its fate is unknown again: the next sync reconciles it. Stop here, so no later entry
                # for the same item overtakes it; a lost reply usually means the line is bad anyway.
                report.remaining += len(entries) - index
                report.stopped = f"no reply while replaying: {error}"
                break
            except IllegalTransition as error:
                # Settled by someone else since it was read (the station's own reply came in): the table
                # refused the change, so nothing was sent for it. Stop; the next sync reads afresh.
                log.error("replay: %s; stopping this sync", error)
                report.remaining += len(entries) - index - 1
                report.stopped = f"journal changed while replaying: {error}"
                break
        return report

    async def _settle(self, entry: Entry, report: SyncReport) -> None:
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
                return
            if told_failed:
                self.journal.settle(
                    entry.id, State.REFUSED, reason="never reached the library system", outcome=entry.outcome
                )
                report.abandoned += 1
                return
        await asyncio.to_thread(self.journal.mark_replaying, entry.id)
        await self._send(entry, report)

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


__all__ = ["TOLD_FAILED", "ConflictForStaff", "EntryReplayed", "ReplayReport", "Replayer", "SyncReport"]
