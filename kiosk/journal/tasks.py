"""The security bit as part of the transaction, and the staff tasks (issue 11, findings 1 and 2).

Every loan and return carries an *intent* in the journal: the AFI its tags are to get, written in the
entry's own row (`entries.afi`), so before anything is sent and long before the tag is written. It goes when
the write is verified (`security_done`, rides along), when the library system refused the action or said
to leave the security alone (a trigger, in the settle's own statement), or when staff were told
(`flag_security`). An intent still
there when a station starts means the station stopped somewhere between the action and its verified
write: the tag may disagree with the library system. The starting station re-reads the item's tags if they
are still on the pad and finishes the write (`kiosk.station.security.SecurityRecovery`); otherwise it
becomes a staff task naming the item.

A loan whose security write failed under the `undo` policy carries a *pending undo* (`want_undo`, durable
before the session hears of the failure): the loan is to be checked back in. Recording any return of the
item ends it, in the same commit (a trigger on the return's own intent); one still there at a start is
recorded as a return then (`carry_out_undos`), so the undo happens once, whatever the crash.

Journals written before schema 2 (`SCHEMA_VERSION`, in `meta`) kept the intents in a table of their own,
indexed entries by item and gave `seq` AUTOINCREMENT: four more B-tree pages to write per append; opening
one upgrades it (`_upgrade`).

Staff tasks are what staff must do at the station: a security write that failed after every attempt, an
unfinished one, a dead reader, a staff slip the printer lost (with its routing). Durable at once; kept
until staff mark them done (`kiosk journal tasks`), then purged with the finished entries.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from kiosk.core import AFI_IN_LIBRARY, AFI_ON_LOAN, Operation, StaffTask, TaskKind
from kiosk.journal.states import State
from kiosk.journal.storage import ENTRIES_TABLE, SCHEMA_VERSION, STATE_INDEX, JournalStore

log = logging.getLogger(__name__)

INTENDED_AFI = {Operation.CHECKOUT: AFI_ON_LOAN, Operation.CHECKIN: AFI_IN_LIBRARY}


INTENTS_SCHEMA = f"""
BEGIN;
-- Refused, or the library system said leave the security alone: nothing will be written (in the settle's
-- own statement, so the two cannot part in a crash).
CREATE TRIGGER IF NOT EXISTS intent_not_needed AFTER UPDATE OF state, outcome ON entries
WHEN NEW.afi IS NOT NULL AND (NEW.state = 'refused' OR json_extract(NEW.outcome, '$.security') = 'leave')
BEGIN UPDATE entries SET afi = NULL, afi_flagged = 0 WHERE seq = NEW.seq; END;
-- A loan to check back in (security write failed, policy undo): the loan's entry, its item, when.
CREATE TABLE IF NOT EXISTS pending_undos (
    entry_id TEXT PRIMARY KEY,
    item_id TEXT NOT NULL,
    at TEXT NOT NULL
);
-- A return of the item is recorded (every return carries its intent): the undo is in the journal's hands
-- now, exactly once. The item's intents are flagged: staff have the failed write's task, and the tag stays
-- as the failed write left it.
CREATE TRIGGER IF NOT EXISTS undo_when_returned AFTER INSERT ON entries
WHEN NEW.afi = {AFI_IN_LIBRARY} AND EXISTS (SELECT 1 FROM pending_undos WHERE item_id = NEW.item_id)
BEGIN
    DELETE FROM pending_undos WHERE item_id = NEW.item_id;
    UPDATE entries SET afi_flagged = 1 WHERE item_id = NEW.item_id AND afi IS NOT NULL;
