"""The journal's checkpoints run in a thread of their own at a quiet moment, not inside an append (issue 17,
point 4)."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from datetime import datetime
from pathlib import Path

from kiosk.core import Operation
from kiosk.journal import Journal
from server_api.circulation import Transaction


def _record(journal: Journal, count: int) -> None:
    for _ in range(count):
        journal.record(Transaction.new(datetime.now()), Operation.CHECKOUT, "21900000000018", "219000000001")


def _rows_in_database_file(path: Path, journal: Journal | None = None) -> int:
    """Entries in the main database file alone, without the WAL (what a checkpoint has copied). While the
    journal is open, under its lock: a checkpoint (which holds it) may be writing the file."""
    with journal._lock if journal else contextlib.nullcontext():
        return _count_in_file(path)


def _count_in_file(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{path}?immutable=1", uri=True)) as conn:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'entries'").fetchone():
            return 0  # not even the schema has been copied yet
        return int(conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0])


def test_an_append_never_runs_a_checkpoint_itself(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite3")
    try:
        assert journal.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        _record(journal, journal.checkpoint_every - 10)  # below the first background checkpoint
        assert journal.checkpointer.checkpoints == 0
        assert _rows_in_database_file(journal.path, journal) == 0  # all of it is in the WAL still
    finally:
        journal.close()


def test_the_background_checkpoint_copies_the_wal_into_the_database_file(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite3")
    try:
        _record(journal, 3 * journal.checkpoint_every)
        wanted = 3 * journal.checkpoint_every - 10  # up to the last poke (the schema's commits count too)
        deadline = time.monotonic() + 20
        # Both: the rows show in the file a moment before the thread counts its checkpoint.
        while (
            _rows_in_database_file(journal.path, journal) < wanted or journal.checkpointer.checkpoints < 1
        ) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert journal.checkpointer.checkpoints >= 1
        assert _rows_in_database_file(journal.path, journal) >= wanted  # the whole WAL up to then
        wal = journal.path.with_name(journal.path.name + "-wal")
        size = wal.stat().st_size
        _record(journal, 5)
        assert wal.stat().st_size <= size  # the next appends start the WAL again from its beginning
    finally:
        journal.close()


def test_closing_stops_the_checkpoint_thread_and_nothing_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    journal = Journal(path)
    _record(journal, journal.checkpoint_every + 7)
    thread = journal.checkpointer._thread
    journal.close()
    assert not thread.is_alive()
    assert not path.with_name(path.name + "-wal").exists()  # the last close checkpointed and removed it
    assert _rows_in_database_file(path) == journal.checkpoint_every + 7
    reopened = Journal(path)
    try:
        assert len(reopened.entries()) == journal.checkpoint_every + 7
    finally:
        reopened.close()


def test_a_new_journal_has_small_pages_and_an_old_one_keeps_its_own(tmp_path: Path) -> None:
    new = Journal(tmp_path / "new.sqlite3")
    try:
        assert new.conn.execute("PRAGMA page_size").fetchone()[0] == 1024  # kiosk.journal.storage.PAGE_SIZE
    finally:
        new.close()
    old_path = tmp_path / "old.sqlite3"
    with contextlib.closing(sqlite3.connect(old_path)) as conn:
        conn.execute("PRAGMA page_size=4096")
        conn.execute("CREATE TABLE before_issue_17 (x)")
    old = Journal(old_path)
    try:
        assert old.conn.execute("PRAGMA page_size").fetchone()[0] == 4096
        _record(old, 3)
        assert len(old.entries()) == 3
    finally:
        old.close()


def test_closing_while_a_checkpoint_waits_for_the_lock_does_not_hang(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite3")
    journal.checkpointer._patience = lambda: 0  # no waiting for a quiet moment: straight to the lock
    closed = threading.Event()

    def close_in_the_middle_of_an_append() -> None:
        with journal._lock:  # what close() itself takes, held a little longer
            journal.checkpointer.poke()
            time.sleep(0.3)  # the checkpoint thread now waits for the lock
            journal.close()
            closed.set()

    closer = threading.Thread(target=close_in_the_middle_of_an_append, daemon=True)
    closer.start()
    closer.join(timeout=20)
    assert closed.is_set(), "close() and the checkpoint thread wait for each other"
