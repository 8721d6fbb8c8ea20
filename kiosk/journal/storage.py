"""How the journal is durable: one SQLite file, one connection, one write path, and a lock file.

SQLite in WAL mode with `synchronous=FULL`: once a commit returns, it survives a process kill and a
power cut (SQLite's guarantee for a committed WAL transaction with FULL sync; see docs/OFFLINE.md).
`isolation_level=None`: the code issues BEGIN and COMMIT itself, so several changes share one fsync.

Changes that need not be durable at once (outcomes, AFI notes, remembered cards) are queued with
`_later()` and ride along with the next commit; reads see them (`_reading()` applies them in a
transaction that is rolled back). Every commit goes through `_write()`: what rides along first, then the
body, then COMMIT; on any failure ROLLBACK, and the queued changes stay for the next commit.

Every store holds a shared lock on `<journal>.lock` while it is open (released by the kernel when the
process dies); `exclusive=True` opens only when no other process has it open.

This layer knows SQLite, not what an entry means: that is `kiosk.journal.journal.Journal`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import sqlite_utils

from kiosk.journal.states import JournalError

SCHEMA = """
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
-- kiosk.core.CardRecord as JSON under the card's HMAC pseudonym (kiosk.journal.cards): never a number.
CREATE TABLE IF NOT EXISTS card_records (
    card_key TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    seen TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS security_intents (
    entry_id TEXT PRIMARY KEY,
    item_id TEXT NOT NULL,
    afi INTEGER NOT NULL,
    at TEXT NOT NULL,
    flagged INTEGER NOT NULL DEFAULT 0
);
-- Refused, or the library system said leave the security alone: nothing will be written (one statement
-- with the settle that says so, so the two cannot part in a crash).
CREATE TRIGGER IF NOT EXISTS security_not_needed AFTER UPDATE OF state, outcome ON entries
WHEN NEW.state = 'refused' OR json_extract(NEW.outcome, '$.security') = 'leave'
BEGIN DELETE FROM security_intents WHERE entry_id = NEW.id; END;
CREATE TABLE IF NOT EXISTS tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    item_id TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,
    done TEXT,
    note TEXT NOT NULL DEFAULT ''
);
COMMIT;
"""

_SYNCHRONOUS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}

SqlValue = str | int | float | bytes | None
Params = tuple[SqlValue, ...]  # the values bound to one SQL statement


class JournalBusy(JournalError):
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


def owner_only(path: Path) -> None:
    """The journal, its write-ahead log, shared memory and lock file are the kiosk user's alone, whatever
    the umask it was created under (it names patrons)."""
    for companion in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", ".lock", ".key"))):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if companion.stat().st_mode & 0o077:
                os.chmod(companion, 0o600)


class JournalStore:
    """The journal's file. Thread-safe; all writes go through one connection and `_write()`."""

    def __init__(self, path: Path, *, exclusive: bool = False) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_file = _lock(path, exclusive)
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        # Purged rows name patrons: overwritten with zeros, not left in free pages (docs/PRIVACY.md).
        self.conn.execute("PRAGMA secure_delete=ON")
        self.db = sqlite_utils.Database(self.conn)
        self._lock = threading.RLock()
        self._pending_changes: list[tuple[str, Params]] = []
        self.commits = 0  # fsyncs, for the benchmark and the fsync-per-action goal
        with self._lock:
            self.conn.executescript(SCHEMA)
            self.commits += 1
        owner_only(path)

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

    def _later(self, sql: str, params: Params) -> None:
        with self._lock:
            self._pending_changes.append((sql, params))

    @property
    def pending(self) -> int:
        """Changes waiting to ride along with the next commit."""
        return len(self._pending_changes)

    def flush(self) -> None:
        """Commit the changes waiting to ride along (see `JournalUpkeep` for when the station does)."""
        with self._lock:
            if self._pending_changes:
                with self._write():
                    pass

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """Reads see the changes still waiting to ride along (a settled entry is not "unsettled" any
        more): they are applied in a transaction that is rolled back, so no commit and no fsync."""
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

    def pragmas(self) -> dict[str, str]:
        journal_mode = self.conn.execute("PRAGMA journal_mode").fetchone()[0]
        synchronous = self.conn.execute("PRAGMA synchronous").fetchone()[0]
        return {"journal_mode": str(journal_mode), "synchronous": _SYNCHRONOUS[synchronous]}

    def close(self) -> None:
        with self._lock:
            try:
                self.flush()
                self.conn.close()
            finally:
                self._lock_file.close()


__all__ = ["SCHEMA", "JournalBusy", "JournalStore", "Params", "SqlValue", "owner_only"]
