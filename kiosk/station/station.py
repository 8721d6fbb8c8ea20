"""The station: runs the patron session against real (or simulated) hardware and the library system.

One asyncio loop (Kivy joins it through `App.async_run`). This module is the wiring and the command
dispatch; each job has its own module:

- `pad`: the pad's inventory loop, debounced, into `TagsChanged`;
- `patron`: the card and PIN checked with the library system;
- `sending`: checkouts, checkins and renewals, exactly once (record, send, find out, settle);
- `security`: the AFI written to every part and read back;
- `printing`: receipts and staff slips;
- `liveness`: online or offline, the probe, the replay on the way back;
- `gateway`, `gateway_reports`: through the consortium's gateway, a stack in one request, "what happened
  to UUID X?", heartbeats and the offline data (only when the circulation is a `GatewayLink`);
- `upkeep`: the tick (idle timeouts) and the journal's commits and purges;
- `observations`: what the station tells its observers, one type per kind. PINs never reach them.

Listeners receive every screen (that is how the UI listens).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, assert_never

from drivers.printer.base import Printer
from drivers.rfid.base import Reader
from kiosk.core import (
    Action,
    Authenticate,
    CardPresented,
    Checkin,
    Checkout,
    Command,
    EmailReceipt,
    EndPatronSession,
    Event,
    LanguageChosen,
    Mode,
    PatronSession,
    PinEntered,
    Pressed,
    PrintReceipt,
    PrintStaffSlip,
    RememberCard,
    Renew,
    Screen,
    SessionPolicy,
    Show,
    Speak,
    StaffTask,
    Unexpected,
    WriteSecurity,
)
from kiosk.credentials import CredentialKind
from kiosk.journal import UNSETTLED, Journal, JournalUpkeep, Replayer, SyncReport
from kiosk.station.gateway import GatewayLink
from kiosk.station.liveness import Liveness
from kiosk.station.observations import Observation, Observer, ScreenShown, SessionSurprised, from_replayer
from kiosk.station.out_of_order import OutOfOrder
from kiosk.station.pad import PadPoller, PadWatcher
from kiosk.station.patron import authenticate, authentication_failure, end_patron_session
from kiosk.station.printing import Printing
from kiosk.station.security import SecurityWriter, UndoWhenOnline, carry_out_undos
from kiosk.station.sending import ExactlyOnce
from kiosk.station.settings import StationSettings
from kiosk.station.staff_access import StaffAccess
from kiosk.station.staff_tasks import StaffTaskMaker
from kiosk.station.tasks import Observers, Shell, Tasks, never_hanging
from kiosk.station.upkeep import Heartbeat
from server_api.circulation import Circulation

if TYPE_CHECKING:
    from kiosk.station.console_link import ConsoleLink
    from kiosk.station.gateway_reports import GatewayReports

log = logging.getLogger(__name__)


def _gateway_reports(
    shell: Shell, station: Station, clock_synchronised: Callable[[], bool]
) -> GatewayReports | None:
    """Through a gateway, its reports; imported only then (pydantic models: issue 15, cold start)."""
    if not isinstance(station.circulation, GatewayLink):
        return None
    from kiosk.station.gateway_reports import gateway_reports

    return gateway_reports(shell, station, clock_synchronised)


ScreenListener = Callable[[Screen], None]
DEFAULT_SETTINGS = StationSettings()


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
    tasks: tuple[StaffTask, ...] = ()  # what staff must do at the station (kiosk.station.staff_tasks)
    printer: str = "ok"  # the receipt printer's last status: paper_near_end, paper_out, cover_open, ...
    # Refusal texts of the library system no rule maps to a reason, most frequent first (a pattern for the
    # vendor profile is missing: docs/SIP2.md, refusal reasons)
    unmapped_refusals: tuple[tuple[str, int], ...] = ()


class Station:
    """The station on one asyncio loop: `start()`, then input from the UI (`press`, `enter_pin`,
    `present_card`, `set_language`), screens to listeners and observations to observers, `stop()`.

    Built from its devices, the session policy and `StationSettings`; `kiosk.cli.build.build_station`
    does it from a configuration file. The jobs are reachable for tests and tools: `sending`, `security`,
    `printing`, `liveness`, `watcher` (the pad's picture), `upkeep` (the journal's), `replayer`."""

    console: ConsoleLink | None = None  # the staff console (gateway mode): set by build_station

    def __init__(
        self,
        *,
        circulation: Circulation,
        reader: Reader,
        printer: Printer,
        journal: Journal,
        policy: SessionPolicy,
        settings: StationSettings = DEFAULT_SETTINGS,
        clock: Callable[[], datetime] = local_now,
        clock_synchronised: Callable[[], bool] = lambda: True,
    ) -> None:
        self.circulation, self.reader, self.printer, self.journal = circulation, reader, printer, journal
        self.policy, self.settings, self.clock = policy, settings, clock
        self._observers = Observers()
        self._listeners: list[ScreenListener] = []
        self._tasks = Tasks()
        self._loops: list[asyncio.Task[None]] = []
        self._shell = shell = Shell(clock, self._observers, self.feed, self._tasks.spawn)
        self.session = PatronSession(
            policy, clock(), cards=journal.card_book(), offline_loans=journal.offline_loans()
        )
        self.screen: Screen = self.session.screen()
        self.replayer = Replayer(
            journal,
            circulation,
            observe=lambda report: self._observers(from_replayer(report)),
            clock=clock,
            ledger=circulation.happened if isinstance(circulation, GatewayLink) else None,
        )
        self.liveness = Liveness(shell, circulation, self.replayer, journal, settings)
        self.sending = ExactlyOnce(
            shell, circulation, journal, self.replayer, self.liveness, clock_synchronised=clock_synchronised
        )
        self.watcher = PadWatcher(reader, leave_after=settings.pad_leave_after)
        self._pad = PadPoller(shell, self.watcher, poll_interval=settings.timing.poll_interval)
        self.security = SecurityWriter(
            shell,
            reader,
            self.watcher,
            journal,
            attempts=settings.security_attempts,
            policy=policy.security_failure,
            entry_of=self.sending.latest_entry,
        )
        self._observers.add(StaffTaskMaker(journal, clock, self.sending.latest_entry))  # needs a person
        self._observers.add(UndoWhenOnline(journal, clock))  # undos left while offline
        self.staff = StaffAccess(settings.staff_credential, CredentialKind(settings.staff_kind), clock)
        self.printing = Printing(
            shell,
            printer,
            library_name=settings.library_name,
            staff_language=settings.staff_language,
            poll_interval=settings.timing.printer_poll_interval,
            layout=settings.receipt_layout,
        )
        self._heartbeat = Heartbeat(shell, journal, settings, session_active=lambda: self.session_active)
        self.upkeep: JournalUpkeep = self._heartbeat.upkeep
        self.gateway = _gateway_reports(shell, self, clock_synchronised)  # None unless through a gateway
        self.out_of_order = OutOfOrder(lambda s: self._obey([Show(s)]), self.session.screen, self.feed, clock)

    # ------------------------------------------------------------ who hears about it

    def add_listener(self, listener: ScreenListener) -> None:
        """`listener` gets every screen the patron sees, starting with the one shown now."""
        self._listeners.append(listener)
        listener(self.screen)

    def add_observer(self, observer: Observer) -> None:
        """`observer` gets an `Observation` for everything that happens from now on."""
        self._observers.add(observer)

    def remove_observer(self, observer: Observer) -> None:
        self._observers.remove(observer)

    # ------------------------------------------------------------ input from the UI

    def press(self, action: Action, item_id: str = "") -> None:
        """A button; `item_id` for a row's own button (renew this loan)."""
        self.feed(Pressed(action, self.clock(), item_id))

    def enter_pin(self, pin: str) -> None:
        self.feed(PinEntered(pin, self.clock()))

    def present_card(self, card_id: str) -> None:
        self.feed(CardPresented(card_id, self.clock()))

    def set_language(self, code: str) -> None:
        self.feed(LanguageChosen(code, self.clock()))

    # ------------------------------------------------------------ running

    async def start(self) -> None:
        await self._heartbeat.purge(self.clock())
        carry_out_undos(self.journal, self.clock())  # loans the last run was to undo: returns, journalled
        self._loops = [
            asyncio.create_task(self._pad.run(), name="pad"),
            asyncio.create_task(self._heartbeat.run(), name="tick"),
            asyncio.create_task(self.printing.run(), name="printer"),
            asyncio.create_task(self.liveness.watch(), name="idle probe"),
            *([asyncio.create_task(self.gateway.run(), name="gateway reports")] if self.gateway else []),
            *([asyncio.create_task(self.console.run(), name="console")] if self.console else []),
        ]
        # The replay of what the last run left, then its unfinished security writes (finished where the
        # item is still on the pad, staff tasks otherwise), once the replay has settled their actions.
        start_up = self.security.finish_unfinished(after=self.check_connection)
        self._tasks.spawn(start_up, "connection check and security writes at start")

    async def run(self) -> None:
        await self.start()
        await asyncio.gather(*self._loops)

    async def stop(self) -> None:
        prober = self.liveness.take_prober()
        await self._tasks.cancel(*self._loops, *([prober] if prober is not None else []))
        self._loops.clear()
        await self._heartbeat.flush()

    async def settle(self) -> None:
        """Wait until every command already issued has finished (tests and scripted scenarios)."""
        await self._tasks.settle()

    def feed(self, event: Event) -> None:
        if self.out_of_order.refuses(event):
            return  # out of order (a technician's command): patrons' input reaches no session
        active = self.session_active
        self._obey(self.session.handle(event))
        if active and not self.session_active:
            # The session is over: its last outcomes are committed now, not with the next patron's.
            self._tasks.spawn(self._heartbeat.flush(), "journal flush at session end")
            self._tasks.spawn(self.printing.poll(), "printer status between sessions")

    @property
    def session_active(self) -> bool:
        """A patron is using the station (or something they did is still in flight)."""
        return self.session.mode is not Mode.WELCOME or self.session.busy

    @property
    def online(self) -> bool:
        return self.liveness.online

    async def check_connection(self) -> bool:
        """Ping the library system (start-up, scripts); replays the journal when it answers."""
        return await self.liveness.check_connection()

    async def sync(self) -> SyncReport:
        """Replay the journal now ("Sync now" on the staff screen)."""
        return await self.liveness.sync()

    async def journal_upkeep(self) -> None:
        await self._heartbeat.journal_upkeep()

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
            tasks=tuple(self.journal.tasks()),
            printer=self.printing.printer_status.value,
            unmapped_refusals=unmapped_refusals(self.circulation),
        )

    # ------------------------------------------------------------ the session's commands

    def _obey(self, commands: list[Command]) -> None:
        """Carry out the session's commands; the slow ones become tasks. A command type without its case
        here fails the type check (`assert_never`): no command is dropped."""
        shell, tasks = self._shell, self._tasks
        for command in commands:
            match command:
                case Show(screen):
                    self.screen = screen = self.out_of_order.instead(screen)
                    self._observers(ScreenShown(screen))
                    for listener in self._listeners:
                        listener(screen)
                case Authenticate():
                    work = authenticate(shell, self.circulation, self.liveness, command)
                    failure = authentication_failure(shell)
                    tasks.spawn(never_hanging(shell, work, failure), "authenticate")
                case Checkout() | Checkin() | Renew():
                    work = self.sending.circulate(command)
                    failure = self.sending.failure(command)
                    tasks.spawn(never_hanging(shell, work, failure), f"circulate {command.item_id}")
                case WriteSecurity():
                    work = self.security.write(command)
                    failure = self.security.failure(command)
                    tasks.spawn(never_hanging(shell, work, failure), f"security {command.item_id}")
                case PrintReceipt():
                    tasks.spawn(self.printing.receipt(command), "receipt")
                case EmailReceipt():
                    tasks.spawn(self.printing.email_receipt(command, self.circulation), "e-mail receipt")
                case PrintStaffSlip():
                    tasks.spawn(self.printing.staff_slip(command), f"slip {command.item_id}")
                case EndPatronSession(patron_id):
                    tasks.spawn(end_patron_session(self.circulation, patron_id), "end session")
                case RememberCard():
                    # Under the card's pseudonym only (kiosk.journal.cards): never the number.
                    self.journal.remember_card_record(command.card_key, command.record, self.clock())
                case Speak():
                    pass  # speech output comes with the universal-design work; the UI reads screens aloud
                case Unexpected():
                    log.warning("session: %s", command)  # a late or stray result; nothing changed
                    self._observers(SessionSurprised(command))
                case _:
                    assert_never(command)


def unmapped_refusals(circulation: Circulation) -> tuple[tuple[str, int], ...]:
    """The refusal texts a SIP2 circulation counted (`Sip2Circulation.unmapped_refusals`); none else."""
    counted: Callable[[], list[tuple[str, int]]] | None = getattr(circulation, "unmapped_refusals", None)
    return tuple(counted()) if counted is not None else ()


def observe_records(observer: Callable[[dict[str, object]], None]) -> Observer:
    """An observer for code that wants plain records (a JSON printer, a log)."""

    def as_records(observation: Observation) -> None:
        observer(observation.as_record())

    return as_records


__all__ = ["ConflictNote", "ScreenListener", "Station", "StationStatus", "local_now", "observe_records"]
