"""The security bit as part of the transaction, and the staff tasks (issue 11, findings 1 and 2).

Every loan and return carries an *intent* in the journal: the AFI its tags are to get, written in the same
commit as the entry itself, so before anything is sent and long before the tag is written. It goes when
the write is verified (`security_done`, rides along), when the library system refused the action or said
to leave the security alone (a trigger, in the settle's own statement), or when staff were told
(`flag_security`). An intent still
there when a station starts means the station stopped somewhere between the action and its verified
write: the tag may disagree with the library system, so it becomes a staff task naming the item.

Staff tasks are what staff must do at the station: a security write that failed after every attempt, an
unfinished one, a dead reader, a staff slip the printer lost (with its routing). Durable at once; kept
until staff mark them done (`kiosk journal tasks`), then purged with the finished entries.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from kiosk.core import AFI_IN_LIBRARY, AFI_ON_LOAN, Operation, StaffTask, TaskKind
from kiosk.journal.storage import JournalStore

INTENDED_AFI = {Operation.CHECKOUT: AFI_ON_LOAN, Operation.CHECKIN: AFI_IN_LIBRARY}


@dataclass(frozen=True)
class SecurityIntent:
    entry_id: uuid.UUID
    item_id: str
    afi: int
    at: datetime


class SecurityAndTasks(JournalStore):
    """The journal's intents and staff tasks (`kiosk.journal.Journal` has them)."""

    def security_done(self, entry_id: uuid.UUID) -> None:
        """The AFI was written and read back (or need not be): rides along."""
        self._later("DELETE FROM security_intents WHERE entry_id = ?", (str(entry_id),))

    def flag_security(self, entry_id: uuid.UUID) -> None:
        """Staff were told (a task): the intent is not reported again at the next start."""
        self._later("UPDATE security_intents SET flagged = 1 WHERE entry_id = ?", (str(entry_id),))

    def unfinished_security(self) -> list[SecurityIntent]:
        with self._reading():
            rows = self.conn.execute(
                "SELECT entry_id, item_id, afi, at FROM security_intents WHERE flagged = 0 ORDER BY at"
            ).fetchall()
        return [
            SecurityIntent(uuid.UUID(e), str(i), int(a), datetime.fromisoformat(t)) for e, i, a, t in rows
        ]

    def add_task(self, kind: TaskKind, item_id: str, detail: str, at: datetime) -> None:
        """A task for staff; durable at once (with everything that rides along)."""
        self._later(
            "INSERT INTO tasks (kind, item_id, detail, at) VALUES (?,?,?,?)",
            (kind.value, item_id, detail, at.isoformat()),
        )
        self.flush()

    def tasks(self, *, include_done: bool = False) -> list[StaffTask]:
        where = "1" if include_done else "done IS NULL"
        with self._reading():
            rows = self.conn.execute(
                f"SELECT id, kind, item_id, detail, at FROM tasks WHERE {where} ORDER BY id"
            )
            found = rows.fetchall()
        return [
            StaffTask(int(i), TaskKind(k), str(it), str(d), datetime.fromisoformat(a))
            for i, k, it, d, a in found
        ]

    def finish_task(self, task_id: int, note: str, at: datetime) -> bool:
        """Staff did it; durable. False when there is no such open task."""
        with self._lock, self._write():
            cursor = self.conn.execute(
                "UPDATE tasks SET done = ?, note = ? WHERE id = ? AND done IS NULL",
                (at.isoformat(), note, task_id),
            )
        return cursor.rowcount == 1


def intent_rows(new: list[tuple[str, str, Operation]], now: str) -> list[tuple[str, str, int, str]]:
    """The intents recorded with new entries (id, item, operation): loans and returns only."""
    return [(e, i, INTENDED_AFI[op], now) for e, i, op in new if op in INTENDED_AFI]


__all__ = ["INTENDED_AFI", "SecurityAndTasks", "SecurityIntent", "intent_rows"]
