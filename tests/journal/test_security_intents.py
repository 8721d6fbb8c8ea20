"""The security bit is part of the transaction (issue 11, finding 1): each loan and return is recorded
with the AFI its tags are to get; what is left of that at a start is a staff task. Staff tasks are durable."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from kiosk.core import AFI_IN_LIBRARY, AFI_ON_LOAN, Operation, TaskKind
from kiosk.journal import Journal, State
from server_api.circulation import Transaction

NOW = datetime(2026, 12, 1, 10, 0)


@pytest.fixture
def journal(tmp_path: Path):  # type: ignore[no-untyped-def]
    j = Journal(tmp_path / "journal.sqlite3")
    yield j
    j.close()


def committed(path: Path, sql: str) -> list[tuple[object, ...]]:
    """What another process would read from the file: committed rows only."""
    with contextlib.closing(sqlite3.connect(path)) as other:
        return other.execute(sql).fetchall()


def test_every_loan_and_return_is_recorded_with_the_afi_its_tags_are_to_get_in_the_same_commit(
    journal: Journal,
):
    loan = journal.record(Transaction.new(NOW), Operation.CHECKOUT, "item-1", "patron")
    back = journal.record(Transaction.new(NOW), Operation.CHECKIN, "item-2")
    journal.record(Transaction.new(NOW), Operation.RENEW, "item-3", "patron")  # a renewal writes nothing
    rows = committed(
        journal.path, "SELECT id, item_id, afi FROM entries WHERE afi IS NOT NULL ORDER BY item_id"
    )
    assert rows == [(str(loan.id), "item-1", AFI_ON_LOAN), (str(back.id), "item-2", AFI_IN_LIBRARY)]


def test_a_refusal_or_a_leave_it_from_the_library_system_ends_the_intent_with_the_settle_itself(
    journal: Journal,
):
    refused = journal.record(Transaction.new(NOW), Operation.CHECKOUT, "item-1", "patron")
    left = journal.record(Transaction.new(NOW), Operation.CHECKIN, "item-2")
    journal.settle(refused.id, State.REFUSED, reason="item_lost", durable=True)
    journal.settle(left.id, State.DONE, outcome={"route": "reshelve", "security": "leave"}, durable=True)
    assert committed(journal.path, "SELECT * FROM entries WHERE afi IS NOT NULL") == []
    assert journal.unfinished_security() == []


def test_a_verified_write_ends_the_intent_and_what_is_left_is_unfinished(journal: Journal):
    written = journal.record(Transaction.new(NOW), Operation.CHECKOUT, "item-1", "patron")
    pending = journal.record(Transaction.new(NOW), Operation.CHECKOUT, "item-2", "patron")
    for entry in (written, pending):
        journal.settle(entry.id, State.DONE)
    journal.security_done(written.id)
    assert [(i.item_id, i.afi, i.entry_id) for i in journal.unfinished_security()] == [
        ("item-2", AFI_ON_LOAN, pending.id)
    ]
    journal.flag_security(pending.id)  # staff were told: not reported again
    assert journal.unfinished_security() == []


def test_staff_tasks_are_durable_at_once_and_kept_until_staff_mark_them_done(journal: Journal):
    journal.add_task(
        TaskKind.SLIP_NOT_PRINTED, "item-9", "Hold shelf / Aili Kemi (printer: out of paper)", NOW
    )
    assert committed(journal.path, "SELECT kind, item_id FROM tasks WHERE done IS NULL") == [
        ("slip_not_printed", "item-9")
    ]
    (task,) = journal.tasks()
    assert (task.kind, task.item_id, task.at) == (TaskKind.SLIP_NOT_PRINTED, "item-9", NOW)
    assert journal.finish_task(task.id, "slip written by hand", NOW) and not journal.finish_task(
        task.id, "", NOW
    )
    assert journal.tasks() == [] and len(journal.tasks(include_done=True)) == 1
    journal.purge(timedelta(days=30), NOW + timedelta(days=31))
    assert journal.tasks(include_done=True) == []
