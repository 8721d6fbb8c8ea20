"""A journal written before schema 2 (security intents in a table of their own, issue 11) opens on a station
with schema 2 (the intent is a column of its entry, issue 17): it keeps every entry and intent and works."""

from __future__ import annotations

import contextlib
import fcntl
import sqlite3
import uuid
from datetime import datetime
from pathlib import Path

import pytest

from kiosk.core import AFI_IN_LIBRARY, AFI_ON_LOAN, Operation, TaskKind
from kiosk.journal import SCHEMA_VERSION, Journal, JournalNewer, State
from server_api.circulation import Transaction

NOW = datetime(2026, 12, 1, 10, 0)

# The layout on kiosks before schema 2, as kiosk.journal created it at every open (tables, indexes and
# triggers).
SCHEMA_1 = f"""
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, operation TEXT NOT NULL,
    item_id TEXT NOT NULL, patron_id TEXT NOT NULL DEFAULT '', at TEXT NOT NULL, due_date TEXT,
    offline INTEGER NOT NULL, clock_synchronised INTEGER NOT NULL, state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '', screen_message TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL DEFAULT '{{}}',
    attempts INTEGER NOT NULL DEFAULT 0, replayed INTEGER NOT NULL DEFAULT 0,
    security TEXT NOT NULL DEFAULT '[]', updated TEXT
);
CREATE INDEX IF NOT EXISTS entries_state ON entries(state, seq);
CREATE INDEX IF NOT EXISTS entries_item ON entries(item_id, seq);
CREATE TABLE IF NOT EXISTS cards (card_id TEXT PRIMARY KEY, blocked INTEGER NOT NULL, seen TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS card_records (card_key TEXT PRIMARY KEY, record TEXT NOT NULL, seen TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS security_intents (
    entry_id TEXT PRIMARY KEY, item_id TEXT NOT NULL, afi INTEGER NOT NULL, at TEXT NOT NULL,
    flagged INTEGER NOT NULL DEFAULT 0
);
CREATE TRIGGER IF NOT EXISTS security_not_needed AFTER UPDATE OF state, outcome ON entries
WHEN NEW.state = 'refused' OR json_extract(NEW.outcome, '$.security') = 'leave'
BEGIN DELETE FROM security_intents WHERE entry_id = NEW.id; END;
CREATE TABLE IF NOT EXISTS tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, item_id TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '', at TEXT NOT NULL, done TEXT, note TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS pending_undos (entry_id TEXT PRIMARY KEY, item_id TEXT NOT NULL, at TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS undo_recorded AFTER INSERT ON security_intents
WHEN NEW.afi = {AFI_IN_LIBRARY} AND EXISTS (SELECT 1 FROM pending_undos WHERE item_id = NEW.item_id)
BEGIN
    DELETE FROM pending_undos WHERE item_id = NEW.item_id;
    UPDATE security_intents SET flagged = 1 WHERE item_id = NEW.item_id;
END;
"""


def _old_journal(path: Path) -> dict[str, uuid.UUID]:
    """A schema-1 journal file: a loan with its write unfinished, a return whose write staff were told
    about, a renewal, a loan whose write failed under the undo policy, and two intents whose entries were
    purged (one unfinished, one told)."""
    ids = {name: uuid.uuid4() for name in ("loan", "told", "renewal", "undo", "orphan", "orphan_told")}
    rows = [
        ("loan", "checkout", "item-1", "patron-1", "done"),
        ("told", "checkin", "item-2", "", "done"),
        ("renewal", "renew", "item-3", "patron-1", "sending"),
        ("undo", "checkout", "item-4", "patron-2", "done"),
    ]
    at = NOW.isoformat()
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("PRAGMA page_size=1024")
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(SCHEMA_1)
        for name, operation, item, patron, state in rows:
            db.execute(
                "INSERT INTO entries (id, operation, item_id, patron_id, at, offline, clock_synchronised,"
                " state, updated) VALUES (?,?,?,?,?,0,1,?,?)",
                (str(ids[name]), operation, item, patron, at, state, at),
            )
        intents = [
            ("loan", "item-1", AFI_ON_LOAN, 0),
            ("told", "item-2", AFI_IN_LIBRARY, 1),
            ("undo", "item-4", AFI_ON_LOAN, 1),
            ("orphan", "item-5", AFI_ON_LOAN, 0),
            ("orphan_told", "item-6", AFI_IN_LIBRARY, 1),
        ]
        db.executemany(
            "INSERT INTO security_intents (entry_id, item_id, afi, at, flagged) VALUES (?,?,?,?,?)",
            [(str(ids[name]), item, afi, at, flagged) for name, item, afi, flagged in intents],
        )
        db.execute("INSERT INTO pending_undos VALUES (?,?,?)", (str(ids["undo"]), "item-4", at))
        db.execute("INSERT INTO meta VALUES ('last_sync', ?)", (at,))
    return ids


def _entries_table(path: Path) -> str:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return str(db.execute("SELECT sql FROM sqlite_master WHERE name = 'entries'").fetchone()[0])


