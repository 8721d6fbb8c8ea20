"""A pending undo (a loan whose security write failed under `security_failure = "undo"`) is durable at
once, and recording a return of the item ends it in the same commit (issue 11, finding 1): a crash can
leave it or the return, never both and never neither."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import datetime
from pathlib import Path

from kiosk.core import Operation
from kiosk.journal import Journal, State
from server_api.circulation import Transaction

NOW = datetime(2026, 12, 1, 10, 0)


def committed(path: Path, sql: str) -> list[tuple[object, ...]]:
    """What another process (the next start) would read: committed rows only."""
    with contextlib.closing(sqlite3.connect(path)) as other:
        return other.execute(sql).fetchall()


def test_a_pending_undo_is_on_disk_before_anyone_hears_of_the_failed_write(tmp_path: Path):
    journal = Journal(tmp_path / "journal.sqlite3")
    loan = journal.record(Transaction.new(NOW), Operation.CHECKOUT, "item-1", "patron")
    journal.settle(loan.id, State.DONE)
    journal.want_undo(loan.id, "item-1", NOW)
    assert committed(journal.path, "SELECT entry_id, item_id FROM pending_undos") == [
        (str(loan.id), "item-1")
    ]
    assert committed(journal.path, "SELECT state FROM entries") == [("done",)]  # what rode along, too
    assert [(u.entry_id, u.item_id) for u in journal.pending_undos()] == [(loan.id, "item-1")]
    journal.close()


def test_recording_a_return_of_the_item_ends_its_undo_in_the_same_commit_and_nothing_else_does(
    tmp_path: Path,
):
    journal = Journal(tmp_path / "journal.sqlite3")
    loan = journal.record(Transaction.new(NOW), Operation.CHECKOUT, "item-1", "patron")
    other = journal.record(Transaction.new(NOW), Operation.CHECKOUT, "item-2", "patron")
    journal.want_undo(loan.id, "item-1", NOW)
    journal.want_undo(other.id, "item-2", NOW)
    journal.record(Transaction.new(NOW), Operation.RENEW, "item-1", "patron")  # not a return
    journal.record(Transaction.new(NOW), Operation.CHECKOUT, "item-3", "patron")
    assert len(committed(journal.path, "SELECT * FROM pending_undos")) == 2
    back = journal.record(Transaction.new(NOW), Operation.CHECKIN, "item-1")
    assert committed(journal.path, "SELECT item_id FROM pending_undos") == [("item-2",)]
    # Staff have the failed write's task: neither the loan's nor the return's intent is reported again.
    flagged = committed(
        journal.path, "SELECT id, afi_flagged FROM entries WHERE item_id = 'item-1' AND afi IS NOT NULL"
    )
    assert sorted(flagged) == sorted([(str(loan.id), 1), (str(back.id), 1)])
    journal.close()
    reopened = Journal(tmp_path / "journal.sqlite3")  # the schema and its trigger survive a reopen
    assert [u.item_id for u in reopened.pending_undos()] == ["item-2"]
    reopened.close()
