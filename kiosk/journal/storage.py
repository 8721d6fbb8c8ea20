"""How the journal is durable: one SQLite file, one connection, one write path, and a lock file.

SQLite in WAL mode with `synchronous=FULL`: once a commit returns, it survives a process kill and a
power cut (SQLite's guarantee for a committed WAL transaction with FULL sync; see docs/OFFLINE.md).
`isolation_level=None`: the code issues BEGIN and COMMIT itself, so several changes share one fsync.

Changes that need not be durable at once (outcomes, AFI notes, remembered cards) are queued with
`_later()` and ride along with the next commit; reads see them (`_reading()` applies them in a
transaction that is rolled back). Every commit goes through `_write()`: what rides along first, then the
body, then COMMIT; on any failure ROLLBACK, and the queued changes stay for the next commit.

Pages of 1 KiB for a new journal: what an append writes to the WAL and syncs is about 4.5 pages (the
entry, its id, its state index, and now and then a page split).

Checkpoints (copying the WAL back into the database file, with two fsyncs of their own) run in a thread
of their own (`Checkpointer`) at a quiet moment, not inside an append: SQLite's automatic checkpoint
would run one in the commit that crosses 1 000 WAL pages, which with the journal's ~4.5 pages per append
is one append in about 220, on the patron's path. Durability is the same either way (the WAL is the
durable copy; a checkpoint is SQLite's own and safe at any moment); only when the work happens changes.
Appended back to back with no quiet moment (a benchmark, a replay), it does not wait longer than another
`CHECKPOINT_EVERY` commits: an append now and then waits for one as it would for SQLite's own. Waiting
longer would cost every append: a WAL past its longest length so far grows the file, and on ext4 each
fsync of a grown file also commits the file system's journal (measured: ~120 µs more per append;
docs/PERFORMANCE.md "Journal").

Every store holds a shared lock on `<journal>.lock` while it is open (released by the kernel when the
process dies); `exclusive=True` opens only when no other process has it open.

This layer knows SQLite, not what an entry means: that is `kiosk.journal.journal.Journal`.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import sqlite_utils

from kiosk.journal.states import JournalError

log = logging.getLogger(__name__)

# The entries table (also what kiosk.journal.tasks upgrades older journals to). seq has no AUTOINCREMENT
# (schema 2): its sqlite_sequence row was one more page per append, and seq only orders the entries.
ENTRIES_TABLE = """(
    seq INTEGER PRIMARY KEY,  -- greater than every other entry's when it is recorded: the order
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
    updated TEXT,
    -- The security intent (kiosk.journal.tasks): the AFI a loan's or return's tags are to get, until the
    -- write is verified or need not be (NULL); flagged once staff were told.
    afi INTEGER,
    afi_flagged INTEGER NOT NULL DEFAULT 0
)"""
STATE_INDEX = "CREATE INDEX IF NOT EXISTS entries_state ON entries(state, seq)"

SCHEMA = f"""
BEGIN;
CREATE TABLE IF NOT EXISTS entries {ENTRIES_TABLE};
{STATE_INDEX};
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


class JournalNewer(JournalError):
    """The journal was written by a newer station, in a layout this one does not know."""


SCHEMA_VERSION = 2  # the layout, in meta.schema_version: 2 since issue 17 (kiosk.journal.tasks), 1 before


def _refuse_newer(conn: sqlite3.Connection, path: Path) -> None:
    """Before anything is written to it: a journal in a newer layout is left as it is."""
    has_meta = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone()
    found = has_meta and conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if found and not (str(found[0]).isdigit() and int(found[0]) <= SCHEMA_VERSION):
        raise JournalNewer(
            f"{path} was written by a newer station (journal schema {found[0]}; this one reads up to"
            f" {SCHEMA_VERSION}): update this station's software, or move the journal back to the station"
            " that wrote it"
        )


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


PAGE_SIZE = 1024
WAL_SIZE_LIMIT = 4 * 1024 * 1024  # bytes the WAL file is cut back to after a checkpoint reset it
# SQLite's page cache per connection, in KiB (its default is 2,000): the journal is appended to and read by
# index, and the kernel caches the file anyway. A station's memory must stay flat over months of visits:
# with the default, the cache alone grew the station's RSS by ~1.9 KB a visit until it was full
# (bench/soak.py, docs/PERFORMANCE.md "Soak").
CACHE_KIB = 256
CHECKPOINT_EVERY = 100  # commits between background checkpoints (an append is ~4.5 WAL pages: ~450)


QUIET = 0.05  # seconds without a commit before a checkpoint runs (a stack's records come closer together)
QUIET_WAIT = 1.0  # seconds a checkpoint waits for a quiet moment at most (appends back to back)


