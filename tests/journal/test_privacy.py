"""The journal keeps patron data no longer than needed, and only for the kiosk user (issue 11, findings
7 and 8): owner-only files whatever the umask, and purged rows gone from the file's bytes."""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import datetime, timedelta
from pathlib import Path

from kiosk.core import CardRecord, Operation
from kiosk.journal import Journal, State
from server_api.circulation import Transaction

NOW = datetime(2026, 12, 1, 10, 0)


def test_the_journal_and_its_companions_are_the_kiosk_users_alone_whatever_the_umask(tmp_path: Path):
    old = os.umask(0o022)
    try:
        journal = Journal(tmp_path / "journal.sqlite3")
        journal.record(Transaction.new(NOW), Operation.CHECKIN, "item-1")
    finally:
        os.umask(old)
    try:
        journal.card_book()  # makes the station's card key
        for name in ("journal.sqlite3", "journal.sqlite3-wal", "journal.sqlite3-shm", "journal.sqlite3.lock"):
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    finally:
        journal.close()


def test_purged_entries_and_cards_are_gone_from_the_files_bytes(tmp_path: Path):
    path = tmp_path / "journal.sqlite3"
    journal = Journal(path)
    patron, card = "PATRON-2190012345678", "CARD-2190087654321"
    for n in range(20):
        entry = journal.record(Transaction.new(NOW), Operation.CHECKOUT, f"item-{n}", patron)
        journal.settle(entry.id, State.DONE)
        journal.security_done(entry.id)  # its tag written and checked
    journal.remember_card(card, False, NOW)
    journal.remember_card_record(journal.card_book().pseudonym(card), CardRecord(authenticated_at=NOW), NOW)
    journal.flush()
    journal.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert patron.encode() in path.read_bytes()  # there before the purge
    assert journal.purge(timedelta(days=30), NOW + timedelta(days=31)) == 20
    assert journal.entries() == [] and journal.blocked_cards() == set()
    journal.close()  # the last close folds the write-ahead log back
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM cards").fetchone() == (0,)
        assert db.execute("SELECT COUNT(*) FROM card_records").fetchone() == (0,)
    everything = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert patron.encode() not in everything and card.encode() not in everything
