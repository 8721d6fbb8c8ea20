"""The staff screen's rules: when it may open, when it closes, what it shows.

Staff hold the header (the library's name) for `STAFF_HOLD` on the welcome screen; a patron's tap is not a
hold. The screen is only ever opened between patrons, and it closes the moment a patron starts (the station
is theirs), or after `STAFF_IDLE_CLOSE` without a touch, unless a sync is running. It shows the station's
status (`kiosk.station.Station.status()`): whether the library system answers, the journal entries it has
not confirmed, the last sync and the conflicts: item, what was done, when and why, never a patron.

The screen is behind a staff credential (a passphrase, or a staff card plus a PIN), checked by the shell
against its argon2 hash (`kiosk.credentials`); `StaffGate` holds the rule: after `STAFF_FREE_ATTEMPTS` wrong
tries in a row the screen stays shut for `STAFF_LOCKOUT`, doubled with each further wrong try up to
`STAFF_LOCKOUT_MAX`. A station without a credential never opens it (a technician sets one).

`ui/` renders a `StaffView` and asks `staff_may_open` / `staff_must_close`; it decides nothing itself.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from kiosk.core.cards import rest_until
from kiosk.core.screens import ScreenName, Text

STAFF_HOLD = timedelta(seconds=3)  # holding the header this long opens the staff screen
STAFF_REFRESH = timedelta(seconds=2)  # between refreshes of the figures while it is open
STAFF_IDLE_CLOSE = timedelta(seconds=60)  # closes after this long without a touch (not during a sync)
STAFF_FREE_ATTEMPTS = 3  # wrong credentials in a row before the staff screen locks
STAFF_LOCKOUT = timedelta(minutes=1)  # the first lock; doubled with each further wrong try
STAFF_LOCKOUT_MAX = timedelta(hours=1)


@dataclass
class StaffGate:
    """Whether the staff credential may be tried now, and what each try did to that (lockout)."""

    has_credential: bool
    failures: int = 0
    failed_at: datetime | None = None

    def locked_for(self, now: datetime) -> timedelta | None:
        """How long the screen stays shut (None: a try is allowed; no credential: shut for good)."""
        if not self.has_credential:
            return timedelta.max
        until = rest_until(
            self.failures, self.failed_at, STAFF_FREE_ATTEMPTS, STAFF_LOCKOUT, STAFF_LOCKOUT_MAX
        )
        return until - now if until is not None and until > now else None

    def tried(self, ok: bool, now: datetime) -> bool:
        """Note a try the shell checked; True when the screen may open. A try while locked never counts."""
        if self.locked_for(now) is not None:
            return False
        if ok:
            self.failures, self.failed_at = 0, None
            return True
        self.failures, self.failed_at = self.failures + 1, now
        return False


class ConflictFacts(Protocol):
    """One conflict as the station reports it (`kiosk.station.ConflictNote`)."""

    @property
    def id(self) -> str: ...
    @property
    def item_id(self) -> str: ...
    @property
    def operation(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def at(self) -> datetime: ...


class StatusFacts(Protocol):
    """The station's status (`kiosk.station.StationStatus`)."""

    @property
    def online(self) -> bool: ...
    @property
    def pending(self) -> int: ...
    @property
    def conflicts(self) -> Sequence[ConflictFacts]: ...
    @property
    def last_sync(self) -> datetime | None: ...
    @property
    def tasks(self) -> Sequence[StaffTask]: ...


class SyncFacts(Protocol):
    """What a sync did (`kiosk.journal.SyncReport`)."""

    @property
    def stopped(self) -> str: ...
    @property
    def replayed(self) -> int: ...
    @property
    def reconciled(self) -> int: ...
    @property
    def conflicts(self) -> int: ...
    @property
    def remaining(self) -> int: ...


class TaskKind(enum.StrEnum):
    """What a staff task asks for (`kiosk.journal` keeps them until staff mark them done)."""

    SECURITY_FAILED = "security_failed"  # the security bit could not be set after every attempt
    SECURITY_UNFINISHED = "security_unfinished"  # the station stopped between a loan/return and its write
    READER_DEAD = "reader_dead"  # the RFID reader stopped answering
    SLIP_NOT_PRINTED = "slip_not_printed"  # a staff slip was lost to the printer: its routing is here


@dataclass(frozen=True)
class StaffTask:
    """Something staff must do at the station: the item (if any), what happened, and when."""

    id: int
    kind: TaskKind
    item_id: str
    detail: str  # for staff: the AFI wanted, the routing of a lost slip, the reader's error
    at: datetime


@dataclass(frozen=True)
class Figure:
    """One of the three big figures; `alert` marks what staff should act on."""

    value: Text | str  # a text to translate, or a number as it is shown
    alert: bool


@dataclass(frozen=True)
class ConflictLine:
    ref: str  # names the row for tests and tooling: "conflict:<journal entry id>"
    item_id: str
    operation: Text  # staff.operation.<operation>; the UI shows `operation_name` if a catalogue lacks it
    operation_name: str
    at: datetime
    reason: Text  # staff.reason.<reason>; the UI shows `reason_name` if a catalogue lacks it
    reason_name: str


