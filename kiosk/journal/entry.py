"""One journal entry: a circulation action, the UUID that travels with it, and what became of it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kiosk.core import Operation
from kiosk.journal.states import NEW, State
from server_api.circulation import Transaction

# What a journal entry can be: every circulation action, not a patron lookup. Stored as the enum's value
# ("checkout", "checkin", "renew"), so journal files written before kiosk.core.Operation load as they are.
JOURNALED = frozenset({Operation.CHECKOUT, Operation.CHECKIN, Operation.RENEW})


@dataclass(frozen=True)
class Entry:
    id: uuid.UUID
    operation: Operation
    item_id: str
    patron_id: str
    at: datetime
    offline: bool
    clock_synchronised: bool
    state: State
    due_date: datetime | None = None
    seq: int = 0
    reason: str = ""
    screen_message: str = ""
    outcome: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    replayed: bool = False  # reached the library system through the replay (flag for staff)
    security: tuple[dict[str, Any], ...] = ()
    updated: datetime | None = None

    def transaction(self) -> Transaction:
        return Transaction(
            id=self.id,
            at=self.at,
            offline=self.offline,
            clock_synchronised=self.clock_synchronised,
            due_date=self.due_date,
        )


@dataclass(frozen=True)
class NewEntry:
    """One action to record (`Journal.record_many`)."""

    txn: Transaction
    operation: Operation
    item_id: str
    patron_id: str = ""
    state: State = State.SENDING

    def __post_init__(self) -> None:
        if self.state not in NEW:
            raise ValueError(f"a new entry starts as sending or queued, not {self.state}")
        if self.operation not in JOURNALED:
            raise ValueError(f"the journal records circulation actions, not {self.operation}")


def took_effect(entry: Entry) -> bool | None:
    """Did this settled entry change the library system? None while it is unsettled.

    A conflict says so in its outcome (`happened`): a replay the library system refused did not take
    effect; an action the patron was told had failed but the library system has did."""
    if entry.state is State.DONE:
        return True
    if entry.state in (State.CONFLICT, State.RESOLVED):
        return bool(entry.outcome.get("happened", False))
    if entry.state is State.REFUSED:
        return False
    return None


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def entry_from_row(row: Mapping[str, Any]) -> Entry:
    """An `entries` row as an `Entry`."""
    return Entry(
        id=uuid.UUID(row["id"]),
        operation=Operation(row["operation"]),
        item_id=row["item_id"],
        patron_id=row["patron_id"],
        at=datetime.fromisoformat(row["at"]),
        due_date=_dt(row["due_date"]),
        offline=bool(row["offline"]),
        clock_synchronised=bool(row["clock_synchronised"]),
        state=State(row["state"]),
        seq=row["seq"],
        reason=row["reason"],
        screen_message=row["screen_message"],
        outcome=json.loads(row["outcome"]),
        attempts=row["attempts"],
        replayed=bool(row["replayed"]),
        security=tuple(json.loads(row["security"])),
        updated=_dt(row["updated"]),
    )


__all__ = ["JOURNALED", "Entry", "NewEntry", "entry_from_row", "iso", "took_effect"]