class Checkpointer:
    """Runs `PRAGMA wal_checkpoint(PASSIVE)` on its own connection in its own thread when asked
    (`poke()`), at the first quiet moment (no commit for `QUIET`; after `QUIET_WAIT` or another
    `patience()` commits anyway), holding the store's lock: no append is written meanwhile, so the
    checkpoint takes the whole WAL and the next append starts it again from its beginning (the file stays
    the same length instead of growing with every append, which costs each fsync a metadata update too).
    One that fails (a full disk) is logged and the next one tries again: the WAL only grows meanwhile,
    nothing is lost."""

    def __init__(
        self,
        path: Path,
        lock: threading.RLock,
        last_commit: Callable[[], float],
        commits: Callable[[], int] = lambda: 0,
        patience: Callable[[], int] = lambda: CHECKPOINT_EVERY,
    ) -> None:
        self.path = path
        self._lock = lock
        self._last_commit = last_commit  # time.monotonic() of the store's latest commit
        self._commits = commits  # the store's commit counter
        self._patience = patience  # commits after a poke that end the wait for a quiet moment
        self.checkpoints = 0  # completed, for tests and the benchmark
        self._wanted = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=f"checkpoint {path.name}", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._wanted.set()

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA synchronous=FULL")  # the checkpoint syncs the WAL, then the database
            conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            while True:
                self._wanted.wait()
                self._wanted.clear()
                self._quiet_moment()
                if self._stopping or not self._take_lock():
                    return
                try:
                    try:
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    finally:
                        self._lock.release()
                    self.checkpoints += 1
                except sqlite3.Error as error:
                    log.warning(
                        "journal %s: checkpoint failed (%s); the next one tries again", self.path, error
                    )
        finally:
            conn.close()

    def _take_lock(self) -> bool:
        """The store's lock; False when the store is closing meanwhile: `JournalStore.close()` holds the
        lock while it waits for this thread to end."""
        while not self._lock.acquire(timeout=QUIET):
            if self._stopping:
                return False
        return True

    def _quiet_moment(self) -> None:
        give_up = time.monotonic() + QUIET_WAIT
        enough = self._commits() + self._patience()  # the WAL twice its usual length: no quiet coming
        while not self._stopping and time.monotonic() < give_up and self._commits() < enough:
            if time.monotonic() - self._last_commit() >= QUIET:
                return
            time.sleep(QUIET / 5)

    def close(self) -> None:
        self._stopping = True
        self._wanted.set()
        self._thread.join()


class _Commit:
    """`JournalStore._write()`: BEGIN IMMEDIATE and what rides along on entering, COMMIT on leaving,
    ROLLBACK when anything in between (or the COMMIT itself) fails."""

    __slots__ = ("_store",)

    def __init__(self, store: JournalStore) -> None:
        self._store = store

    def __enter__(self) -> None:
        conn = self._store.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for sql, params in self._store._pending_changes:
                conn.execute(sql, params)
        except BaseException:
            self._rollback()
            raise

    def __exit__(self, kind: type[BaseException] | None, error: object, trace: object) -> None:
        if kind is not None:
            self._rollback()
            return
        try:
            self._store.conn.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        self._store._committed()

    def _rollback(self) -> None:
        if self._store.conn.in_transaction:
            self._store.conn.execute("ROLLBACK")


class JournalStore:
    """The journal's file. Thread-safe; all writes go through one connection and `_write()`."""

    def __init__(self, path: Path, *, exclusive: bool = False) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_file = _lock(path, exclusive)
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            _refuse_newer(self.conn, path)
        except BaseException:
            self.conn.close()
            self._lock_file.close()
            raise
        # A new journal gets 1 KiB pages: an append dirties 3 pages (the entry with its security intent,
        # its id, its state index; ~4.5 with page splits: ~4.8 KiB of WAL to sync).
        # (A no-op for an existing file, which keeps its page size.)
        self.conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA wal_autocheckpoint=0")  # the Checkpointer's job, off the append path
        self.conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")  # a WAL left longer is cut back
        self.conn.execute("PRAGMA foreign_keys=ON")
        # Purged rows name patrons: overwritten with zeros, not left in free pages (docs/PRIVACY.md).
        self.conn.execute("PRAGMA secure_delete=ON")
        self.conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")  # bounded: see CACHE_KIB
        self.db = sqlite_utils.Database(self.conn)
        self._lock = threading.RLock()
        self._pending_changes: list[tuple[str, Params]] = []
        self.commits = 0  # fsyncs, for the benchmark and the fsync-per-action goal
        self.checkpoint_every = CHECKPOINT_EVERY
        self._commit = _Commit(self)
        with self._lock:
            self.conn.executescript(SCHEMA)
            self.commits += 1
        owner_only(path)
        self._last_commit = time.monotonic()
        self.checkpointer = Checkpointer(
            path, self._lock, lambda: self._last_commit, lambda: self.commits, lambda: self.checkpoint_every
        )

    def _write(self) -> _Commit:
        """One durable transaction: every change waiting to ride along (they happened first), then
        the body, then COMMIT. On any failure it is rolled back and the waiting changes stay for the
        next commit, so one failed write (a full disk) never wedges the journal or drops an outcome.
        Hold `_lock`. (`with self._write(): ...`; one reusable object, not a generator per commit.)"""
        return self._commit

    def _committed(self) -> None:
        self._pending_changes.clear()
        self.commits += 1
        self._last_commit = time.monotonic()
        if not self.commits % self.checkpoint_every:
            self.checkpointer.poke()

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
                self.checkpointer.close()
                self.conn.close()  # the last connection: SQLite checkpoints and removes the WAL
            finally:
                self._lock_file.close()


__all__ = [
    "CHECKPOINT_EVERY",
    "ENTRIES_TABLE",
    "SCHEMA",
    "SCHEMA_VERSION",
    "STATE_INDEX",
    "Checkpointer",
    "JournalBusy",
    "JournalNewer",
    "JournalStore",
    "Params",
    "SqlValue",
    "owner_only",
]
