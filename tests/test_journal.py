"""The durable transaction journal (`kiosk.journal`), on real files.

What these tests pin down, in the order of the module's promises:

- the live connection runs in WAL mode with `synchronous=FULL`;
- `record()` is durable before it returns: a process killed right after it leaves the entry on disk;
- outcomes (`settle()`) ride along with the next commit: about one commit per action, and an outcome lost
  in a crash leaves the entry SENDING, which reconciliation recovers;
- the states an entry goes through, `purge`, remembered cards, offline loans per patron;
- no PIN is ever written;
- random sequences of operations (and crashes) keep the journal's invariants.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.journal import UNSETTLED, Journal, Operation, State
from kiosk.sync import Replayer
from server_api.circulation import Transaction

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 3, 2, 10, 15)


def txn(*, offline: bool = False, due: datetime | None = None) -> Transaction:
    return Transaction.new(NOW, offline=offline, due_date=due)


@pytest.fixture
def journal(tmp_path: Path):
    j = Journal(tmp_path / "journal.sqlite3")
    yield j
    j.close()


def committed_state(path: Path, entry_id: uuid.UUID) -> str | None:
    """What another process would find on disk: the last committed state of an entry."""
    with contextlib.closing(sqlite3.connect(path)) as other:
        row = other.execute("SELECT state FROM entries WHERE id = ?", (str(entry_id),)).fetchone()
    return row[0] if row else None


# ---------------------------------------------------------------- (a) WAL and FULL sync


def test_the_live_connection_runs_in_wal_mode_with_full_sync(journal: Journal) -> None:
    # The connection the journal actually writes through:
    assert journal.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert journal.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert journal.pragmas() == {"journal_mode": "wal", "synchronous": "FULL"}
    # WAL mode is a property of the file: any other connection sees it too.
    with contextlib.closing(sqlite3.connect(journal.path)) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# ---------------------------------------------------------------- (b) durable before record() returns

CHILD = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime
    from pathlib import Path
    from kiosk.journal import Journal, Operation, State
    from server_api.circulation import Transaction

    journal = Journal(Path(sys.argv[1]))
    entry = journal.record(Transaction.new(datetime.now()), Operation.CHECKOUT, "item-1", "patron-1")
    if sys.argv[2] == "settle":
        journal.settle(entry.id, State.DONE, outcome={"due": "2026-04-01T23:59:00"})
    print(sys.argv[2] + "ed", entry.id, flush=True)
    time.sleep(60)
    """
)


