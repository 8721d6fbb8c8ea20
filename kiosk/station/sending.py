"""Send a checkout, checkin or renewal exactly once: record, send, find out, settle.

1. **Record.** The action gets a fresh `Transaction` (its UUID travels with it end to end) and is
   written to the journal, with an fsync, before anything is sent. The items of a stack placed together
   share one commit (`kiosk.journal.GroupCommit`). Without a durable record nothing is sent: a lost
   action would be worse than a refusal. Before that, earlier unsettled entries for the same item are
   settled first (`Replayer.drain_item`), so the actions on one item reach the library system in order.
2. **Send.** One call to the `Circulation` service.
3. **Find out.** A request that went out without a usable reply (`CirculationNoReply`,
   `CirculationProtocolError`) is never resent blindly: the library system is asked whether it took
   effect (`Replayer.happened`), and only an action it certainly does not have is marked REPLAYING
   (durably) and sent again. A found action is reported as reconciled; a checkin found that way goes to
   staff, its routing is lost. If the library system still cannot tell, the patron is told it did not
   work and the entry stays SENDING with `told_patron=failed`: the next sync decides (a loan found then
   is a conflict for staff).
4. **Settle.** DONE rides along with the next commit: lost in a crash, reconciliation finds it done.
   Every "no" (refused, never sent, fate unknown) is committed *before* the patron hears it: were it lost
   in a crash, the entry would look sent-but-unanswered and the replay would send, with no block, what
   the library system refused or the patron gave up on.

Offline, the session only hands over what its offline policy accepts: such an action is recorded as
QUEUED and confirmed at once (a return goes to the return bin, routed by staff); `kiosk.journal.sync`
replays it later.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import sqlite3
import uuid
from collections.abc import Callable

from kiosk.core import (
    Checkin,
    CheckinDone,
    Checkout,
    CheckoutDone,
    CirculationFailed,
    Event,
    Operation,
    Renew,
    RenewDone,
)
from kiosk.journal import TOLD_FAILED, Entry, GroupCommit, IllegalTransition, Journal, Replayer, State
from kiosk.station.device_observations import JournalTrouble
from kiosk.station.liveness import Liveness
from kiosk.station.observations import Circulated, NotCirculated, Outcome, Reconciling
from kiosk.station.tasks import Shell
from server_api.circulation import (
    CheckinOutcome,
    CheckoutOutcome,
    Circulation,
    CirculationError,
    CirculationNoReply,
    CirculationProtocolError,
    CirculationUnavailable,
    RenewOutcome,
    Route,
    RouteKind,
    SecurityAction,
    Transaction,
)

log = logging.getLogger(__name__)

ItemCommand = Checkout | Checkin | Renew
ENTRIES_KEPT = 1000  # items whose latest entry is remembered: far more than a stack or a visit holds

_OPERATION: dict[type, Operation] = {
    Checkout: Operation.CHECKOUT,
    Checkin: Operation.CHECKIN,
    Renew: Operation.RENEW,
}


def operation_of(command: ItemCommand) -> Operation:
    return _OPERATION[type(command)]


def _reconciled(command: ItemCommand) -> Outcome:
    """What we know after finding an unanswered action done at the library system: it happened, but
    the reply's details (due date, routing) were lost. The item goes to staff for routing."""
    if isinstance(command, Checkout):
        return CheckoutOutcome(command.item_id, ok=True)
    if isinstance(command, Checkin):
        return CheckinOutcome(command.item_id, ok=True, route=Route(RouteKind.STAFF))
    return RenewOutcome(command.item_id, ok=True)


def _outcome_record(outcome: Outcome) -> dict[str, object]:
    # "security": leave (SIP2 desensitize N) ends the action's security intent in the journal.
    security = {"security": "leave"} if getattr(outcome, "security", None) is SecurityAction.LEAVE else {}
    if isinstance(outcome, CheckinOutcome):
        return {"route": outcome.route.kind.value, "destination": outcome.route.destination_id, **security}
    return {"due": outcome.due.isoformat() if outcome.due else None, **security}