def _tables(path: Path) -> set[str]:
    """Its tables, indexes and triggers."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master")}


def test_an_old_journal_keeps_its_entries_and_intents_and_an_intent_without_its_entry_goes_to_staff(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.sqlite3"
    ids = _old_journal(path)
    journal = Journal(path)
    try:
        assert journal.meta("schema_version") == str(SCHEMA_VERSION) and journal.meta("last_sync")
        assert "security_intents" not in _tables(path) and "entries_item" not in _tables(path)
        assert "AUTOINCREMENT" not in _entries_table(path)
        assert [e.seq for e in journal.entries()] == [1, 2, 3, 4]  # as they were
        assert [(e.id, e.state) for e in journal.entries()] == [
            (ids["loan"], State.DONE),
            (ids["told"], State.DONE),
            (ids["renewal"], State.SENDING),
            (ids["undo"], State.DONE),
        ]
        # Unfinished: the loan's write (the told ones are not reported again).
        assert [(i.entry_id, i.item_id, i.afi) for i in journal.unfinished_security()] == [
            (ids["loan"], "item-1", AFI_ON_LOAN)
        ]
        (write,) = journal.unfinished_writes()
        assert (write.state, write.offline, write.superseded) == (State.DONE, False, False)
        # The unfinished intent whose entry was purged: what the station would have made of it at start.
        (task,) = journal.tasks()
        assert (task.kind, task.item_id) == (TaskKind.SECURITY_UNFINISHED, "item-5")
        assert f"0x{AFI_ON_LOAN:02X}, on loan" in task.detail and "2026-12-01 10:00" in task.detail
        assert [u.entry_id for u in journal.pending_undos()] == [ids["undo"]]
    finally:
        journal.close()


def test_an_upgraded_journal_works_and_opens_again_without_upgrading_twice(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    ids = _old_journal(path)
    Journal(path).close()
    journal = Journal(path)
    try:
        assert len(journal.tasks()) == 1  # not made again
        # The pending undo ends when the item's return is recorded (the schema-2 trigger).
        back = journal.record(Transaction.new(NOW), Operation.CHECKIN, "item-4")
        assert journal.pending_undos() == []
        assert back.id not in {i.entry_id for i in journal.unfinished_security()}  # flagged: staff know
        # A refusal ends the intent in the settle itself; a verified write ends it too.
        loan = journal.record(Transaction.new(NOW), Operation.CHECKOUT, "item-7", "patron-3")
        assert loan.id in {i.entry_id for i in journal.unfinished_security()}
        journal.settle(loan.id, State.REFUSED, reason="item_lost", durable=True)
        journal.security_done(ids["loan"])
        assert journal.unfinished_security() == []
        assert journal.get(ids["renewal"]) is not None
        assert [e.seq for e in journal.entries()][4:] == [5, 6]  # after the old ones
    finally:
        journal.close()


def test_intents_recorded_by_older_software_after_a_rollback_are_kept_at_the_next_start(
    tmp_path: Path,
) -> None:
    """An A/B update rolled back: schema-1 software opens the schema-2 journal (its `CREATE ... IF NOT EXISTS`
    brings its intents table, index and triggers back) and records a loan its way; the next schema-2 start
    keeps both loans' intents."""
    path = tmp_path / "journal.sqlite3"
    journal = Journal(path)
    newer = journal.record(Transaction.new(NOW), Operation.CHECKOUT, "item-1", "patron-1")
    journal.close()
    older = uuid.uuid4()
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.executescript(SCHEMA_1)
        db.execute(
            "INSERT INTO entries (id, operation, item_id, patron_id, at, offline, clock_synchronised, state,"
            " updated) VALUES (?, 'checkout', 'item-2', 'patron-1', ?, 0, 1, 'sending', ?)",
            (str(older), NOW.isoformat(), NOW.isoformat()),
        )
        db.execute(
            "INSERT INTO security_intents (entry_id, item_id, afi, at) VALUES (?, 'item-2', ?, ?)",
            (str(older), AFI_ON_LOAN, NOW.isoformat()),
        )
    journal = Journal(path)
    try:
        assert [(i.entry_id, i.afi) for i in journal.unfinished_security()] == [
            (newer.id, AFI_ON_LOAN),
            (older, AFI_ON_LOAN),
        ]
        left = _tables(path)
        assert not left & {"security_intents", "entries_item", "security_not_needed", "undo_recorded"}
        assert {"intent_not_needed", "undo_when_returned"} <= left
        journal.settle(older, State.REFUSED, reason="item_lost", durable=True)  # schema 2's trigger
        assert [i.entry_id for i in journal.unfinished_security()] == [newer.id]
    finally:
        journal.close()


def test_a_journal_from_a_newer_station_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    Journal(path).close()
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(JournalNewer, match=r"newer station .* update this station's software"):
        Journal(path)
    with open(path.with_name(path.name + ".lock")) as lock:  # nothing left holding the journal
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with contextlib.closing(sqlite3.connect(path)) as db:  # left as it was
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            str(SCHEMA_VERSION + 1),
        )