def run_and_kill(path: Path, then: str) -> uuid.UUID:
    """Run a station-like process that records one checkout (and settles it when `then` is "settle"),
    and SIGKILL it as soon as it says so: no close(), no flush(), no atexit."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), then],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.stderr is not None
    word, entry_id = line.split() if line else ("", child.stderr.read())
    assert word == then + "ed", entry_id
    return uuid.UUID(entry_id)


def test_an_entry_survives_a_kill_right_after_record_returns(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    entry_id = run_and_kill(path, "record")

    reopened = Journal(path)
    entry = reopened.get(entry_id)
    assert entry is not None
    assert (entry.operation, entry.item_id, entry.patron_id) == (Operation.CHECKOUT, "item-1", "patron-1")
    assert entry.state is State.SENDING  # sent, fate unknown: reconciliation asks the library system
    assert [e.id for e in reopened.unsettled()] == [entry_id]
    reopened.close()


# ---------------------------------------------------------------- (c) outcomes ride along


def test_an_outcome_is_not_committed_by_itself_but_with_the_next_record(journal: Journal) -> None:
    first = journal.record(txn(), Operation.CHECKOUT, "item-1", "patron-1")
    commits = journal.commits

    journal.settle(first.id, State.DONE, outcome={"due": "2026-03-30T23:59:00"})
    assert journal.commits == commits  # no commit of its own ...
    assert committed_state(journal.path, first.id) == "sending"  # ... so not on disk yet,
    got = journal.get(first.id)
    assert got is not None and got.state is State.DONE  # though this journal's own reads see it
    assert journal.unsettled() == []

    journal.record(txn(), Operation.CHECKOUT, "item-2", "patron-1")
    assert journal.commits == commits + 1  # the next action's one commit carries it
    assert committed_state(journal.path, first.id) == "done"


def test_flush_commits_waiting_outcomes_and_nothing_else(journal: Journal) -> None:
    entry = journal.record(txn(), Operation.CHECKIN, "item-1")
    commits = journal.commits
    journal.flush()
    assert journal.commits == commits  # nothing waiting: no commit
    journal.settle(entry.id, State.DONE, outcome={"route": "home"})
    journal.flush()  # what the station does when it is idle
    assert journal.commits == commits + 1
    assert committed_state(journal.path, entry.id) == "done"


def test_a_durable_settle_commits_at_once(journal: Journal) -> None:
    entry = journal.record(txn(), Operation.CHECKOUT, "item-1", "patron-1")
    journal.settle(entry.id, State.SENDING, outcome={"told_patron": "failed"}, durable=True)
    assert committed_state(journal.path, entry.id) == "sending"
    with contextlib.closing(sqlite3.connect(journal.path)) as other:
        (outcome,) = other.execute("SELECT outcome FROM entries WHERE id = ?", (str(entry.id),)).fetchone()
    assert '"told_patron": "failed"' in outcome


def test_at_most_one_commit_per_circulation_action(journal: Journal) -> None:
    commits = journal.commits
    for n in range(100):
        entry = journal.record(txn(), Operation.CHECKOUT, f"item-{n}", "patron-1")
        journal.settle(entry.id, State.DONE, outcome={"due": "2026-03-30T23:59:00"})
        journal.note_security(entry.id, "e0040150a1b2c3d4", 0xC2, True)
    assert journal.commits - commits == 100  # one per action: the outcomes rode along
    journal.flush()
    assert journal.commits - commits == 101  # and the last outcome once the station is idle
    assert journal.counts() == {"done": 100}


class LibrarySystemWithTheLoan:
    """Just enough of a `Circulation` for reconciliation: the patron has the item on loan."""

    def __init__(self, item_id: str) -> None:
        self.item_id = item_id
        self.sent: list[str] = []

    async def patron(self, patron_id: str, pin: str | None, txn: Transaction) -> Any:
        return SimpleNamespace(loans=[SimpleNamespace(item_id=self.item_id)])

    async def checkout(self, *args: Any, **kwargs: Any) -> Any:
        self.sent.append("checkout")
        raise AssertionError("a checkout that may have happened is never resent blindly")


def test_an_outcome_lost_in_a_kill_leaves_the_entry_sending_for_reconciliation(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    entry_id = run_and_kill(path, "settle")  # killed after settle(), before any further commit

    reopened = Journal(path)
    entry = reopened.get(entry_id)
    assert entry is not None and entry.state is State.SENDING and entry.outcome == {}

    ils = LibrarySystemWithTheLoan("item-1")
    report = asyncio.run(Replayer(reopened, ils).sync())  # type: ignore[arg-type]
    assert report.reconciled == 1 and ils.sent == []
    entry = reopened.get(entry_id)
    assert entry is not None and entry.state is State.DONE and entry.outcome == {"reconciled": True}
    reopened.close()
    assert committed_state(path, entry_id) == "done"


# ---------------------------------------------------------------- (d) state transitions


def test_online_an_entry_goes_from_sending_to_done_or_refused(journal: Journal) -> None:
    lent = journal.record(txn(), Operation.CHECKOUT, "item-1", "patron-1")
    refused = journal.record(txn(), Operation.CHECKOUT, "item-2", "patron-1")
    assert lent.state is refused.state is State.SENDING
    journal.settle(lent.id, State.DONE, screen_message="Lånt til 30.03.2026.", outcome={"due": "x"})
    journal.settle(refused.id, State.REFUSED, reason="on_hold_for_another", screen_message="Reservert.")

    done, no = journal.get(lent.id), journal.get(refused.id)
    assert done is not None and no is not None
    assert (done.state, done.screen_message) == (State.DONE, "Lånt til 30.03.2026.")
    assert done.outcome == {"due": "x"}
    assert (no.state, no.reason, no.screen_message) == (State.REFUSED, "on_hold_for_another", "Reservert.")


def test_offline_an_entry_is_queued_then_replayed_to_done_or_conflict(journal: Journal) -> None:
    due = datetime(2026, 3, 30, 23, 59)
    ok = journal.record(txn(offline=True, due=due), Operation.CHECKOUT, "item-1", "p", state=State.QUEUED)
    bad = journal.record(txn(offline=True), Operation.CHECKIN, "item-2", state=State.QUEUED)
    assert [e.id for e in journal.entries(states=(State.QUEUED,))] == [ok.id, bad.id]
    assert ok.due_date == due and ok.offline

    for entry in (ok, bad):
        journal.mark_replaying(entry.id)  # durable before it is sent
        assert committed_state(journal.path, entry.id) == "replaying"
    journal.settle(ok.id, State.DONE, outcome={"due": due.isoformat()}, replayed=True)
    journal.settle(bad.id, State.CONFLICT, reason="item_lost", screen_message="Tapt.", replayed=True)

    done, conflict = journal.get(ok.id), journal.get(bad.id)
    assert done is not None and conflict is not None
    assert (done.state, done.attempts, done.replayed) == (State.DONE, 1, True)
    assert (conflict.state, conflict.reason, conflict.attempts) == (State.CONFLICT, "item_lost", 1)
    assert journal.conflicts() == [conflict]


def test_staff_resolve_a_conflict_with_a_note(journal: Journal) -> None:
    entry = journal.record(txn(offline=True), Operation.CHECKOUT, "item-1", "p", state=State.QUEUED)
    with pytest.raises(KeyError):
        journal.resolve(entry.id, "not a conflict yet")
    journal.mark_replaying(entry.id)
    journal.settle(entry.id, State.CONFLICT, reason="item_lost", outcome={"happened": False})

    journal.resolve(entry.id, "lent by hand at the desk")

    resolved = journal.get(entry.id)
    assert resolved is not None and resolved.state is State.RESOLVED
    assert resolved.reason == "item_lost"  # the conflict's reason stays
    assert resolved.outcome == {"happened": False, "resolution": "lent by hand at the desk"}
    assert journal.conflicts() == []
    assert committed_state(journal.path, entry.id) == "resolved"  # resolving is durable at once


def test_requeue_puts_an_entry_back_in_the_queue(journal: Journal) -> None:
    entry = journal.record(txn(), Operation.CHECKOUT, "item-1", "patron-1")
    due = datetime(2026, 3, 30, 23, 59)
    journal.requeue(entry.id, due_date=due)  # not sent after all: replay later, with this due date
    queued = journal.get(entry.id)
    assert queued is not None
    assert (queued.state, queued.offline, queued.due_date) == (State.QUEUED, True, due)
    assert committed_state(journal.path, entry.id) == "queued"

    journal.mark_replaying(entry.id)
    journal.requeue(entry.id)  # the replay went nowhere: the due date given to the patron is kept
    again = journal.get(entry.id)
    assert again is not None and (again.state, again.due_date, again.attempts) == (State.QUEUED, due, 1)


def test_a_new_entry_starts_as_sending_or_queued_and_only_once(journal: Journal) -> None:
    with pytest.raises(ValueError):
        journal.record(txn(), Operation.CHECKOUT, "item-1", "p", state=State.DONE)
    same = txn()
    journal.record(same, Operation.CHECKOUT, "item-1", "p")
    with pytest.raises(sqlite3.IntegrityError):
        journal.record(same, Operation.CHECKOUT, "item-1", "p")
    assert len(journal.entries()) == 1
    journal.record(txn(), Operation.CHECKIN, "item-1")  # and the journal still works


# ---------------------------------------------------------------- (e) purge


def test_purge_forgets_only_finished_entries_older_than_the_limit(journal: Journal) -> None:
    def entry(state: State, operation: Operation = Operation.CHECKOUT) -> uuid.UUID:
        start = State.QUEUED if state in (State.QUEUED, State.REPLAYING, State.CONFLICT) else State.SENDING
        e = journal.record(txn(offline=start is State.QUEUED), operation, "item", "patron", state=start)
        if state is State.REPLAYING:
            journal.mark_replaying(e.id)
        elif state is State.RESOLVED:
            journal.settle(e.id, State.CONFLICT, reason="item_lost")
            journal.flush()
            journal.resolve(e.id, "fixed at the desk")
        elif state is not start:
            journal.settle(e.id, state)
        return e.id

    old = {state: entry(state) for state in State}  # one entry in every state
    journal.flush()
    time.sleep(0.01)
    cutoff = datetime.now()
    time.sleep(0.01)
    recent = entry(State.DONE)
    journal.flush()

    purged = journal.purge(timedelta(days=30), now=cutoff + timedelta(days=30))

    assert purged == 3
    left = {e.id for e in journal.entries()}
    assert left.isdisjoint({old[State.DONE], old[State.REFUSED], old[State.RESOLVED]})
    # Never what the library system has not confirmed, nor a conflict staff have not resolved:
    for state in (State.SENDING, State.QUEUED, State.REPLAYING, State.CONFLICT):
        assert old[state] in left, state
    assert recent in left  # finished, but not old enough
    assert journal.purge(timedelta(days=30), now=cutoff + timedelta(days=30)) == 0


# ---------------------------------------------------------------- (f) cards and offline loans


def test_blocked_cards_are_remembered_and_forgotten(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite3")
    seen = datetime(2026, 3, 2, 9, 0)
    journal.remember_card("219010000001", True, seen)
    journal.remember_card("219000000001", False, seen)
    assert journal.blocked_cards() == {"219010000001"}  # seen at once, though it rides along
    journal.close()

    reopened = Journal(journal.path)  # close() flushed it: it survives a restart
    assert reopened.blocked_cards() == {"219010000001"}
    reopened.remember_card("219010000001", False, seen + timedelta(days=1))  # the block was lifted
    assert reopened.blocked_cards() == set()
    reopened.close()


def test_offline_loans_counts_unconfirmed_offline_checkouts_per_patron(journal: Journal) -> None:
    def offline_checkout(patron: str) -> uuid.UUID:
        return journal.record(txn(offline=True), Operation.CHECKOUT, "item", patron, state=State.QUEUED).id

    a1, a2, b1 = offline_checkout("A"), offline_checkout("A"), offline_checkout("B")
    journal.record(txn(offline=True), Operation.CHECKIN, "item", state=State.QUEUED)  # not a loan
    online = journal.record(txn(), Operation.CHECKOUT, "item", "C")  # online: the ILS counts it
    journal.settle(online.id, State.DONE)
    assert journal.offline_loans() == {"A": 2, "B": 1}

    journal.mark_replaying(a1)  # on its way: still counts
    assert journal.offline_loans() == {"A": 2, "B": 1}
    journal.settle(a1, State.DONE, replayed=True)  # the library system has it now
    journal.settle(b1, State.CONFLICT, reason="item_lost", replayed=True)
    assert journal.offline_loans() == {"A": 1}
    assert a2 in {e.id for e in journal.unsettled()}


# ---------------------------------------------------------------- (g) no PIN


def test_no_table_has_a_place_for_a_pin(journal: Journal) -> None:
    tables = [row[0] for row in journal.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    assert {"entries", "cards", "meta"} <= set(tables)
    for table in tables:
        columns = [row[1] for row in journal.conn.execute(f"PRAGMA table_info({table})")]
        assert not [c for c in columns if "pin" in c.lower() or "password" in c.lower()], table


async def test_a_patron_who_logs_in_with_a_pin_and_borrows_leaves_no_pin_in_the_journal(
    tmp_path: Path,
) -> None:
    from kiosk.demo import DemoEnvironment
    from kiosk.screens import Action, RowState, ScreenName
    from server_api.demo_ils import data as demo_data

    pin = "80604020975311"  # long enough that it cannot turn up by chance in ids or timestamps
    ils_db = demo_data.create_database(tmp_path / "demo-ils.sqlite3")
    with contextlib.closing(sqlite3.connect(ils_db)) as ils, ils:
        ils.execute("UPDATE patrons SET pin = ? WHERE card = ?", (pin, demo_data.DEMO_PATRON_ID))
    item = demo_data.DEMO_BORROW_ITEMS[0]

    async with DemoEnvironment(tmp_path, tick_interval=0.2) as env:
        assert env.station is not None
        env.place_patron_card()
        await env.wait_for(lambda s: s.name is ScreenName.PIN)
        env.remove_patron_card()
        env.station.enter_pin(pin)
        await env.wait_for(lambda s: s.name is ScreenName.MENU)
        env.station.press(Action.BORROW)
        await env.wait_for(lambda s: s.name is ScreenName.BORROW)
        env.place_items([item])
        await env.wait_for(
            lambda s: any(r.item_id == item and r.state is not RowState.WORKING for r in s.rows), 20
        )
        await asyncio.sleep(0.5)  # an idle tick flushes the outcome
        journal = env.journal
        (entry,) = journal.entries()
        assert (entry.operation, entry.item_id, entry.state) == (Operation.CHECKOUT, item, State.DONE)
        assert entry.patron_id == demo_data.DEMO_PATRON_ID

    files = sorted(tmp_path.glob("journal.sqlite3*"))
    assert files
    for file in files:
        assert pin.encode() not in file.read_bytes(), file.name
    assert pin.encode() in ils_db.read_bytes()  # the same search finds it where it does belong


# ---------------------------------------------------------------- (h) invariants under random use

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("record"), st.sampled_from([State.SENDING, State.QUEUED]), st.integers(0, 3)),
        st.tuples(
            st.just("settle"),
            st.integers(0, 40),
            st.sampled_from([State.DONE, State.REFUSED, State.CONFLICT, State.SENDING]),
            st.booleans(),
        ),
        st.tuples(st.just("flush")),
        st.tuples(st.just("mark_replaying"), st.integers(0, 40)),
        st.tuples(st.just("requeue"), st.integers(0, 40)),
        st.tuples(st.just("crash")),
    ),
    max_size=30,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS)
def test_random_use_keeps_the_journal_consistent(ops: list[tuple[Any, ...]]) -> None:
    """A model of the journal (state and attempts per entry, in recording order) is kept next to the
    real one. Committing operations copy the model to `durable`; a crash (the connection dropped without
    a flush) goes back to `durable`: a crash loses outcomes, never a recorded action."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "journal.sqlite3"
        journal = Journal(path)
        order: list[uuid.UUID] = []
        model: dict[uuid.UUID, tuple[State, int]] = {}
        durable: dict[uuid.UUID, tuple[State, int]] = {}
        try:
            for op in ops:
                indexed = op[0] in ("settle", "mark_replaying", "requeue")
                pick = order[op[1] % len(order)] if indexed and order else None
                if op[0] == "record":
                    entry = journal.record(txn(), Operation.CHECKOUT, f"item-{op[2]}", "p", state=op[1])
                    order.append(entry.id)
                    model[entry.id] = (op[1], 0)
                    durable = dict(model)
                elif op[0] == "flush":
                    journal.flush()
                    durable = dict(model)
                elif op[0] == "crash":
                    journal.conn.close()  # killed: nothing waiting is written
                    journal = Journal(path)
                    model = dict(durable)
                elif pick is None:
                    continue
                elif op[0] == "settle":
                    journal.settle(pick, op[2], durable=op[3])
                    model[pick] = (op[2], model[pick][1])
                    if op[3]:
                        durable = dict(model)
                elif op[0] == "mark_replaying":
                    journal.mark_replaying(pick)
                    model[pick] = (State.REPLAYING, model[pick][1] + 1)
                    durable = dict(model)
                elif op[0] == "requeue":
                    journal.requeue(pick)
                    model[pick] = (State.QUEUED, model[pick][1])
                    durable = dict(model)

                entries = journal.entries()
                assert [e.id for e in entries] == order  # every recorded action, in recording order
                assert len({e.id for e in entries}) == len(entries)
                assert [e.seq for e in entries] == sorted({e.seq for e in entries})
                assert {e.id: (e.state, e.attempts) for e in entries} == model
                assert [e.id for e in journal.unsettled()] == [e.id for e in entries if e.state in UNSETTLED]
                counts = journal.counts()
                assert sum(counts.values()) == len(order)
        finally:
            journal.close()
        reopened = Journal(path)  # close() flushed: the file now holds exactly the model
        assert {e.id: (e.state, e.attempts) for e in reopened.entries()} == model
        reopened.close()
