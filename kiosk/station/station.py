"""The station: runs the patron session against real (or simulated) hardware and the library system.

One asyncio loop (Kivy joins it through `App.async_run`). The station
- polls the RFID pad and feeds `TagsChanged` into the session,
- feeds the patron's presses, PIN and card from the UI,
- executes the session's commands: circulation calls (each with a fresh `Transaction`, journaled before
  it is sent; the items of a stack share one commit, `kiosk.journal.journal.GroupCommit`), verified security
  writes, receipts and staff slips,
- ticks the session once a second so idle timeouts work, and looks after the journal: what rides along
  is committed when a session ends or after a quiet spell, finished entries are purged at start and
  once a day (`kiosk.journal.journal.JournalUpkeep`),
- tells listeners about every screen (the UI) and observers about everything that happened (the
  headless demo's transcript, logs). PINs never reach either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from drivers.printer.base import Printer, PrinterError
from drivers.printer.receipt import Receipt, ReceiptLine
from drivers.rfid.base import Reader, ReaderError, TagNotPresent, afi_hex
from kiosk.core import (
    Action,
    Authenticate,
    CardPresented,
    Checkin,
    CheckinDone,
    Checkout,
    CheckoutDone,
    CirculationFailed,
    Command,
    EndPatronSession,
    Event,
    LanguageChosen,
    Mode,
    Operation,
    PadTag,
    PatronLoaded,
    PatronSession,
    PinEntered,
    Pressed,
    PrintReceipt,
    PrintStaffSlip,
    ReceiptPrinted,
    RememberCard,
    Renew,
    RenewDone,
    Screen,
    SecurityWritten,
    SessionPolicy,
    Show,
    Speak,
    TagKind,
    TagsChanged,
    Text,
    Tick,
    WriteSecurity,
)
from kiosk.i18n import translate
from kiosk.journal import (
    QUIET_SPELL,
    TOLD_FAILED,
    UNSETTLED,
    Entry,
    GroupCommit,
    Journal,
    JournalUpkeep,
    Replayer,
    State,
    SyncReport,
)
from kiosk.journal import Operation as JournalOperation
from kiosk.station.pad import PadWatcher
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
    Transaction,
)

log = logging.getLogger(__name__)

ScreenListener = Callable[[Screen], None]
Outcome = CheckoutOutcome | CheckinOutcome | RenewOutcome

_OPERATION: dict[type, JournalOperation] = {
    Checkout: JournalOperation.CHECKOUT,
    Checkin: JournalOperation.CHECKIN,
    Renew: JournalOperation.RENEW,
}


def _reconciled(command: Checkout | Checkin | Renew) -> Outcome:
    """What we know after finding an unanswered action done at the library system: it happened, but
    the reply's details (due date, routing) were lost. The item goes to staff for routing."""
    if isinstance(command, Checkout):
        return CheckoutOutcome(command.item_id, ok=True)
    if isinstance(command, Checkin):
        return CheckinOutcome(command.item_id, ok=True, route=Route(RouteKind.STAFF))
    return RenewOutcome(command.item_id, ok=True)


def _outcome_record(outcome: Outcome) -> dict[str, Any]:
    if isinstance(outcome, CheckinOutcome):
        return {"route": outcome.route.kind.value, "destination": outcome.route.destination_id}
    return {"due": outcome.due.isoformat() if outcome.due else None}


Observer = Callable[[dict[str, Any]], None]


def local_now() -> datetime:
    """SIP2 dates are the library's local time, without a zone."""
    return datetime.now().replace(microsecond=0)


@dataclass(frozen=True)
class ConflictNote:
    """A conflict as the staff screen lists it: which item, what was tried, why it was refused."""

    id: str
    item_id: str
    operation: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class StationStatus:
    """Read-only picture for the staff screen."""

    online: bool
    pending: int  # journal entries the library system has not confirmed yet
    conflicts: tuple[ConflictNote, ...]
    last_sync: datetime | None  # the last replay that reached the library system