END;
INSERT INTO meta (key, value) VALUES ('schema_version', '{SCHEMA_VERSION}')
ON CONFLICT(key) DO UPDATE SET value = excluded.value;
COMMIT;
"""

# What schema 1's entries had, copied as they are by the upgrade.
_ENTRY_COLUMNS = (
    "seq",
    "id",
    "operation",
    "item_id",
    "patron_id",
    "at",
    "due_date",
    "offline",
    "clock_synchronised",
    "state",
    "reason",
    "screen_message",
    "outcome",
    "attempts",
    "replayed",
    "security",
    "updated",
)

_SCHEMA_1_TRIGGERS = ("security_not_needed", "undo_recorded")  # schema 2's have names of their own

# A schema-1 intent whose entry was purged: the station would make it a staff task at its next start
# (nothing says what the library system has), so the upgrade does.
_ORPHAN_TASK = (
    "left from before an update of the station: the security bit ({afi}, {wanted}) of this item may not"
    " have been written and checked on {at:%Y-%m-%d %H:%M}: put the item on a staff pad and check its tag"
)


@dataclass(frozen=True)
class SecurityIntent:
    entry_id: uuid.UUID
    item_id: str
    afi: int
    at: datetime


@dataclass(frozen=True)
class UnfinishedWrite:
    """An unfinished intent with what decides it: its entry's state (None: the entry is gone, which the
    journal no longer allows: an entry with an open intent is not purged), whether
    the entry was accepted offline (promised to the patron), and whether a later loan or return of the item
    (not refused) says what the tag should be now."""

    intent: SecurityIntent
    state: State | None
    offline: bool
    superseded: bool


@dataclass(frozen=True)
class PendingUndo:
    entry_id: uuid.UUID  # the loan to undo
    item_id: str
    at: datetime


# No index for these (nor by item): they are read at a start, and an index is one more page per append.
# A later action on the item is looked for among the entries after the intent's (a range of seq).
_UNFINISHED_INTENTS = "SELECT id, item_id, afi, at FROM entries WHERE afi IS NOT NULL AND afi_flagged = 0"
_UNFINISHED = """
SELECT e.id, e.item_id, e.afi, e.at, e.state, e.offline, EXISTS (
    SELECT 1 FROM entries AS later WHERE later.item_id = e.item_id AND later.seq > e.seq
    AND later.operation IN ('checkout', 'checkin') AND later.state != 'refused'
) FROM entries AS e WHERE e.afi IS NOT NULL AND e.afi_flagged = 0 ORDER BY e.seq
"""


class SecurityAndTasks(JournalStore):
    """The journal's intents, pending undos and staff tasks (`kiosk.journal.Journal` has them)."""

    def __init__(self, path: Path, *, exclusive: bool = False) -> None:
        super().__init__(path, exclusive=exclusive)
        with self._lock:
            self._upgrade()
            self.conn.executescript(INTENTS_SCHEMA)
            self.commits += 1

    def _upgrade(self) -> None:
        """A schema-1 journal gets schema 2 in one commit: the entries copied into the new table (same seq,
        with their intents and flags), an intent whose entry was purged made a staff task, the intents
        table, the index by item, the sequence row and schema 1's triggers gone (a crash before the commit
        leaves schema 1). A station rolled back to schema-1 software writes its intents to a table of
        their own again (its triggers have their own names): the next schema-2 start moves them in too."""
        (table,) = self.conn.execute("SELECT sql FROM sqlite_master WHERE name = 'entries'").fetchone()
        names = {str(name) for (name,) in self.conn.execute("SELECT name FROM sqlite_master")}
        rebuild = "AUTOINCREMENT" in str(table).upper()
        intents = "security_intents" in names
        if not rebuild and not names & {"security_intents", "entries_item", *_SCHEMA_1_TRIGGERS}:
            return  # schema 2, as this station left it
        columns = {row[1] for row in self.conn.execute("PRAGMA table_info(entries)")}
        with self._write():
            if rebuild:
                if intents:
                    source = "i.afi, coalesce(i.flagged, 0) FROM entries AS e"
                    source += " LEFT JOIN security_intents AS i ON i.entry_id = e.id"
                else:
                    source = (
                        "e.afi, e.afi_flagged" if "afi" in columns else "NULL, 0"
                    ) + " FROM entries AS e"
                self.conn.execute(f"CREATE TABLE entries_2 {ENTRIES_TABLE}")
                kept, names_kept = (", ".join(p + c for c in _ENTRY_COLUMNS) for p in ("e.", ""))
                self.conn.execute(
                    f"INSERT INTO entries_2 ({names_kept}, afi, afi_flagged) SELECT {kept}, {source}"
                )
            elif intents:  # schema-1 software ran on this schema-2 journal
                self.conn.execute(
                    "UPDATE entries SET afi = i.afi, afi_flagged = i.flagged FROM security_intents AS i"
                    " WHERE i.entry_id = entries.id"
                )
            if intents:
                self._orphans_to_staff()
                self.conn.execute("DROP TABLE security_intents")
            if rebuild:
                self.conn.execute("DROP TABLE entries")  # its indexes and triggers with it
                self.conn.execute("ALTER TABLE entries_2 RENAME TO entries")
                self.conn.execute(STATE_INDEX)
            self.conn.execute("DROP INDEX IF EXISTS entries_item")
            for trigger in _SCHEMA_1_TRIGGERS:
                self.conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        log.info("journal %s: upgraded to schema %d", self.path, SCHEMA_VERSION)

    def _orphans_to_staff(self) -> None:
        """Schema 1: an unfinished intent whose entry was purged becomes a staff task (in `_upgrade`)."""
        orphans = self.conn.execute(
            "SELECT item_id, afi, at FROM security_intents"
            " WHERE flagged = 0 AND entry_id NOT IN (SELECT id FROM entries) ORDER BY at"
        ).fetchall()
        for item_id, afi, at in orphans:
            wanted = "on loan" if afi == AFI_ON_LOAN else "in the library"
            detail = _ORPHAN_TASK.format(afi=f"0x{afi:02X}", wanted=wanted, at=datetime.fromisoformat(at))
            self.conn.execute(
                "INSERT INTO tasks (kind, item_id, detail, at) VALUES (?,?,?,?)",
                (TaskKind.SECURITY_UNFINISHED.value, item_id, detail, datetime.now().isoformat()),
            )

    def security_done(self, entry_id: uuid.UUID) -> None:
        """The AFI was written and read back (or need not be): rides along."""
        self._later("UPDATE entries SET afi = NULL, afi_flagged = 0 WHERE id = ?", (str(entry_id),))

    def flag_security(self, entry_id: uuid.UUID) -> None:
        """Staff were told (a task): the intent is not reported again at the next start."""
        self._later("UPDATE entries SET afi_flagged = 1 WHERE id = ? AND afi IS NOT NULL", (str(entry_id),))

    def unfinished_security(self) -> list[SecurityIntent]:
        """The intents not finished and not handed to staff, in the order of their entries (an intent's
        `at` is its action's)."""
        with self._reading():
            rows = self.conn.execute(_UNFINISHED_INTENTS + " ORDER BY seq").fetchall()
        return [
            SecurityIntent(uuid.UUID(e), str(i), int(a), datetime.fromisoformat(t)) for e, i, a, t in rows
        ]

    def unfinished_writes(self) -> list[UnfinishedWrite]:
        """The unfinished intents with what a starting station needs to decide each (oldest first)."""
        with self._reading():
            rows = self.conn.execute(_UNFINISHED).fetchall()
        return [
            UnfinishedWrite(
                SecurityIntent(uuid.UUID(e), str(i), int(a), datetime.fromisoformat(t)),
                State(state) if state is not None else None,
                bool(offline),
                bool(later),
            )
            for e, i, a, t, state, offline, later in rows
        ]

    def want_undo(self, entry_id: uuid.UUID, item_id: str, at: datetime) -> None:
        """The loan `entry_id` is to be checked back in. Durable at once (with what rides along), so a
        crash before the return is recorded leaves it for the next start."""
        self._later(
            "INSERT OR REPLACE INTO pending_undos (entry_id, item_id, at) VALUES (?,?,?)",
            (str(entry_id), item_id, at.isoformat()),
        )
        self.flush()

    def pending_undos(self) -> list[PendingUndo]:
        with self._reading():
            rows = self.conn.execute("SELECT entry_id, item_id, at FROM pending_undos ORDER BY at").fetchall()
        return [PendingUndo(uuid.UUID(e), str(i), datetime.fromisoformat(t)) for e, i, t in rows]

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


__all__ = [
    "INTENDED_AFI",
    "PendingUndo",
    "SecurityAndTasks",
    "SecurityIntent",
    "UnfinishedWrite",
]