@dataclass(frozen=True)
class TaskLine:
    """A staff task as the screen lists it: what to do, the item, the station's detail, when."""

    ref: str  # "task:<journal task id>"
    kind: TaskKind
    what: Text  # staff.task.<kind>
    item_id: str  # "" for a task about the station (a dead reader)
    detail: str  # the AFI wanted, a lost slip's routing, the reader's error: never a patron
    at: datetime


# What stops the station first comes first: a dead reader serves nobody; an item whose security bit
# disagrees with the library system alarms at the gate or walks out; a lost slip only delays an item.
TASK_ORDER = (
    TaskKind.READER_DEAD,
    TaskKind.SECURITY_UNFINISHED,
    TaskKind.SECURITY_FAILED,
    TaskKind.SLIP_NOT_PRINTED,
)
TASK_TEXTS = {
    TaskKind.READER_DEAD: Text("staff.task.reader_dead"),
    TaskKind.SECURITY_UNFINISHED: Text("staff.task.security_unfinished"),
    TaskKind.SECURITY_FAILED: Text("staff.task.security_failed"),
    TaskKind.SLIP_NOT_PRINTED: Text("staff.task.slip_not_printed"),
}


@dataclass(frozen=True)
class StaffView:
    online: Figure
    pending: Figure
    conflicts: Figure
    last_sync: datetime | None  # None: "never synced"; the UI writes the time in the staff language
    rows: tuple[ConflictLine, ...]
    empty: Text | None  # shown instead of rows when there is no conflict
    hint: Text | None  # what staff do about conflicts
    tasks: tuple[TaskLine, ...] = ()  # by `TASK_ORDER`, the oldest first within a kind


@dataclass(frozen=True)
class StaffPrompt:
    """The credential prompt before the staff screen: what it asks, what the last try did, whether a try
    is possible now (no credential set, or locked after wrong tries: the fields stay shut)."""

    ask: Text
    message: Text | None
    may_try: bool


def staff_prompt(kind: str, locked_for: timedelta | None, wrong: bool = False) -> StaffPrompt:
    """`kind` is `[staff] kind`; `locked_for` is `StaffGate.locked_for` (`timedelta.max`: no credential)."""
    ask = Text("staff.prompt.card_pin") if kind == "card_pin" else Text("staff.prompt.passphrase")
    if locked_for == timedelta.max:
        return StaffPrompt(ask, Text("staff.prompt.no_credential"), may_try=False)
    if locked_for is not None:
        minutes = max(1, math.ceil(locked_for.total_seconds() / 60))
        return StaffPrompt(ask, Text.of("staff.prompt.locked", minutes=minutes), may_try=False)
    return StaffPrompt(ask, Text("staff.prompt.wrong") if wrong else None, may_try=True)


def task_lines(tasks: Sequence[StaffTask]) -> tuple[TaskLine, ...]:
    ordered = sorted(tasks, key=lambda t: (TASK_ORDER.index(t.kind), t.at, t.id))
    return tuple(
        TaskLine(f"task:{t.id}", t.kind, TASK_TEXTS[t.kind], t.item_id, t.detail, t.at) for t in ordered
    )


# Screens with no patron at the station: on the welcome screen, or out of order (a technician's command
# from the console), where staff most need the staff screen to see why.
BETWEEN_PATRONS = (None, ScreenName.WELCOME, ScreenName.OUT_OF_ORDER)


def staff_may_open(patron_screen: ScreenName | None, already_open: bool) -> bool:
    """Only between patrons (welcome, out of order, or before the first screen), and only once."""
    return not already_open and patron_screen in BETWEEN_PATRONS


def staff_must_close(patron_screen: ScreenName | None, idle: timedelta, syncing: bool) -> bool:
    """A patron has started (the station is theirs, even mid-sync), or staff walked away (not mid-sync)."""
    if patron_screen not in BETWEEN_PATRONS:
        return True
    return idle > STAFF_IDLE_CLOSE and not syncing


def staff_view(status: StatusFacts) -> StaffView:
    rows = tuple(
        ConflictLine(
            ref=f"conflict:{c.id}",
            item_id=c.item_id,
            operation=Text(f"staff.operation.{c.operation}"),
            operation_name=c.operation,
            at=c.at,
            reason=Text(f"staff.reason.{c.reason}"),
            reason_name=c.reason,
        )
        for c in status.conflicts
    )
    return StaffView(
        online=Figure(
            Text("staff.state.online" if status.online else "staff.state.offline"), not status.online
        ),
        pending=Figure(str(status.pending), status.pending > 0),
        conflicts=Figure(str(len(rows)), bool(rows)),
        last_sync=status.last_sync,
        rows=rows,
        empty=None if rows else Text("staff.no_conflicts"),
        hint=Text("staff.conflict_hint") if rows else None,
        tasks=task_lines(status.tasks),
    )


def sync_outcome(report: SyncFacts | None, error: str = "") -> Text:
    """What "Sync now" says when it is over: why it stopped, or what it did."""
    if report is None or report.stopped:
        return Text.of("staff.sync_stopped", reason=error if report is None else report.stopped)
    return Text.of(
        "staff.sync_done",
        replayed=report.replayed,
        reconciled=report.reconciled,
        conflicts=report.conflicts,
        remaining=report.remaining,
    )


SYNCING = Text("staff.syncing")