class Station:
    def __init__(
        self,
        *,
        circulation: Circulation,
        reader: Reader,
        printer: Printer,
        policy: SessionPolicy,
        library_name: str = "",
        staff_language: str = "nb",
        clock: Callable[[], datetime] = local_now,
        journal: Journal,
        poll_interval: float = 0.1,
        tick_interval: float = 1.0,
        security_attempts: int = 3,
        failure_budget: int = 2,
        probe_interval: float = 15.0,
        clock_synchronised: Callable[[], bool] = lambda: True,
        pad_leave_after: int = 2,
        journal_quiet: timedelta = QUIET_SPELL,
        purge_after_days: int | None = 30,
    ) -> None:
        self.circulation = circulation
        self.reader = reader
        self.printer = printer
        self.policy = policy
        self.library_name = library_name
        self.staff_language = staff_language
        self.clock = clock
        self.poll_interval = poll_interval
        self.tick_interval = tick_interval
        self.security_attempts = security_attempts
        self.journal = journal
        self.failure_budget = failure_budget
        self.probe_interval = probe_interval
        self.clock_synchronised = clock_synchronised
        self.online = True
        self._failures = 0  # consecutive failures to reach the library system
        self._entry_for: dict[str, uuid.UUID] = {}  # item -> its latest journal entry (for security notes)
        self.replayer = Replayer(journal, circulation, observe=self._observe, clock=clock)
        # Records go through a group commit: the items of a stack placed together share one commit.
        self.recorder = GroupCommit(journal)
        self.upkeep = JournalUpkeep(
            journal,
            quiet=journal_quiet,
            purge_after=timedelta(days=purge_after_days) if purge_after_days is not None else None,
        )
        self.session = PatronSession(
            policy, clock(), known_blocked=journal.blocked_cards(), offline_loans=journal.offline_loans()
        )
        self.screen: Screen = self.session.screen()
        self._listeners: list[ScreenListener] = []
        self._observers: list[Observer] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._prober: asyncio.Task[None] | None = None
        # Inventory diffing with debounce (kiosk.station.pad); `_pad` is its live picture of the pad.
        self._watcher = PadWatcher(reader, leave_after=pad_leave_after)
        self._pad: dict[bytes, PadTag] = self._watcher.tags
        self._reader_ok = True

    # ------------------------------------------------------------ wiring

    def add_listener(self, listener: ScreenListener) -> None:
        self._listeners.append(listener)
        listener(self.screen)

    def add_observer(self, observer: Observer) -> None:
        self._observers.append(observer)

    def remove_observer(self, observer: Observer) -> None:
        self._observers.remove(observer)

    def _observe(self, kind: str, **data: Any) -> None:
        record = {"kind": kind, **data}
        for observer in self._observers:
            observer(record)

    # ------------------------------------------------------------ input from the UI

    def press(self, action: Action) -> None:
        self.feed(Pressed(action, self.clock()))

    def enter_pin(self, pin: str) -> None:
        self.feed(PinEntered(pin, self.clock()))

    def present_card(self, card_id: str) -> None:
        self.feed(CardPresented(card_id, self.clock()))

    def set_language(self, code: str) -> None:
        self.feed(LanguageChosen(code, self.clock()))

    # ------------------------------------------------------------ running

    async def start(self) -> None:
        await self._purge(self.clock())
        self._loops = [
            asyncio.create_task(self._poll_pad(), name="pad"),
            asyncio.create_task(self._tick(), name="tick"),
        ]
        self._spawn(self.check_connection(), "connection check at start")

    async def run(self) -> None:
        await self.start()
        await asyncio.gather(*self._loops)

    async def stop(self) -> None:
        if self._prober is not None:
            self._loops.append(self._prober)
            self._prober = None
        for task in [*self._loops, *self._tasks]:
            task.cancel()
        for task in [*self._loops, *self._tasks]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loops.clear()
        self._tasks.clear()
        await self._flush_journal()

    async def settle(self) -> None:
        """Wait until every command already issued has finished (tests and scripted scenarios)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def feed(self, event: Event) -> None:
        active = self.session_active
        for command in self.session.handle(event):
            self._execute(command)
        if active and not self.session_active:
            # The session is over: its last outcomes are committed now, not with the next patron's.
            self._spawn(self._flush_journal(), "journal flush at session end")

    @property
    def session_active(self) -> bool:
        """A patron is using the station (or something they did is still in flight)."""
        return self.session.mode is not Mode.WELCOME or self.session.busy

    # ------------------------------------------------------------ commands

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("station task %s failed", task.get_name(), exc_info=task.exception())

    def _execute(self, command: Command) -> None:
        match command:
            case Show(screen):
                self.screen = screen
                self._observe("screen", **self._describe(screen))
                for listener in self._listeners:
                    listener(screen)
            case Authenticate():
                self._spawn(
                    self._never_hanging(
                        self._authenticate(command),
                        lambda detail: CirculationFailed(
                            Operation.PATRON, "", detail, self.clock(), sent=False
                        ),
                    ),
                    "authenticate",
                )
            case Checkout() | Checkin() | Renew():
                operation = Operation(_OPERATION[type(command)].value)
                item_id = command.item_id
                self._spawn(
                    self._never_hanging(
                        self._circulate(command),
                        lambda detail: CirculationFailed(operation, item_id, detail, self.clock(), sent=True),
                    ),
                    f"circulate {command.item_id}",
                )
            case WriteSecurity():
                item_id = command.item_id
                self._spawn(
                    self._never_hanging(
                        self._write_security(command),
                        lambda detail: SecurityWritten(item_id, False, self.clock(), detail),
                    ),
                    f"security {command.item_id}",
                )
            case PrintReceipt():
                self._spawn(self._print_receipt(command), "receipt")
            case PrintStaffSlip():
                self._spawn(self._print_staff_slip(command), f"slip {command.item_id}")
            case EndPatronSession(patron_id):
                self._spawn(self._end_patron_session(patron_id), "end session")
            case RememberCard(card_id, blocked):
                self.journal.remember_card(card_id, blocked, self.clock())
            case Speak():
                pass  # speech output comes with the universal-design work; the UI reads screens aloud

    async def _never_hanging(self, work: Coroutine[Any, Any, None], failed: Callable[[str], Event]) -> None:
        """A bug in the station must not leave a patron looking at "working..." until the idle timeout
        cannot even fire (the session waits for every item in flight): an unexpected error becomes
        the failure event the session already knows how to show (a loan of unknown fate, a security
        bit not set), and it is logged for the technician."""
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.exception("station: unexpected error")
            self._observe("hardware", action="station", ok=False, error=repr(error))
            self.feed(failed(f"internal error: {error!r}"))

    def _describe(self, screen: Screen) -> dict[str, Any]:
        lang = screen.language
        return {
            "screen": screen.name.value,
            "heading": translate(screen.heading, lang),
            "message": translate(screen.message, lang) if screen.message else "",
            "rows": [
                {
                    "item_id": row.item_id,
                    "title": row.title,
                    "state": row.state.value,
                    "text": translate(row.text, lang),
                }
                for row in screen.rows
            ],
            "details": [translate(line, lang) for line in screen.details],
            "actions": [a.value for a in screen.actions],
            "offline": screen.offline,
        }

    async def _authenticate(self, command: Authenticate) -> None:
        txn = Transaction.new(self.clock())
        try:
            account = await self.circulation.patron(command.card_id, command.pin, txn)
        except CirculationError as error:
            self._observe("circulation", action="patron", ok=False, error=str(error))
            self._note_failure()
            self.feed(CirculationFailed(Operation.PATRON, "", str(error), self.clock(), sent=False))
            return
        self._note_success()
        self._observe("circulation", action="patron", ok=account.found and account.pin_ok is not False)
        self.feed(PatronLoaded(account, self.clock()))

    async def _circulate(self, command: Checkout | Checkin | Renew) -> None:
        """Journal first, then send; an unanswered request is resolved before the patron hears anything."""
        operation = _OPERATION[type(command)]
        patron_id = "" if isinstance(command, Checkin) else command.patron_id
        offline = not isinstance(command, Renew) and command.offline
        txn = Transaction.new(
            self.clock(),
            offline=offline,
            clock_synchronised=self.clock_synchronised(),
            due_date=command.due if isinstance(command, Checkout) else None,
        )
        if offline:
            await self._accept_offline(command, operation, txn)
            return
        if not await self._earlier_actions_settled(command.item_id):
            self._failed(
                command, operation, txn, "earlier actions on this item are not confirmed yet", sent=False
            )
            return
        try:
            entry = await self.recorder.record(txn, operation, command.item_id, patron_id)
        except (OSError, sqlite3.Error) as error:
            # Without a durable record nothing is sent: a lost action would be worse than a refusal.
            self._failed(command, operation, txn, f"journal: {error}", sent=True)
            return
        self._entry_for[command.item_id] = entry.id
        try:
            outcome = await self._send(command, txn)
        except CirculationUnavailable as error:
            await self._settle_before_telling(
                entry.id, State.REFUSED, reason=f"not sent: {error}", outcome={"not_sent": True}
            )
            self._note_failure()
            self._failed(command, operation, txn, str(error), sent=False)
            return
        except (CirculationNoReply, CirculationProtocolError) as error:
            self._note_failure()
            found = await self._find_out(entry, command, txn, error)
            if found is None:
                # Still unknown: tell the patron it did not work, and let the sync check later
                # (a loan found then becomes a conflict for staff; otherwise it is dropped).
                await self._settle_before_telling(
                    entry.id, State.SENDING, outcome={"told_patron": TOLD_FAILED}
                )
                self._failed(command, operation, txn, str(error), sent=True)
                return
            outcome = found
        else:
            self._note_success()
        details: dict[str, Any] = {
            "reason": str(outcome.reason or ""),
            "screen_message": outcome.screen_message,
            "outcome": _outcome_record(outcome),
        }
        if outcome.ok:
            # Done: rides along. Lost in a crash, the reconciliation finds it done and says so.
            self.journal.settle(entry.id, State.DONE, **details)
        else:
            await self._settle_before_telling(entry.id, State.REFUSED, **details)
        self._report(command, operation, txn, outcome)
        self._feed_outcome(outcome)

    async def _settle_before_telling(self, entry_id: uuid.UUID, state: State, **details: Any) -> None:
        """Commit an outcome before the patron hears "no". Were a refusal lost in a crash, the entry
        would look sent-but-unanswered, and the replay would send (with no block) what the library
        system refused or the patron gave up on. Off the event loop: it waits for an fsync."""
        try:
            await asyncio.to_thread(self.journal.settle, entry_id, state, durable=True, **details)
        except (OSError, sqlite3.Error) as error:
            # Still waiting to ride along with the next commit; the patron is told the truth anyway.
            log.error("journal: the outcome of %s is not on disk yet: %s", entry_id, error)
            self._observe("hardware", action="journal", ok=False, error=str(error))

    async def _send(self, command: Checkout | Checkin | Renew, txn: Transaction) -> Outcome:
        match command:
            case Checkout(patron_id, item_id, pin):
                return await self.circulation.checkout(patron_id, item_id, txn, pin=pin)
            case Checkin(item_id):
                return await self.circulation.checkin(item_id, txn)
            case Renew(patron_id, item_id):
                return await self.circulation.renew(patron_id, item_id, txn)
        raise AssertionError(command)

    async def _find_out(
        self, entry: Entry, command: Checkout | Checkin | Renew, txn: Transaction, error: Exception
    ) -> Outcome | None:
        """A request went out and no usable reply came back: ask the library system what happened,
        and send again only when it certainly did not (never lend twice)."""
        self._observe(
            "circulation", action="reconcile", item_id=command.item_id, txn=str(txn.id), error=str(error)
        )
        for _attempt in range(2):
            try:
                if await self.replayer.happened(entry):
                    return _reconciled(command)
                await asyncio.to_thread(self.journal.mark_replaying, entry.id)
                return await self._send(command, txn)
            except (CirculationNoReply, CirculationProtocolError):
                continue
            except CirculationUnavailable:
                return None
        return None

    async def _accept_offline(
        self, command: Checkout | Checkin | Renew, operation: JournalOperation, txn: Transaction
    ) -> None:
        """The session accepted this under the offline policy: make it durable, then confirm it."""
        patron_id = "" if isinstance(command, Checkin) else command.patron_id
        try:
            entry = await self.recorder.record(txn, operation, command.item_id, patron_id, state=State.QUEUED)
        except (OSError, sqlite3.Error) as error:
            self._failed(command, operation, txn, f"journal: {error}", sent=True)
            return
        self._entry_for[command.item_id] = entry.id
        outcome: Outcome
        if isinstance(command, Checkout):
            outcome = CheckoutOutcome(command.item_id, ok=True, due=command.due)
        else:
            outcome = CheckinOutcome(command.item_id, ok=True, route=Route(RouteKind.STAFF))
        self._report(command, operation, txn, outcome, offline=True)
        self._feed_outcome(outcome)

    async def _earlier_actions_settled(self, item_id: str) -> bool:
        """Per item, actions reach the library system in the order they happened. (One read for the whole
        stack: its items then record in the same loop turn, and so in one group commit.)"""
        if not any(e.item_id == item_id for e in await self.recorder.unsettled()):
            return True
        try:
            return await self.replayer.drain_item(item_id)
        except CirculationError:
            return False

    def _report(
        self,
        command: Checkout | Checkin | Renew,
        operation: JournalOperation,
        txn: Transaction,
        outcome: Outcome,
        *,
        offline: bool = False,
    ) -> None:
        record: dict[str, Any] = {
            "action": operation.value,
            "item_id": command.item_id,
            "ok": outcome.ok,
            "txn": str(txn.id),
            "offline": offline,
        }
        if isinstance(outcome, CheckinOutcome):
            record["route"] = outcome.route.kind.value
            record["destination"] = outcome.route.destination_name or outcome.route.destination_id
        else:
            record["due"] = outcome.due.isoformat() if outcome.due else None
        record["reason"] = outcome.reason
        record["screen_message"] = outcome.screen_message
        self._observe("circulation", **record)

    def _feed_outcome(self, outcome: Outcome) -> None:
        now = self.clock()
        if isinstance(outcome, CheckoutOutcome):
            self.feed(CheckoutDone(outcome, now))
        elif isinstance(outcome, CheckinOutcome):
            self.feed(CheckinDone(outcome, now))
        else:
            self.feed(RenewDone(outcome, now))

    def _failed(
        self,
        command: Checkout | Checkin | Renew,
        operation: JournalOperation,
        txn: Transaction,
        detail: str,
        *,
        sent: bool,
    ) -> None:
        self._observe(
            "circulation",
            action=operation.value,
            item_id=command.item_id,
            ok=False,
            txn=str(txn.id),
            error=detail,
            sent=sent,
        )
        self.feed(
            CirculationFailed(Operation(operation.value), command.item_id, detail, self.clock(), sent=sent)
        )

    # ------------------------------------------------------------ online / offline

    def _note_failure(self) -> None:
        self._failures += 1
        if self.online and self._failures >= self.failure_budget:
            self._set_online(False)

    def _note_success(self) -> None:
        self._failures = 0

    def _set_online(self, online: bool) -> None:
        if online == self.online:
            return
        self.online = online
        self._observe("network", online=online)
        for command in self.session.set_offline(not online):
            self._execute(command)
        if online:
            self._spawn(self.sync(), "sync")
        elif self._prober is None or self._prober.done():
            # A background loop, not a command: `settle` must not wait for the network to come back.
            self._prober = asyncio.create_task(self._probe(), name="probe")

    async def _probe(self) -> None:
        """While offline: try the library system now and then, and come back by itself."""
        while not self.online:
            await asyncio.sleep(self.probe_interval)
            try:
                await self.circulation.ping()
            except CirculationError:
                continue
            self._failures = 0
            self._set_online(True)

    async def check_connection(self) -> bool:
        """Ping the library system up to the failure budget; go offline if it never answers.
        At start-up this also replays what a crash or an outage left in the journal."""
        for _ in range(self.failure_budget):
            try:
                await self.circulation.ping()
            except CirculationError:
                self._note_failure()
                continue
            self._note_success()
            if self.online and self.journal.unsettled():
                await self.sync()
            return True
        return False

    async def sync(self) -> SyncReport:
        report = await self.replayer.sync()
        if report.stopped and report.remaining:
            self._note_failure()
        return report

    async def _write_security(self, command: WriteSecurity) -> None:
        """Write the AFI to every part and read it back; retry; report per tag."""
        all_ok = True
        detail = ""
        for uid in command.uids:
            before = self._pad[uid].afi if uid in self._pad else None
            verified = False
            attempts = 0
            for attempts in range(1, self.security_attempts + 1):  # noqa: B007 (reported below)
                try:
                    await self.reader.write_afi(uid, command.afi)
                    verified = await self.reader.read_afi(uid) == command.afi
                    if not verified:
                        detail = f"the tag read back a different AFI than {afi_hex(command.afi)}"
                except TagNotPresent as error:
                    detail = str(error)
                    break  # lifted off the pad: retried when it comes back (session rule 4)
                except ReaderError as error:
                    detail = str(error)
                if verified:
                    break
            if verified:
                self._watcher.note_afi(uid, command.afi)
            all_ok &= verified
            if command.item_id in self._entry_for:
                self.journal.note_security(self._entry_for[command.item_id], uid.hex(), command.afi, verified)
            self._observe(
                "hardware",
                action="write_afi",
                item_id=command.item_id,
                uid=uid.hex(),
                afi_before=afi_hex(before) if before is not None else None,
                afi_after=afi_hex(command.afi),
                verified=verified,
                attempts=attempts,
                error="" if verified else detail,
            )
        if not all_ok:
            # Never silent: staff see which item's security could not be set and what the policy did.
            self._observe(
                "security_failure",
                item_id=command.item_id,
                afi=afi_hex(command.afi),
                policy=self.policy.security_failure.value,
                error=detail,
            )
        self.feed(SecurityWritten(command.item_id, all_ok, self.clock(), detail))

    async def _print_receipt(self, command: PrintReceipt) -> None:
        lang = command.language
        lines = [ReceiptLine(translate(line, lang)) for line in command.lines]
        receipt = Receipt(
            kind="patron",
            title=translate(command.heading, lang),
            lines=tuple(lines),
            footer=translate(Text("receipt.footer"), lang),
            library_name=self.library_name,
            printed_at=self.clock(),
            language=lang,
        )
        await self._print(receipt)

    async def _print_staff_slip(self, command: PrintStaffSlip) -> None:
        lang = self.staff_language
        route = command.route
        lines = [
            ReceiptLine(translate(Text.of(f"slip.{route.kind.value}"), lang), style="large", align="center"),
            ReceiptLine(route.destination_name or route.destination_id, style="large", align="center"),
            ReceiptLine(command.title or command.item_id, style="bold"),
            ReceiptLine(command.item_id),
        ]
        if route.kind is RouteKind.HOLD_SHELF and (route.hold_patron_id or route.hold_patron_name):
            lines.append(
                ReceiptLine(translate(Text.of("slip.hold_for", patron=hold_patron_label(route)), lang))
            )
        receipt = Receipt(
            kind="staff_slip",
            title=translate(Text("slip.heading"), lang),
            lines=tuple(lines),
            footer="",
            library_name=self.library_name,
            printed_at=self.clock(),
            language=lang,
        )
        self._observe(
            "slip",
            item_id=command.item_id,
            route=route.kind.value,
            destination=route.destination_name or route.destination_id,
            # Whether the slip names the hold patron, not who: observations end up in logs.
            names_hold_patron=bool(route.hold_patron_name or route.hold_patron_id),
        )
        await self._print(receipt, report=False)

    async def _print(self, receipt: Receipt, *, report: bool = True) -> None:
        try:
            result = await self.printer.print(receipt)
        except PrinterError as error:
            self._observe("hardware", action="print", receipt=receipt.kind, ok=False, error=str(error))
            if report:
                self.feed(ReceiptPrinted(False, self.clock(), str(error)))
            return
        self._observe(
            "hardware", action="print", receipt=receipt.kind, ok=True, files=[str(p) for p in result.files]
        )
        if report:
            self.feed(ReceiptPrinted(True, self.clock()))

    async def _end_patron_session(self, patron_id: str) -> None:
        with contextlib.suppress(CirculationError):
            await self.circulation.end_session(patron_id)

    # ------------------------------------------------------------ loops

    async def _poll_pad(self) -> None:
        while True:
            try:
                changed = await self._scan_pad()
            except ReaderError as error:
                if self._reader_ok:
                    log.warning("RFID reader: %s", error)
                    self._observe("hardware", action="reader", ok=False, error=str(error))
                self._reader_ok = False
                changed = False
            else:
                if not self._reader_ok:
                    self._observe("hardware", action="reader", ok=True)
                self._reader_ok = True
            if changed:
                self.feed(TagsChanged(tuple(self._pad.values()), self.clock()))
            await asyncio.sleep(self.poll_interval)

    async def _scan_pad(self) -> bool:
        change = await self._watcher.scan()  # a tag not read yet is tried again next round
        for tag in change.arrived:
            if tag.kind is TagKind.UNREADABLE:
                self._observe("hardware", action="unreadable_tag", uid=tag.uid.hex(), problem=tag.problem)
        return change.changed

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.tick_interval)
            self.feed(Tick(self.clock()))
            await self.journal_upkeep()

    # ------------------------------------------------------------ journal upkeep and status

    async def journal_upkeep(self) -> None:
        """Every tick: commit what rides along after a quiet spell with no session; purge once a day."""
        now = self.clock()
        if self.upkeep.flush_due(now, session_active=self.session_active):
            await self._flush_journal()
        if self.upkeep.purge_due(now):
            await self._purge(now)

    async def _flush_journal(self) -> None:
        try:
            await asyncio.to_thread(self.upkeep.flush)
        except (OSError, sqlite3.Error) as error:
            # Nothing is lost: a record is committed before it is sent; an outcome not written is
            # reconciled with the library system after a restart.
            log.error("journal flush failed: %s", error)

    async def _purge(self, now: datetime) -> None:
        try:
            purged = await asyncio.to_thread(self.upkeep.purge, now)
        except (OSError, sqlite3.Error) as error:
            log.error("journal purge failed: %s", error)
            return
        if purged:
            self._observe("journal", action="purge", purged=purged)

    def status(self) -> StationStatus:
        """Pending entries, conflicts, last sync and the online state, for the staff screen."""
        last_sync = self.journal.meta("last_sync")
        return StationStatus(
            online=self.online,
            pending=sum(self.journal.counts().get(state.value, 0) for state in UNSETTLED),
            conflicts=tuple(
                ConflictNote(str(e.id), e.item_id, e.operation.value, e.reason, e.at)
                for e in self.journal.conflicts()
            ),
            last_sync=datetime.fromisoformat(last_sync) if last_sync else None,
        )


def hold_patron_label(route: Route) -> str:
    """Who a hold is for, as far as the library system said: "Name (id)", or whichever it gave.
    For the staff slip only; the returning patron never sees it."""
    name, patron_id = route.hold_patron_name, route.hold_patron_id
    if name and patron_id:
        return f"{name} ({patron_id})"
    return name or patron_id
