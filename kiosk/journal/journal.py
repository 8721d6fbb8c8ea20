"""The durable transaction journal: nothing a patron was told happened may be lost, ever.

Every circulation action is written here, with the UUID that travels with it, *before* it is sent
(or, offline, before the patron is told it was accepted): `record()` returns only after its commit.
What may become of an entry is the table in `kiosk.journal.states`; every change is checked against it.

Outcomes (DONE, REFUSED ...) are not committed on their own: they ride along with the next commit (the
next group of records, `kiosk.journal.group_commit`, or `flush()` at the end of a patron session or after
a quiet spell, `kiosk.journal.upkeep`). An outcome lost in a crash leaves the entry in SENDING or
REPLAYING, and reconciliation recovers it. That keeps the cost below one fsync per circulation action.
Changes that must survive a crash commit at once: `mark_replaying`, `resolve`, and `settle(durable=True)`.
PINs are never written here.

How it is durable (SQLite, WAL, one write path, the lock file) is `kiosk.journal.storage`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from kiosk.core import Operation
from kiosk.journal.cards import RememberedCards
from kiosk.journal.entry import Entry, NewEntry, entry_from_row, iso
from kiosk.journal.states import FINAL, UNSETTLED, State, UnknownEntry, check
from kiosk.journal.storage import Params, SqlValue
from kiosk.journal.tasks import INTENDED_AFI, SecurityAndTasks
from server_api.circulation import Transaction

# The entry with its security intent (`afi`, kiosk.journal.tasks): one row, one statement.
_INSERT = (
    "INSERT INTO entries (id, operation, item_id, patron_id, at, due_date, offline,"
    " clock_synchronised, state, updated, afi) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
)


def _row(new: NewEntry, now: str) -> Params:
    txn = new.txn
    return (
        str(txn.id),
        new.operation.value,
        new.item_id,
        new.patron_id,
        txn.at.isoformat(),
        iso(txn.due_date),
        int(txn.offline),
        int(txn.clock_synchronised),
        new.state.value,
        now,
        INTENDED_AFI.get(new.operation),  # loans and returns; None: a renewal writes no tag
    )


def _written(new: NewEntry, seq: int, updated: datetime) -> Entry:
    """The entry as `_row` wrote it (the columns not given take their defaults in SCHEMA)."""
    txn = new.txn
    return Entry(
        id=txn.id,
        operation=new.operation,
        item_id=new.item_id,
        patron_id=new.patron_id,
        at=txn.at,
        offline=txn.offline,
        clock_synchronised=txn.clock_synchronised,
        state=new.state,
        due_date=txn.due_date,
        seq=seq,
        updated=updated,
    )


class Journal(SecurityAndTasks, RememberedCards):
    """One journal file per station: its entries with their security intents, the staff tasks, the cards
    seen blocked, and a little metadata.

    Thread-safe. `Journal(path, exclusive=True)` (what `kiosk journal sync` uses) refuses to open while
    anyone else has the journal open, so two replays of the same journal never run at once."""

    # ------------------------------------------------------------ writing

    def record(
        self,
        txn: Transaction,
        operation: Operation,
        item_id: str,
        patron_id: str = "",
        *,
        state: State = State.SENDING,
    ) -> Entry:
        """Make the action durable before it is sent or acknowledged. One commit, which also carries
        every outcome settled since the last one."""
        return self.record_many([NewEntry(txn, operation, item_id, patron_id, state)])[0]

    def record_many(self, new: Sequence[NewEntry]) -> list[Entry]:
        """Make several actions durable together: one transaction, one commit (which also carries every
        outcome settled since the last one). All or nothing: when anything fails, none is recorded and
        the error is raised. Returns the entries in the order asked."""
        if not new:
            return []
        moment = datetime.now()
        now = moment.isoformat()
        rows = [_row(n, now) for n in new]  # before the lock: nobody waits for this
        with self._lock, self._write():
            # One INSERT per row, with its intent, for its seq (no read-back: the entry is what was written).
            execute = self.conn.execute
            seqs = [execute(_INSERT, row).lastrowid or 0 for row in rows]
        return [_written(n, seq, moment) for n, seq in zip(new, seqs, strict=True)]

    def _state_of(self, entry_id: uuid.UUID) -> State:
        """The entry's state as readers see it (with what rides along). Hold `_lock`."""
        with self._reading():
            row = self.conn.execute("SELECT state FROM entries WHERE id = ?", (str(entry_id),)).fetchone()
        if row is None:
            raise UnknownEntry(f"no entry {entry_id} in {self.path}")
        return State(row[0])

    def settle(
        self,
        entry_id: uuid.UUID,
        state: State,
        *,
        reason: str = "",
        screen_message: str = "",
        outcome: dict[str, Any] | None = None,
        replayed: bool | None = None,
        durable: bool = False,
    ) -> None:
        """Record what became of an entry. Rides along with the next commit unless `durable`.
        Raises `IllegalTransition` (changing nothing) when its state does not allow `state`."""
        sets = "state=?, reason=?, screen_message=?, outcome=?, updated=?"
        params: list[SqlValue] = [
            state.value,
            reason,
            screen_message,
            json.dumps(outcome or {}, default=str),
            datetime.now().isoformat(),
        ]
        if replayed is not None:
            sets += ", replayed=?"
            params.append(int(replayed))
        with self._lock:
            check(entry_id, self._state_of(entry_id), state)
            self._later(f"UPDATE entries SET {sets} WHERE id=?", (*params, str(entry_id)))
            if durable:
                self.flush()

    def mark_replaying(self, entry_id: uuid.UUID) -> None:
        """Durable before a replay is sent: after a crash it is reconciled, never resent blindly."""
        with self._lock:
            check(entry_id, self._state_of(entry_id), State.REPLAYING)
            with self._write():
                self.conn.execute(
                    "UPDATE entries SET state=?, attempts=attempts+1, updated=? WHERE id=?",
                    (State.REPLAYING.value, datetime.now().isoformat(), str(entry_id)),
                )

    def mark_replaying_many(self, entry_ids: Sequence[uuid.UUID]) -> None:
        """`mark_replaying` for several entries in one commit (a replay's round). All or nothing: an
        entry whose state does not allow it raises `IllegalTransition` and none is marked."""
        if not entry_ids:
            return
        ids = [str(entry_id) for entry_id in entry_ids]
        with self._lock:
            with self._reading():
                marks = ",".join("?" * len(ids))
                found = dict(self.conn.execute(f"SELECT id, state FROM entries WHERE id IN ({marks})", ids))
            for entry_id in entry_ids:
                if str(entry_id) not in found:
                    raise UnknownEntry(f"no entry {entry_id} in {self.path}")
                check(entry_id, State(found[str(entry_id)]), State.REPLAYING)
            now = datetime.now().isoformat()
            with self._write():
                self.conn.executemany(
                    "UPDATE entries SET state=?, attempts=attempts+1, updated=? WHERE id=?",
                    [(State.REPLAYING.value, now, entry_id) for entry_id in ids],
                )

    def note_security(self, entry_id: uuid.UUID, uid: str, afi: int, verified: bool) -> None:
        """The AFI written for this action's tags; rides along (the tag itself is the durable record)."""
        self._later(
            "UPDATE entries SET security=json_insert(security, '$[#]', json(?)) WHERE id=?",
            (json.dumps({"uid": uid, "afi": f"0x{afi:02X}", "verified": verified}), str(entry_id)),
        )

    def resolve(self, entry_id: uuid.UUID, note: str) -> None:
        """Staff fixed a conflict; durable at once. `IllegalTransition` when it is not a conflict."""
        with self._lock:
            entry = self.get(entry_id)
            if entry is None:
                raise UnknownEntry(f"no entry {entry_id} in {self.path}")
            self.settle(
                entry_id,
                State.RESOLVED,
                reason=entry.reason,
                screen_message=entry.screen_message,
                outcome={**entry.outcome, "resolution": note},
                durable=True,
            )

    def remember_card(self, card_id: str, blocked: bool, seen: datetime) -> None:
        """Cards the library system reported blocked are refused offline (rides along)."""
        self._later(
            "INSERT INTO cards (card_id, blocked, seen) VALUES (?,?,?) "
            "ON CONFLICT(card_id) DO UPDATE SET blocked=excluded.blocked, seen=excluded.seen",
            (card_id, int(blocked), seen.isoformat()),
        )

    def set_meta(self, key: str, value: str) -> None:
        self._later(
            "INSERT INTO meta (key, value) VALUES (?,?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )

    def purge(self, older_than: timedelta, now: datetime | None = None) -> int:
        """Forget finished entries (they name patrons), done staff tasks and cards not seen after the
        configured number of days; with secure_delete, their bytes are overwritten in the file."""
        cutoff = ((now or datetime.now()) - older_than).isoformat()
        with self._lock, self._write():
            # An entry whose security write is neither finished nor handed to staff stays (the next start
            # finishes it or makes it a task; then it goes).
            cursor = self.conn.execute(
                f"DELETE FROM entries WHERE state IN ({','.join('?' * len(FINAL))}) AND updated < ?"
                " AND (afi IS NULL OR afi_flagged = 1)",
                (*[s.value for s in FINAL], cutoff),
            )
            self.conn.execute("DELETE FROM tasks WHERE done IS NOT NULL AND done < ?", (cutoff,))
            self.conn.execute("DELETE FROM cards WHERE seen < ?", (cutoff,))  # not seen in the retention
            self.conn.execute("DELETE FROM card_records WHERE seen < ?", (cutoff,))
        return cursor.rowcount

    # ------------------------------------------------------------ reading

    def _entries(self, where: str = "1", params: Params = (), limit: int | None = None) -> Iterator[Entry]:
        sql = f"SELECT * FROM entries WHERE {where} ORDER BY seq"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._reading():
            rows = list(self.db.query(sql, params))
        return (entry_from_row(row) for row in rows)

    def get(self, entry_id: uuid.UUID) -> Entry | None:
        return next(self._entries("id = ?", (str(entry_id),)), None)

    def entries(self, *, states: tuple[State, ...] = (), limit: int | None = None) -> list[Entry]:
        if not states:
            return list(self._entries(limit=limit))
        marks = ",".join("?" * len(states))
        return list(self._entries(f"state IN ({marks})", tuple(s.value for s in states), limit))

    def unsettled(self) -> list[Entry]:
        """What the library system has not confirmed yet, oldest first."""
        return self.entries(states=UNSETTLED)

    def conflicts(self) -> list[Entry]:
        return self.entries(states=(State.CONFLICT,))

    def blocked_cards(self) -> set[str]:
        with self._reading():
            return {row["card_id"] for row in self.db.query("SELECT card_id FROM cards WHERE blocked = 1")}

    def offline_loans(self) -> dict[str, int]:
        """Offline loans per patron not yet confirmed: the offline limit counts across sessions."""
        counts: dict[str, int] = {}
        for entry in self._entries(
            "operation = 'checkout' AND offline = 1 AND state IN ('queued','replaying')"
        ):
            counts[entry.patron_id] = counts.get(entry.patron_id, 0) + 1
        return counts

    def meta(self, key: str) -> str | None:
        with self._reading():
            row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def counts(self) -> dict[str, int]:
        with self._reading():
            rows = self.conn.execute("SELECT state, COUNT(*) FROM entries GROUP BY state").fetchall()
        return {str(state): int(count) for state, count in rows}


__all__ = ["Journal"]
