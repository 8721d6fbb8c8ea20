"""What a journal entry may become (`kiosk.journal.states`), on real journal files: the table is the rule,
and every change of state is checked against it."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from kiosk.core import Operation
from kiosk.journal import (
    FINAL,
    TRANSITIONS,
    UNSETTLED,
    Entry,
    IllegalTransition,
    Journal,
    NewEntry,
    State,
    UnknownEntry,
    took_effect,
)
from server_api.circulation import Transaction

NOW = datetime(2026, 3, 2, 10, 15)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal(tmp_path / "journal.sqlite3")
    yield j
    j.close()


def queued(journal: Journal) -> Entry:
    return journal.record(
        Transaction.new(NOW, offline=True), Operation.CHECKOUT, "item", "p", state=State.QUEUED
    )


def sending(journal: Journal) -> Entry:
    return journal.record(Transaction.new(NOW), Operation.CHECKIN, "item")


def test_the_table_has_a_row_for_every_state_and_final_states_lead_nowhere() -> None:
    assert set(TRANSITIONS) == set(State)
    for state in FINAL:
        assert TRANSITIONS[state] == frozenset(), state
    assert TRANSITIONS[State.CONFLICT] == {State.RESOLVED}


def test_every_unsettled_state_can_reach_a_final_one() -> None:
    def reachable(start: State) -> set[State]:
        seen, todo = set(), [start]
        while todo:
            for following in TRANSITIONS[todo.pop()] - seen:
                seen.add(following)
                todo.append(following)
        return seen

    for state in UNSETTLED:
        assert reachable(state) & set(FINAL), state


def test_a_finished_entry_never_changes_again(journal: Journal) -> None:
    entry = sending(journal)
    journal.settle(entry.id, State.DONE)
    for state in State:
        with pytest.raises(IllegalTransition, match="is done, which cannot become"):
            journal.settle(entry.id, state)
    with pytest.raises(IllegalTransition):
        journal.mark_replaying(entry.id)
    stored = journal.get(entry.id)
    assert stored is not None and stored.state is State.DONE


def test_a_queued_entry_is_marked_replaying_before_it_is_done_or_a_conflict(journal: Journal) -> None:
    entry = queued(journal)
    for state in (State.DONE, State.REFUSED, State.CONFLICT, State.SENDING, State.RESOLVED):
        with pytest.raises(IllegalTransition):
            journal.settle(entry.id, state)
    journal.mark_replaying(entry.id)
    journal.settle(entry.id, State.CONFLICT, reason="item_lost")
    stored = journal.get(entry.id)
    assert stored is not None and (stored.state, stored.attempts) == (State.CONFLICT, 1)


def test_an_illegal_change_commits_nothing_and_keeps_what_rides_along(journal: Journal) -> None:
    done, waiting = sending(journal), sending(journal)
    journal.settle(done.id, State.DONE)
    journal.flush()
    journal.settle(waiting.id, State.DONE, outcome={"route": "reshelve"})  # rides along
    commits = journal.commits
    with pytest.raises(IllegalTransition) as refused:
        journal.settle(done.id, State.REFUSED, durable=True)
    assert (refused.value.old, refused.value.new) == (State.DONE, State.REFUSED)
    assert journal.commits == commits and journal.pending == 1
    assert isinstance(refused.value, KeyError)  # the table has no such change for that state
    stored = journal.get(waiting.id)
    assert stored is not None and stored.state is State.DONE and stored.outcome == {"route": "reshelve"}


def test_the_check_sees_outcomes_that_still_ride_along(journal: Journal) -> None:
    entry = sending(journal)
    journal.settle(entry.id, State.REFUSED)  # not committed yet
    with pytest.raises(IllegalTransition, match="is refused"):
        journal.settle(entry.id, State.DONE)


def test_only_a_conflict_can_be_resolved(journal: Journal) -> None:
    entry = sending(journal)
    with pytest.raises(IllegalTransition, match="is sending, which cannot become resolved"):
        journal.resolve(entry.id, "nothing to resolve")
    with pytest.raises(UnknownEntry):
        journal.resolve(uuid.uuid4(), "no such entry")


def test_an_entry_that_is_not_there_cannot_be_settled(journal: Journal) -> None:
    with pytest.raises(UnknownEntry, match="no entry"):
        journal.settle(uuid.uuid4(), State.DONE)
    with pytest.raises(UnknownEntry):
        journal.mark_replaying(uuid.uuid4())
    assert journal.pending == 0


def test_the_journal_records_circulation_actions_not_patron_lookups() -> None:
    with pytest.raises(ValueError, match="circulation actions"):
        NewEntry(Transaction.new(NOW), Operation.PATRON, "item")


def test_entries_written_before_the_one_operation_enum_load_as_it(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    Journal(path).close()
    with sqlite3.connect(path) as db:  # a row as the journal of an earlier release wrote it
        db.execute(
            "INSERT INTO entries (id, operation, item_id, at, offline, clock_synchronised, state)"
            " VALUES (?, 'renew', 'item', ?, 0, 1, 'sending')",
            (str(uuid.uuid4()), NOW.isoformat()),
        )
    journal = Journal(path)
    try:
        (entry,) = journal.entries()
        assert entry.operation is Operation.RENEW
    finally:
        journal.close()


def test_a_settled_entry_says_whether_it_took_effect(journal: Journal) -> None:
    done, refused, unsettled = sending(journal), sending(journal), sending(journal)
    journal.settle(done.id, State.DONE)
    journal.settle(refused.id, State.REFUSED)
    happened, did_not = queued(journal), queued(journal)
    for entry, outcome in ((happened, True), (did_not, False)):
        journal.mark_replaying(entry.id)
        journal.settle(entry.id, State.CONFLICT, outcome={"happened": outcome})
    journal.resolve(happened.id, "fixed at the desk")

    effects = {e.id: took_effect(e) for e in journal.entries()}

    assert effects == {
        done.id: True,
        refused.id: False,
        unsettled.id: None,
        happened.id: True,  # resolved, and it had happened
        did_not.id: False,
    }
