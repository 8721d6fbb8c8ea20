"""The durable transaction journal: nothing a patron was told happened may be lost, ever.

Every circulation action is written here, with the UUID that travels with it, *before* it is sent
(or, offline, before the patron is told it was accepted). SQLite in WAL mode with `synchronous=FULL`:
once `record()` returns, the entry survives a process kill and a power cut (SQLite's guarantee for a
committed WAL transaction with FULL sync; see docs/OFFLINE.md).

Life of an entry (`state`):

    SENDING ──reply──► DONE | REFUSED                 online: sent right after it was recorded
    SENDING ──no reply / crash──► (reconcile) ──► DONE | QUEUED
    QUEUED ──replay──► REPLAYING ──reply──► DONE | CONFLICT
    REPLAYING ──crash / lost reply──► (reconcile) ──► DONE | QUEUED
    CONFLICT ──staff──► RESOLVED

SENDING and REPLAYING mean "may or may not have reached the library system": they are never resent
blindly; `kiosk.journal.sync` first asks the library system what happened (SIP2 has no transaction id).

Records are group-committed: the station records through `GroupCommit`, which writes every record asked
for in the same event-loop turn (a stack of items placed on the pad together), or while the previous
group's commit is in progress, in one transaction (`Journal.record_many`), and answers each caller only
after that commit has returned. Outcomes (DONE, REFUSED ...) are not committed on their own: they ride
along with the next commit (the next group of records, or `flush()` at the end of a patron session or
after a quiet spell; see `JournalUpkeep`). An outcome lost in a crash leaves the entry in SENDING or
REPLAYING, and reconciliation recovers it. That keeps the cost below one fsync per circulation action.
PINs are never written here.

Every `Journal` holds a shared lock on `<journal>.lock` while it is open; `Journal(path, exclusive=True)`
(what `kiosk journal sync` uses) refuses to open while anyone else has the journal open, so two replays
of the same journal never run at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import fcntl
import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import sqlite_utils

from server_api.circulation import Transaction


class Operation(enum.StrEnum):
    CHECKOUT = "checkout"
    CHECKIN = "checkin"
    RENEW = "renew"


class State(enum.StrEnum):
    SENDING = "sending"
    QUEUED = "queued"
    REPLAYING = "replaying"
    DONE = "done"
    REFUSED = "refused"
    CONFLICT = "conflict"
    RESOLVED = "resolved"


UNSETTLED = (State.SENDING, State.QUEUED, State.REPLAYING)
FINAL = (State.DONE, State.REFUSED, State.RESOLVED)


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


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class NewEntry:
    """One action to record (`Journal.record_many`)."""

    txn: Transaction
    operation: Operation
    item_id: str
    patron_id: str = ""
    state: State = State.SENDING

    def __post_init__(self) -> None:
        if self.state not in (State.SENDING, State.QUEUED):
            raise ValueError(f"a new entry starts as sending or queued, not {self.state}")


class JournalBusy(Exception):
    """The journal is open in another process and this use needs it alone."""


def _lock(path: Path, exclusive: bool) -> IO[str]:
    lock = open(path.with_name(path.name + ".lock"), "a")  # noqa: SIM115 (held while the journal is open)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB if exclusive else fcntl.LOCK_SH)
    except BlockingIOError:
        lock.close()
        raise JournalBusy(
            f"{path} is open in another process (a running station?): stop it first, or use the"
            " station's own sync (the staff screen's Sync now)"
        ) from None
    return lock


class Journal:
    """One journal file per station. Thread-safe; all writes go through one connection.

    A shared lock on `<journal>.lock` is held while it is open (released by the kernel when the
    process dies); `exclusive=True` opens only when no other process has it open."""

    def __init__(self, path: Path, *, exclusive: bool = False) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_file = _lock(path, exclusive)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so several changes share one fsync.
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.db = sqlite_utils.Database(self.conn)
        self._lock = threading.RLock()
        self._pending_changes: list[tuple[str, tuple[Any, ...]]] = []
        self.commits = 0  # fsyncs, for the benchmark and the fsync-per-action goal
        self._create()

    def _create(self) -> None:
        with self._lock:
            self.conn.executescript(
                """
                BEGIN;
                CREATE TABLE IF NOT EXISTS entries (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    operation TEXT NOT NULL,
                    item_id TEXT NOT NULL,
                    patron_id TEXT NOT NULL DEFAULT '',
                    at TEXT NOT NULL,
                    due_date TEXT,
                    offline INTEGER NOT NULL,
                    clock_synchronised INTEGER NOT NULL,
                    state TEXT NOT NULL,
                    reason TEXT NOT NULL DEFAULT '',
                    screen_message TEXT NOT NULL DEFAULT '',
                    outcome TEXT NOT NULL DEFAULT '{}',
                    attempts INTEGER NOT NULL DEFAULT 0,
                    replayed INTEGER NOT NULL DEFAULT 0,
                    security TEXT NOT NULL DEFAULT '[]',
                    updated TEXT
                );
                CREATE INDEX IF NOT EXISTS entries_state ON entries(state, seq);
                CREATE INDEX IF NOT EXISTS entries_item ON entries(item_id, seq);
                CREATE TABLE IF NOT EXISTS cards (
                    card_id TEXT PRIMARY KEY,
                    blocked INTEGER NOT NULL,
                    seen TEXT NOT NULL
                );
                CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                COMMIT;
                """
            )
            self.commits += 1

    # ------------------------------------------------------------ durability

    @contextlib.contextmanager
    def _write(self) -> Iterator[None]:
        """One durable transaction: every change waiting to ride along (they happened first), then
        the body, then COMMIT. On any failure it is rolled back and the waiting changes stay for the
        next commit, so one failed write (a full disk) never wedges the journal or drops an outcome.
        Hold `_lock`."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for sql, params in self._pending_changes:
                self.conn.execute(sql, params)
            yield
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        self._pending_changes.clear()
        self.commits += 1

    def _later(self, sql: str, params: tuple[Any, ...]) -> None:
        with self._lock:
            self._pending_changes.append((sql, params))

    @property
    def pending(self) -> int:
        """Changes waiting to ride along with the next commit."""
        return len(self._pending_changes)

    def flush(self) -> None:
        """Commit outcomes waiting to ride along (see `JournalUpkeep` for when the station does)."""
        with self._lock:
            if self._pending_changes:
                with self._write():
                    pass

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """Reads see the outcomes still waiting to ride along (a settled entry is not "unsettled" any more):
        they are applied in a transaction that is rolled back, so no commit and no fsync."""
        with self._lock:
            if not self._pending_changes:
                yield
                return
            self.conn.execute("BEGIN")
            try:
                for sql, params in self._pending_changes:
                    self.conn.execute(sql, params)
                yield
            finally:
                self.conn.execute("ROLLBACK")

    def pragmas(self) -> dict[str, Any]:
        journal_mode = self.conn.execute("PRAGMA journal_mode").fetchone()[0]
        synchronous = self.conn.execute("PRAGMA synchronous").fetchone()[0]
        return {
            "journal_mode": journal_mode,
            "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[synchronous],
        }

    def close(self) -> None:
        with self._lock:
            try:
                self.flush()
                self.conn.close()
            finally:
                self._lock_file.close()

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
        now = datetime.now().isoformat()
        with self._lock:
            with self._write():
                self.conn.executemany(
                    "INSERT INTO entries (id, operation, item_id, patron_id, at, due_date, offline,"
                    " clock_synchronised, state, updated) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    [
                        (
                            str(n.txn.id),
                            n.operation.value,
                            n.item_id,
                            n.patron_id,
                            n.txn.at.isoformat(),
                            _iso(n.txn.due_date),
                            int(n.txn.offline),
                            int(n.txn.clock_synchronised),
                            n.state.value,
                            now,
                        )
                        for n in new
                    ],
                )
            ids = [str(n.txn.id) for n in new]
            found = {str(e.id): e for e in self._entries(f"id IN ({','.join('?' * len(ids))})", tuple(ids))}
        return [found[i] for i in ids]

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
        """Record what became of an entry. Rides along with the next commit unless `durable`."""
        sets = "state=?, reason=?, screen_message=?, outcome=?, updated=?"
        params: list[Any] = [
            state.value,
            reason,
            screen_message,
            json.dumps(outcome or {}, default=str),
            datetime.now().isoformat(),
        ]
        if replayed is not None:
            sets += ", replayed=?"
            params.append(int(replayed))
        self._later(f"UPDATE entries SET {sets} WHERE id=?", (*params, str(entry_id)))
        if durable:
            self.flush()

    def mark_replaying(self, entry_id: uuid.UUID) -> None:
        """Durable before a replay is sent: after a crash it is reconciled, never resent blindly."""
        with self._lock, self._write():
            self.conn.execute(
                "UPDATE entries SET state=?, attempts=attempts+1, updated=? WHERE id=?",
                (State.REPLAYING.value, datetime.now().isoformat(), str(entry_id)),
            )

    def note_security(self, entry_id: uuid.UUID, uid: str, afi: int, verified: bool) -> None:
        """The AFI written for this action's tags; rides along (the tag itself is the durable record)."""
        self._later(
            "UPDATE entries SET security=json_insert(security, '$[#]', json(?)) WHERE id=?",
            (json.dumps({"uid": uid, "afi": f"0x{afi:02X}", "verified": verified}), str(entry_id)),
        )

    def resolve(self, entry_id: uuid.UUID, note: str) -> None:
        entry = self.get(entry_id)
        if entry is None or entry.state is not State.CONFLICT:
            raise KeyError(f"{entry_id} is not a conflict")
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
        """Forget finished entries (they name patrons) after the configured number of days."""
        cutoff = ((now or datetime.now()) - older_than).isoformat()
        with self._lock, self._write():
            cursor = self.conn.execute(
                f"DELETE FROM entries WHERE state IN ({','.join('?' * len(FINAL))}) AND updated < ?",
                (*[s.value for s in FINAL], cutoff),
            )
        return cursor.rowcount

    # ------------------------------------------------------------ reading

    def _entries(
        self, where: str = "1", params: tuple[Any, ...] = (), limit: int | None = None
    ) -> Iterator[Entry]:
        sql = f"SELECT * FROM entries WHERE {where} ORDER BY seq"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._reading():
            rows = list(self.db.query(sql, params))
        for row in rows:
            yield Entry(
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
        return row[0] if row else None

    def counts(self) -> dict[str, int]:
        with self._reading():
            rows = self.conn.execute("SELECT state, COUNT(*) FROM entries GROUP BY state").fetchall()
        return {state: count for state, count in rows}


class GroupCommit:
    """Group commit for one event loop: records asked for together are made durable with one commit.

    `await record(...)` joins the group being gathered; the group is written (`Journal.record_many`, in a
    worker thread) once the event loop has run every callback already queued when its first record came:
    so the records of a stack of items placed on the pad together, whose tasks start (and, after a shared
    `unsettled()` read, resume) in the same loop turn, share one commit. Records that come while a group's
    commit is in progress form the next group, written as soon as that commit returns. Outcomes waiting
    to ride along go with the group's commit.

    Durability before send: a caller gets its entry only after the commit that holds its record has
    returned. If the group's commit fails, every caller in the group gets the error (none of its records
    is in the journal, so nothing may be sent). A caller cancelled before its group is written is left
    out of it; one cancelled while the commit is in progress may still have its record committed (like
    a cancelled `asyncio.to_thread`): it is then a SENDING or QUEUED entry that reconciliation or replay
    takes care of.

    Only the event loop's thread touches the group; the journal's own lock orders the commit against
    everything else that uses the journal from worker threads."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._group: list[tuple[NewEntry, asyncio.Future[Entry]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._readers: list[asyncio.Future[list[Entry]]] = []
        self._reads: set[asyncio.Task[None]] = set()  # shared reads in progress (a task needs an owner)

    async def record(
        self,
        txn: Transaction,
        operation: Operation,
        item_id: str,
        patron_id: str = "",
        *,
        state: State = State.SENDING,
    ) -> Entry:
        """`Journal.record`, committed together with the other records of this loop turn."""
        new = NewEntry(txn, operation, item_id, patron_id, state)  # a bad request fails alone, here
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Entry] = loop.create_future()
        self._group.append((new, done))
        if self._writer is None:
            # A task's first step runs after every callback already queued: the rest of the turn joins.
            self._writer = loop.create_task(self._write(), name="journal group commit")
        return await done

    async def _write(self) -> None:
        group: list[tuple[NewEntry, asyncio.Future[Entry]]] = []
        try:
            while self._group:
                # A caller cancelled before its group is written will not send: nothing to record.
                group = [(new, done) for new, done in self._group if not done.done()]
                self._group = []
                if not group:
                    continue
                try:
                    # Looked up at each call: the crash test wraps it to kill the process around it.
                    entries = await asyncio.to_thread(self.journal.record_many, [new for new, _ in group])
                except Exception as error:
                    # All or nothing: no record of the group is in the journal, so none may be sent.
                    for _, done in group:
                        if not done.done():
                            done.set_exception(error)
                else:
                    for (_, done), entry in zip(group, entries, strict=True):
                        if not done.done():
                            done.set_result(entry)
                group = []
        finally:
            self._writer = None
            for _, done in [*group, *self._group]:  # only left when this task was cancelled
                done.cancel()
            self._group.clear()

    async def unsettled(self) -> list[Entry]:
        """`Journal.unsettled()` read in a worker thread, one read shared by everyone who asks in the same
        loop turn: the tasks of a stack resume together and their records form one group. The read starts
        after each of them asked, so none gets an answer older than its question."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[list[Entry]] = loop.create_future()
        self._readers.append(answer)
        if len(self._readers) == 1:
            read = loop.create_task(self._read(), name="journal shared read")
            self._reads.add(read)
            read.add_done_callback(self._reads.discard)
        return list(await answer)

    async def _read(self) -> None:
        readers, self._readers = self._readers, []
        try:
            entries = await asyncio.to_thread(self.journal.unsettled)
        except BaseException as error:
            for answer in readers:
                if not answer.done():
                    if isinstance(error, asyncio.CancelledError):
                        answer.cancel()
                    else:
                        answer.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        for answer in readers:
            if not answer.done():
                answer.set_result(entries)


QUIET_SPELL = timedelta(seconds=30)
PURGE_EVERY = timedelta(days=1)


class JournalUpkeep:
    """The station's rules for committing what rides along, and for forgetting old entries.

    Records are never deferred: a record is committed before anything is sent (`GroupCommit`: the items
    of a stack in one commit). What rides along (outcomes, AFI notes, remembered cards) goes with the next
    record's commit, and is committed on its own only
    - when a patron session ends (the station calls `flush()`),
    - at a tick when no session is active and it has waited at least `quiet` (a quiet spell),
    - when the station stops or the journal is closed.
    So a stack costs one commit, items placed one at a time one each, and the session's last outcomes
    one more; a lone return with no session around it waits for the quiet spell. Finished entries older
    than `purge_after` are purged at start and then every `purge_every`.

    Times come from the caller (the station's clock): no sleeping, and the benchmark drives the same
    code with a simulated clock."""

    def __init__(
        self,
        journal: Journal,
        *,
        quiet: timedelta = QUIET_SPELL,
        purge_after: timedelta | None = timedelta(days=30),
        purge_every: timedelta = PURGE_EVERY,
    ) -> None:
        self.journal = journal
        self.quiet = quiet
        self.purge_after = purge_after
        self.purge_every = purge_every
        self.last_purge: datetime | None = None
        self._waiting_since: datetime | None = None  # when the changes waiting now were first seen
        self._seen_at_commit = -1

    def flush_due(self, now: datetime, *, session_active: bool) -> bool:
        """At a tick: should the waiting changes be committed now?"""
        if not self.journal.pending:
            self._waiting_since = None
            return False
        if self._waiting_since is None or self.journal.commits != self._seen_at_commit:
            # New changes since the last commit (which took the earlier ones along): the spell starts now.
            self._waiting_since, self._seen_at_commit = now, self.journal.commits
        return not session_active and now - self._waiting_since >= self.quiet

    def flush(self) -> None:
        """Commit what waits (blocking: one fsync when anything waits)."""
        self.journal.flush()
        self._waiting_since = None

    def purge_due(self, now: datetime) -> bool:
        if self.purge_after is None:
            return False
        return self.last_purge is None or now - self.last_purge >= self.purge_every

    def purge(self, now: datetime) -> int:
        """Forget finished entries older than `purge_after` (blocking)."""
        self.last_purge = now
        if self.purge_after is None:
            return 0
        return self.journal.purge(self.purge_after, now=now)


__all__ = [
    "FINAL",
    "PURGE_EVERY",
    "QUIET_SPELL",
    "UNSETTLED",
    "Entry",
    "GroupCommit",
    "Journal",
    "JournalBusy",
    "JournalUpkeep",
    "NewEntry",
    "Operation",
    "State",
]