class ExactlyOnce:
    """Carries out the session's `Checkout`, `Checkin` and `Renew` commands (see the module docstring)."""

    def __init__(
        self,
        shell: Shell,
        circulation: Circulation,
        journal: Journal,
        replayer: Replayer,
        liveness: Liveness,
        *,
        clock_synchronised: Callable[[], bool],
    ) -> None:
        self._shell = shell
        self._circulation = circulation
        self._journal = journal
        self._replayer = replayer
        self._liveness = liveness
        self._clock_synchronised = clock_synchronised
        # Records go through a group commit: the items of a stack placed together share one commit.
        self.recorder = GroupCommit(journal)
        # item -> its latest journal entry (security notes), for the last ENTRIES_KEPT items only: a map of
        # every item ever circulated grew with each new item for as long as the station ran (issue 11).
        self._entry_for: collections.OrderedDict[str, uuid.UUID] = collections.OrderedDict()
        # One action per item in flight: a second one waits until the first is settled (per-item order),
        # however many connections the pool has. Dropped when nobody holds or waits for it.
        self._item_locks: dict[str, asyncio.Lock] = {}
        self._lock_users: dict[str, int] = {}  # item -> actions holding or waiting for its lock
        # The online actions being sent and settled here: a replay (at the way back online, "Sync now")
        # leaves them alone, or it would race their reply (kiosk.journal.Replayer.leave_to).
        self.in_flight: set[uuid.UUID] = set()
        replayer.leave_to(lambda: self.in_flight)

    def latest_entry(self, item_id: str) -> uuid.UUID | None:
        """The journal entry of the item's latest action, for the notes of its security write."""
        return self._entry_for.get(item_id)

    def failure(self, command: ItemCommand) -> Callable[[str], Event]:
        """The event that tells the session this command failed in a way nobody expected."""
        operation, item_id = operation_of(command), command.item_id
        return lambda detail: CirculationFailed(operation, item_id, detail, self._shell.clock(), sent=True)

    async def circulate(self, command: ItemCommand) -> None:
        """Journal first, then send; an unanswered request is resolved before the patron hears anything.
        Never two actions on one item at once: the later one starts when the earlier one is settled."""
        item = command.item_id
        lock = self._item_locks.setdefault(item, asyncio.Lock())
        self._lock_users[item] = self._lock_users.get(item, 0) + 1
        try:
            async with lock:
                await self._circulate(command)
        finally:
            self._lock_users[item] -= 1
            if not self._lock_users[item]:  # nobody holds it or waits for it
                del self._lock_users[item], self._item_locks[item]

    async def _circulate(self, command: ItemCommand) -> None:
        offline = not isinstance(command, Renew) and command.offline
        txn = Transaction.new(
            self._shell.clock(),
            offline=offline,
            clock_synchronised=self._clock_synchronised(),
            due_date=command.due if isinstance(command, Checkout) else None,
        )
        if not offline and not await self._earlier_actions_settled(command.item_id):
            self._failed(command, txn, "earlier actions on this item are not confirmed yet", sent=False)
            return
        if offline:
            await self._record_and_send(command, txn, offline)
            return
        self.in_flight.add(txn.id)  # before the record: a replay that reads it finds it here
        try:
            await self._record_and_send(command, txn, offline)
        finally:
            self.in_flight.discard(txn.id)

    async def _record_and_send(self, command: ItemCommand, txn: Transaction, offline: bool) -> None:
        try:
            entry = await self.recorder.record(
                txn,
                operation_of(command),
                command.item_id,
                "" if isinstance(command, Checkin) else command.patron_id,
                state=State.QUEUED if offline else State.SENDING,
            )
        except (OSError, sqlite3.Error) as error:
            # Without a durable record nothing is sent: a lost action would be worse than a refusal.
            self._failed(command, txn, f"journal: {error}", sent=True)
            return
        self._entry_for[command.item_id] = entry.id
        self._entry_for.move_to_end(command.item_id)
        if len(self._entry_for) > ENTRIES_KEPT:
            self._entry_for.popitem(last=False)  # long since written (or handed to staff)
        if offline:
            self._accept_offline(command, txn)
        else:
            await self._send_and_settle(entry, command, txn)

    async def _send_and_settle(self, entry: Entry, command: ItemCommand, txn: Transaction) -> None:
        try:
            outcome = await self._send(command, txn)
        except CirculationUnavailable as error:
            await self._settle_before_telling(
                entry.id, State.REFUSED, reason=f"not sent: {error}", outcome={"not_sent": True}
            )
            self._liveness.note_failure()
            self._failed(command, txn, str(error), sent=False)
            return
        except (CirculationNoReply, CirculationProtocolError) as error:
            self._liveness.note_failure()
            found = await self._find_out(entry, command, txn, error)
            if found is None:
                # Still unknown: tell the patron it did not work, and let the sync check later
                # (a loan found then becomes a conflict for staff; otherwise it is dropped).
                await self._settle_before_telling(
                    entry.id, State.SENDING, outcome={"told_patron": TOLD_FAILED}
                )
                self._failed(command, txn, str(error), sent=True)
                return
            outcome = found
        else:
            self._liveness.note_success()
        reason, message, record = str(outcome.reason or ""), outcome.screen_message, _outcome_record(outcome)
        if outcome.ok:
            # Done: rides along. Lost in a crash, the reconciliation finds it done and says so.
            try:
                self._journal.settle(
                    entry.id, State.DONE, reason=reason, screen_message=message, outcome=record
                )
            except IllegalTransition as error:
                _settled_elsewhere(entry.id, error)
        else:
            await self._settle_before_telling(
                entry.id, State.REFUSED, reason=reason, screen_message=message, outcome=record
            )
        self._tell(command, txn, outcome)

    async def _settle_before_telling(
        self,
        entry_id: uuid.UUID,
        state: State,
        *,
        outcome: dict[str, object],
        reason: str = "",
        screen_message: str = "",
    ) -> None:
        """Commit an outcome before the patron hears "no" (step 4). Off the event loop: it waits for an
        fsync."""
        settle = functools.partial(
            self._journal.settle, reason=reason, screen_message=screen_message, outcome=outcome, durable=True
        )
        try:
            await asyncio.to_thread(settle, entry_id, state)
        except IllegalTransition as error:
            _settled_elsewhere(entry_id, error)
        except (OSError, sqlite3.Error) as error:
            # Still waiting to ride along with the next commit; the patron is told the truth anyway.
            log.error("journal: the outcome of %s is not on disk yet: %s", entry_id, error)
            self._shell.observe(JournalTrouble(str(error)))

    async def _send(self, command: ItemCommand, txn: Transaction) -> Outcome:
        match command:
            case Checkout(patron_id, item_id, pin):
                return await self._circulation.checkout(patron_id, item_id, txn, pin=pin)
            case Checkin(item_id):
                return await self._circulation.checkin(item_id, txn)
            case Renew(patron_id, item_id):
                return await self._circulation.renew(patron_id, item_id, txn)
        raise AssertionError(command)

    async def _find_out(
        self, entry: Entry, command: ItemCommand, txn: Transaction, error: Exception
    ) -> Outcome | None:
        """A request went out and no usable reply came back: ask the library system what happened,
        and send again only when it certainly did not (never lend twice)."""
        self._shell.observe(Reconciling(command.item_id, txn.id, str(error)))
        for _attempt in range(2):
            try:
                if await self._replayer.happened(entry):
                    return _reconciled(command)
                await asyncio.to_thread(self._journal.mark_replaying, entry.id)
                return await self._send(command, txn)
            except (CirculationNoReply, CirculationProtocolError):
                continue
            except CirculationUnavailable:
                return None
            except IllegalTransition as error:  # settled meanwhile: not to be sent again from here
                _settled_elsewhere(entry.id, error)
                settled = self._journal.get(entry.id)
                return _reconciled(command) if settled is not None and settled.state is State.DONE else None
        return None

    def _accept_offline(self, command: ItemCommand, txn: Transaction) -> None:
        """The session accepted this under the offline policy and it is durable now: confirm it."""
        outcome: Outcome
        if isinstance(command, Checkout):
            outcome = CheckoutOutcome(command.item_id, ok=True, due=command.due)
        else:
            outcome = CheckinOutcome(command.item_id, ok=True, route=Route(RouteKind.STAFF))
        self._tell(command, txn, outcome, offline=True)

    async def _earlier_actions_settled(self, item_id: str) -> bool:
        """Per item, actions reach the library system in the order they happened. (One read for the whole
        stack: its items then record in the same loop turn, and so in one group commit.)"""
        if not any(e.item_id == item_id for e in await self.recorder.unsettled()):
            return True
        try:
            return await self._replayer.drain_item(item_id)
        except CirculationError:
            return False

    def _tell(
        self, command: ItemCommand, txn: Transaction, outcome: Outcome, *, offline: bool = False
    ) -> None:
        """Report the outcome and give it to the session."""
        self._shell.observe(Circulated(operation_of(command), command.item_id, txn.id, outcome, offline))
        now = self._shell.clock()
        if isinstance(outcome, CheckoutOutcome):
            self._shell.feed(CheckoutDone(outcome, now))
        elif isinstance(outcome, CheckinOutcome):
            self._shell.feed(CheckinDone(outcome, now))
        else:
            self._shell.feed(RenewDone(outcome, now))

    def _failed(self, command: ItemCommand, txn: Transaction, detail: str, *, sent: bool) -> None:
        operation = operation_of(command)
        self._shell.observe(NotCirculated(operation, command.item_id, txn.id, detail, sent))
        self._shell.feed(
            CirculationFailed(operation, command.item_id, detail, self._shell.clock(), sent=sent)
        )


def _settled_elsewhere(entry_id: uuid.UUID, error: IllegalTransition) -> None:
    """The entry was settled by someone else first (a replay, `kiosk journal sync` on a copy): the journal
    keeps the first settlement and the table refused ours. Worth a note, not an error: nothing was lost
    and nothing was sent because of it."""
    log.info("journal: %s was settled already (%s); this outcome is not recorded again", entry_id, error.old)


__all__ = ["ExactlyOnce", "ItemCommand", "operation_of"]
