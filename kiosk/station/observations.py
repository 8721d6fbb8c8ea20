"""What the station tells its observers: one frozen dataclass per kind of happening.

Observers (the headless demo's transcript, logs, tests) receive these values as they are. Tests match on
the types (`isinstance(o, Circulated) and o.operation is Operation.CHECKOUT`); only the edge that writes
them somewhere (the CLI's JSON lines, a log) turns one into a plain record with `as_record()` or
`to_json()`. The records keep the shape the transcript has always had: `kind`, for some an `action`,
then the fields.

PINs are never part of an observation, and a staff slip says *whether* it names a hold patron, not who:
observations end up in system logs. What the devices did (and the station's own faults) is in
`kiosk.station.device_observations`.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar, assert_never

from kiosk.core import Operation, Screen, Unexpected
from kiosk.i18n import translate
from kiosk.journal import ConflictForStaff, EntryReplayed, ReplayReport, SyncReport
from server_api.circulation import CheckinOutcome, CheckoutOutcome, RenewOutcome

Outcome = CheckoutOutcome | CheckinOutcome | RenewOutcome
Record = dict[str, object]  # an observation as the transcript's JSON has it


def _plain(value: object) -> object:
    """A field value as JSON can hold it."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class Observation:
    """Base of every observation. `KIND` (and `ACTION`, where the transcript has one) head the record."""

    KIND: ClassVar[str] = ""
    ACTION: ClassVar[str] = ""

    def as_record(self) -> Record:
        head: Record = {"kind": self.KIND}
        if self.ACTION:
            head["action"] = self.ACTION
        return head | self._fields()

    def to_json(self) -> str:
        return json.dumps(self.as_record(), ensure_ascii=False, default=str)

    def _fields(self) -> Record:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}


Observer = Callable[[Observation], None]


# ---------------------------------------------------------------- the patron's screen


@dataclass(frozen=True)
class ScreenShown(Observation):
    """The station showed this screen. The record carries the text in the screen's language."""

    KIND = "screen"
    screen: Screen

    def _fields(self) -> Record:
        screen, lang = self.screen, self.screen.language
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


@dataclass(frozen=True)
class SessionSurprised(Observation):
    """A result the session could not take where it stood (a late reply, a stray event); nothing changed."""

    KIND, ACTION = "session", "unexpected"
    unexpected: Unexpected

    def _fields(self) -> Record:
        u = self.unexpected
        return {"event": u.event, "mode": u.mode.value, "item_id": u.item_id, "stage": _plain(u.stage)}


# ---------------------------------------------------------------- circulation


@dataclass(frozen=True)
class PatronLookup(Observation):
    """A card (and PIN) was checked with the library system; `error` when it could not be asked."""

    KIND, ACTION = "circulation", "patron"
    ok: bool
    error: str = ""

    def _fields(self) -> Record:
        return {"ok": self.ok, "error": self.error} if self.error else {"ok": self.ok}


@dataclass(frozen=True)
class Circulated(Observation):
    """The library system (or, offline, the station's journal) answered a checkout, checkin or renewal:
    done, or refused with a reason."""

    KIND = "circulation"
    operation: Operation
    item_id: str
    txn: uuid.UUID
    outcome: Outcome
    offline: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome.ok

    def _fields(self) -> Record:
        outcome = self.outcome
        record: Record = {
            "action": self.operation.value,
            "item_id": self.item_id,
            "ok": outcome.ok,
            "txn": str(self.txn),
            "offline": self.offline,
        }
        if isinstance(outcome, CheckinOutcome):
            record["route"] = outcome.route.kind.value
            record["destination"] = outcome.route.destination_name or outcome.route.destination_id
        else:
            record["due"] = outcome.due.isoformat() if outcome.due else None
        record["reason"] = outcome.reason
        record["screen_message"] = outcome.screen_message
        return record


@dataclass(frozen=True)
class NotCirculated(Observation):
    """A checkout, checkin or renewal that did not work; `sent` unless it certainly never left."""

    KIND = "circulation"
    operation: Operation
    item_id: str
    txn: uuid.UUID
    error: str
    sent: bool

    ok: ClassVar[bool] = False

    def _fields(self) -> Record:
        return {
            "action": self.operation.value,
            "item_id": self.item_id,
            "ok": False,
            "txn": str(self.txn),
            "error": self.error,
            "sent": self.sent,
        }


@dataclass(frozen=True)
class Reconciling(Observation):
    """No usable reply came: the station asks the library system what happened before anything else."""

    KIND, ACTION = "circulation", "reconcile"
    item_id: str
    txn: uuid.UUID
    error: str


# ---------------------------------------------------------------- network, journal, replay


@dataclass(frozen=True)
class NetworkChanged(Observation):
    """The station went offline, or came back online."""

    KIND = "network"
    online: bool


@dataclass(frozen=True)
class JournalPurged(Observation):
    """Finished entries older than the purge age were deleted."""

    KIND, ACTION = "journal", "purge"
    purged: int


@dataclass(frozen=True)
class Synced(Observation):
    """A replay of the journal ended, with its counts."""

    KIND = "sync"
    report: SyncReport

    def _fields(self) -> Record:
        return self.report.as_dict()


@dataclass(frozen=True)
class Replayed(Observation):
    """One journal entry settled by a replay: `result` says how; `details` what the reply said."""

    KIND = "replay"
    entry_id: str
    item_id: str
    result: str
    details: Mapping[str, object] = field(default_factory=dict)

    def _fields(self) -> Record:
        return {"id": self.entry_id, "item_id": self.item_id, "result": self.result, **self.details}


@dataclass(frozen=True)
class ConflictFound(Observation):
    """A replayed action the library system refused (or one it has that the patron was told failed):
    for staff."""

    KIND = "conflict"
    entry_id: str
    item_id: str
    operation: str
    patron_id: str
    reason: str
    screen_message: str

    def _fields(self) -> Record:
        fields = super()._fields()
        return {"id": fields.pop("entry_id"), **fields}


def from_replayer(report: ReplayReport) -> Observation:
    """The journal's replayer reports in its own types (it cannot import the station's); this turns each
    into the station's observation."""
    match report:
        case SyncReport():
            return Synced(report)
        case EntryReplayed(entry_id, item_id, result, details):
            return Replayed(entry_id, item_id, result, details)
        case ConflictForStaff():
            return ConflictFound(
                entry_id=report.entry_id,
                item_id=report.item_id,
                operation=report.operation,
                patron_id=report.patron_id,
                reason=report.reason,
                screen_message=report.screen_message,
            )
    assert_never(report)
