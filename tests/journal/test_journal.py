"""The durable transaction journal (`kiosk.journal.journal`), on real files.

What these tests pin down, in the order of the module's promises:

- the live connection runs in WAL mode with `synchronous=FULL`;
- `record()` is durable before it returns: a process killed right after it leaves the entry on disk;
- outcomes (`settle()`) ride along with the next commit: about one commit per action, and an outcome lost
  in a crash leaves the entry SENDING, which reconciliation recovers;
- group commit (`GroupCommit`, what the station records through): the records of a stack share one
  commit (with what rides along), each caller resumes only once its record is on disk (also across a
  SIGKILL), records that come during a commit form the next group, and a failed group commit fails
  every caller in it, so the station sends none of the stack;
- the states an entry goes through, `purge`, remembered cards, offline loans per patron;
- no PIN is ever written;
- random sequences of operations (and crashes) keep the journal's invariants;
- the station's upkeep: what rides along is committed at a session's end or after a quiet spell with no
  session (never while a patron is at the station), finished entries are purged at start and once a
  day, and the station's read-only status for the staff screen (on the station's injected clock).
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
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.core import Operation
from kiosk.journal import TRANSITIONS, UNSETTLED, GroupCommit, IllegalTransition, Journal, Replayer, State
from server_api.circulation import Transaction

ROOT = Path(__file__).resolve().parents[2]
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
    from kiosk.core import Operation
    from kiosk.journal import Journal, State
    from server_api.circulation import Transaction

    journal = Journal(Path(sys.argv[1]))
    if sys.argv[2] == "group":  # a stack of three, recorded the way the station does
        import asyncio
        from kiosk.journal import GroupCommit

        async def stack():
            group = GroupCommit(journal)
            return await asyncio.gather(
                *(
                    group.record(Transaction.new(datetime.now()), Operation.CHECKOUT, f"item-{n}", "patron-1")
                    for n in (1, 2, 3)
                )
            )

        entries = asyncio.run(stack())
    else:
        entries = [
            journal.record(Transaction.new(datetime.now()), Operation.CHECKOUT, "item-1", "patron-1")
        ]
    if sys.argv[2] == "settle":
        journal.settle(entries[0].id, State.DONE, outcome={"due": "2026-04-01T23:59:00"})
    print(sys.argv[2] + "ed", *(entry.id for entry in entries), flush=True)
    time.sleep(60)
    """
)


def run_and_kill(path: Path, then: str) -> list[uuid.UUID]:
    """Run a station-like process that records one checkout (and settles it when `then` is "settle"; a
    stack of three with one group commit when it is "group"), and SIGKILL it as soon as it says so: no
    close(), no flush(), no atexit."""
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
    word, *entry_ids = line.split() if line else ("", child.stderr.read())
    assert word == then + "ed", entry_ids
    return [uuid.UUID(entry_id) for entry_id in entry_ids]


def test_an_entry_survives_a_kill_right_after_record_returns(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    (entry_id,) = run_and_kill(path, "record")

    reopened = Journal(path)
    entry = reopened.get(entry_id)
    assert entry is not None
    assert (entry.operation, entry.item_id, entry.patron_id) == (Operation.CHECKOUT, "item-1", "patron-1")
    assert entry.state is State.SENDING  # sent, fate unknown: reconciliation asks the library system
    assert [e.id for e in reopened.unsettled()] == [entry_id]
    reopened.close()


# ---------------------------------------------------------------- (c) outcomes ride along


def test_what_record_returns_is_what_a_read_of_the_file_gives(journal: Journal) -> None:
    # record() builds its Entry from what it wrote (no read-back): it must equal the stored row.
    due = datetime(2026, 3, 30, 23, 59)
    stack = [
        journal.record(txn(due=due), Operation.CHECKOUT, "item-1", "patron-1"),
        journal.record(txn(offline=True), Operation.CHECKIN, "item-2", state=State.QUEUED),
        *journal.record_many([]),
    ]
    assert stack == [journal.get(e.id) for e in stack]
    assert stack[0].seq < stack[1].seq


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


def test_a_failed_commit_is_rolled_back_and_loses_no_waiting_outcome(journal: Journal) -> None:
    """A write that fails (here: SQLite aborting it, as on a full disk) must not wedge the journal
    in an open transaction, nor drop the outcomes that were waiting to ride along."""
    entry = journal.record(txn(), Operation.CHECKOUT, "item-1", "patron-1")
    journal.settle(entry.id, State.REFUSED, reason="on_hold_for_another")
    with contextlib.closing(sqlite3.connect(journal.path)) as other:
        other.execute(
            "CREATE TRIGGER trouble BEFORE UPDATE ON entries WHEN NEW.state = 'refused'"
            " BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
        )
        other.commit()
    with pytest.raises(sqlite3.Error, match="disk trouble"):
        journal.flush()
    with pytest.raises(sqlite3.Error, match="disk trouble"):
        journal.record(txn(), Operation.CHECKOUT, "item-2", "patron-1")  # all or nothing
    assert committed_state(journal.path, entry.id) == "sending"
    assert journal.pending == 1  # still waiting, not dropped
    with contextlib.closing(sqlite3.connect(journal.path)) as other:
        other.execute("DROP TRIGGER trouble")
        other.commit()
    second = journal.record(txn(), Operation.CHECKOUT, "item-2", "patron-1")  # usable again
    assert committed_state(journal.path, entry.id) == "refused"  # and the outcome rode along
    assert committed_state(journal.path, second.id) == "sending"
    assert journal.pending == 0


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
    (entry_id,) = run_and_kill(path, "settle")  # killed after settle(), before any further commit

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


# ---------------------------------------------------------------- (c2) group commit


async def test_the_records_of_a_stack_share_one_commit_with_what_rides_along(journal: Journal) -> None:
    group = GroupCommit(journal)
    earlier = journal.record(txn(), Operation.CHECKIN, "item-0")
    journal.settle(earlier.id, State.DONE, outcome={"route": "home"})  # waits to ride along
    commits = journal.commits

    async def circulate(n: int) -> Any:  # what Station._circulate does for each item of a stack
        assert not any(e.item_id == f"item-{n}" for e in await group.unsettled())  # one shared read
        return await group.record(txn(), Operation.CHECKOUT, f"item-{n}", "patron-1")

    entries = await asyncio.gather(*(circulate(n) for n in range(1, 6)))
    assert journal.commits == commits + 1  # five records and the outcome: one commit
    assert [(e.item_id, e.state) for e in entries] == [(f"item-{n}", State.SENDING) for n in range(1, 6)]
    assert [committed_state(journal.path, e.id) for e in entries] == ["sending"] * 5
    assert committed_state(journal.path, earlier.id) == "done" and journal.pending == 0

    offline = await asyncio.gather(
        *(group.record(txn(offline=True), Operation.CHECKIN, f"item-{n}", state=State.QUEUED) for n in (6, 7))
    )
    assert journal.commits == commits + 2 and [e.state for e in offline] == [State.QUEUED] * 2


async def test_records_that_come_while_a_group_commits_form_the_next_group(journal: Journal) -> None:
    group = GroupCommit(journal)
    sizes: list[int] = []
    started, gate = threading.Event(), threading.Event()
    record_many = journal.record_many

    def slow_disk(new: Any) -> Any:
        sizes.append(len(new))
        started.set()
        assert gate.wait(10)
        return record_many(new)

    journal.record_many = slow_disk  # type: ignore[method-assign]
    commits = journal.commits
    first = asyncio.create_task(group.record(txn(), Operation.CHECKOUT, "item-1", "p"))
    assert await asyncio.to_thread(started.wait, 10)  # its commit is in progress
    later = [
        asyncio.create_task(group.record(txn(), Operation.CHECKOUT, f"item-{n}", "p")) for n in (2, 3, 4)
    ]
    await asyncio.sleep(0.1)
    assert not first.done() and not any(task.done() for task in later)  # nobody hears before its commit
    gate.set()
    await asyncio.gather(first, *later)
    assert sizes == [1, 3] and journal.commits == commits + 2


async def test_a_caller_cancelled_before_its_group_is_written_is_left_out(journal: Journal) -> None:
    group = GroupCommit(journal)
    gone, kept = txn(), txn()
    cancelled = asyncio.create_task(group.record(gone, Operation.CHECKOUT, "item-1", "p"))
    stays = asyncio.create_task(group.record(kept, Operation.CHECKOUT, "item-2", "p"))
    await asyncio.sleep(0)  # both joined the group; the group is not written yet
    cancelled.cancel()  # e.g. the station stopping: this one will never be sent
    entry = await stays
    assert cancelled.cancelled() and entry.id == kept.id
    assert (
        committed_state(journal.path, gone.id) is None and committed_state(journal.path, kept.id) == "sending"
    )


async def test_each_caller_resumes_only_once_its_record_is_on_disk(journal: Journal) -> None:
    group = GroupCommit(journal)

    async def record_and_look(n: int) -> str | None:
        entry = await group.record(txn(), Operation.CHECKOUT, f"item-{n}", "patron-1")
        return committed_state(journal.path, entry.id)  # another connection, the moment it resumes

    assert await asyncio.gather(*(record_and_look(n) for n in range(4))) == ["sending"] * 4


def test_a_stack_survives_a_kill_right_after_its_group_commit_returns(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    entry_ids = run_and_kill(path, "group")
    reopened = Journal(path)
    assert [e.id for e in reopened.unsettled()] == entry_ids
    assert [e.item_id for e in reopened.entries()] == ["item-1", "item-2", "item-3"]
    reopened.close()


async def test_an_error_in_the_group_commit_fails_every_caller_in_the_group(journal: Journal) -> None:
    group = GroupCommit(journal)
    earlier = journal.record(txn(), Operation.CHECKIN, "item-0")
    journal.settle(earlier.id, State.DONE)  # waits to ride along
    commits = journal.commits
    with pytest.raises(ValueError):  # a request that is wrong in itself fails alone, before any group
        await group.record(txn(), Operation.CHECKOUT, "item-9", "p", state=State.DONE)

    again = Transaction(id=earlier.id, at=NOW, offline=False, clock_synchronised=True)  # id taken
    fresh = [txn(), txn()]
    results = await asyncio.gather(
        group.record(fresh[0], Operation.CHECKOUT, "item-1", "p"),
        group.record(again, Operation.CHECKOUT, "item-2", "p"),
        group.record(fresh[1], Operation.CHECKOUT, "item-3", "p"),
        return_exceptions=True,
    )
    assert [type(r) for r in results] == [sqlite3.IntegrityError] * 3  # every caller of the group
    assert journal.commits == commits
    assert [committed_state(journal.path, t.id) for t in fresh] == [None, None]  # all or nothing
    assert journal.pending == 1 and committed_state(journal.path, earlier.id) == "sending"

    entry = await group.record(txn(), Operation.CHECKOUT, "item-1", "p")  # the next group works
    assert journal.commits == commits + 1 and committed_state(journal.path, entry.id) == "sending"
    assert committed_state(journal.path, earlier.id) == "done"  # what waited rode along with it


async def test_the_station_records_a_stack_with_one_commit_or_sends_none_of_it(tmp_path: Path) -> None:
    from kiosk.core import Action, RowState, SessionPolicy
    from kiosk.demo import DemoEnvironment, finish_visit, handle_stack, log_in

    policy = SessionPolicy(goodbye_time=timedelta(0))
    async with DemoEnvironment(tmp_path, policy=policy, tick_interval=0.05) as env:
        station, journal = env.station, env.journal
        assert station is not None
        await station.settle()
        await log_in(env)
        items = env.demo_borrow_items[:3]
        sizes: list[int] = []
        record_many = journal.record_many
        broken = False

        def disk(new: Any) -> Any:
            sizes.append(len(new))
            if broken:
                raise sqlite3.OperationalError("disk I/O error")
            return record_many(new)

        journal.record_many = disk  # type: ignore[method-assign]
        commits = journal.commits
        screen = await handle_stack(env, Action.BORROW, items)
        assert sizes == [3] and journal.commits == commits + 1  # the stack's one commit
        assert [row.state for row in screen.rows] == [RowState.DONE] * 3
        await finish_visit(env, receipt=False)

        sent: list[str] = []
        checkin = station.circulation.checkin

        async def spy(item_id: str, *args: Any, **kwargs: Any) -> Any:
            sent.append(item_id)
            return await checkin(item_id, *args, **kwargs)

        station.circulation.checkin = spy  # type: ignore[method-assign]
        broken, sizes[:] = True, []
        commits = journal.commits
        screen = await handle_stack(env, Action.RETURN, items)
        assert sizes == [3] and journal.commits == commits
        assert sent == []  # no durable record, nothing sent: every item of the stack is told it failed
        rows = [row for row in screen.rows if row.item_id in items]
        assert len(rows) == 3 and all(row.state is not RowState.DONE for row in rows)
        assert [e.operation for e in journal.entries()] == [Operation.CHECKOUT] * 3


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
        if state in (State.REPLAYING, State.CONFLICT):  # a queued entry is replayed before it is refused
            journal.mark_replaying(e.id)
        if state is State.RESOLVED:
            journal.settle(e.id, State.CONFLICT, reason="item_lost")
            journal.flush()
            journal.resolve(e.id, "fixed at the desk")
        elif state not in (start, State.REPLAYING):
            journal.settle(e.id, state)
        return e.id

    old = {state: entry(state) for state in State}  # one entry in every state
    for entry_id in old.values():
        journal.security_done(entry_id)  # every tag written and checked
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


def test_purge_keeps_a_finished_entry_whose_security_write_is_neither_done_nor_handed_to_staff(
    journal: Journal,
) -> None:
    unfinished, handed, written = (
        journal.record(txn(), Operation.CHECKOUT, item, "patron") for item in ("item-1", "item-2", "item-3")
    )
    for entry in (unfinished, handed, written):
        journal.settle(entry.id, State.DONE)
    journal.flag_security(handed.id)  # staff have a task for it
    journal.security_done(written.id)
    journal.flush()
    later = datetime.now() + timedelta(days=31)
    assert journal.purge(timedelta(days=30), now=later) == 2
    assert [e.id for e in journal.entries()] == [unfinished.id]  # the next start finishes it or tells staff
    assert [i.entry_id for i in journal.unfinished_security()] == [unfinished.id]
    journal.flag_security(unfinished.id)
    journal.flush()
    assert journal.purge(timedelta(days=30), now=later) == 1 and journal.entries() == []


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
    journal.mark_replaying(b1)
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
    from kiosk.core import PIN_MAX_DIGITS, Action, RowState, ScreenName
    from kiosk.demo import DemoEnvironment
    from server_api.demo_ils import data as demo_data

    pin = (
        "80604097"  # the longest PIN the station takes: eight digits turn up in no id or timestamp by chance
    )
    assert len(pin) == PIN_MAX_DIGITS
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
        await asyncio.sleep(0.5)  # the AFI note too (reads see what rides along; the exit commits it)
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
                indexed = op[0] in ("settle", "mark_replaying")
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
                elif op[0] == "settle" and op[2] not in TRANSITIONS[model[pick][0]]:
                    with pytest.raises(IllegalTransition):  # not in the table: refused, nothing changes
                        journal.settle(pick, op[2], durable=op[3])
                elif op[0] == "mark_replaying" and State.REPLAYING not in TRANSITIONS[model[pick][0]]:
                    with pytest.raises(IllegalTransition):
                        journal.mark_replaying(pick)
                elif op[0] == "settle":
                    journal.settle(pick, op[2], durable=op[3])
                    model[pick] = (op[2], model[pick][1])
                    if op[3]:
                        durable = dict(model)
                elif op[0] == "mark_replaying":
                    journal.mark_replaying(pick)
                    model[pick] = (State.REPLAYING, model[pick][1] + 1)
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


# ---------------------------------------------------------------- (i) the station's upkeep and status


class FakeClock:
    """The station's injected clock: moved by hand, so no test sleeps through a quiet spell or a day."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def station_env(tmp_path: Path, clock: FakeClock) -> Any:
    from kiosk.core import SessionPolicy
    from kiosk.demo import DemoEnvironment

    # Ticks come only when the test feeds them: the tick loop's first tick is an hour away.
    return DemoEnvironment(
        tmp_path, clock=clock, tick_interval=3600, policy=SessionPolicy(goodbye_time=timedelta(seconds=5))
    )


async def test_outcomes_wait_while_a_patron_is_there_and_are_committed_when_the_session_ends(
    tmp_path: Path,
) -> None:
    from kiosk.core import Action, RowState, ScreenName, Tick
    from server_api.demo_ils import data as demo_data

    clock = FakeClock(datetime.now().replace(microsecond=0))
    item = demo_data.DEMO_BORROW_ITEMS[0]
    async with station_env(tmp_path, clock) as env:
        station, journal = env.station, env.journal
        assert station is not None
        await station.settle()
        env.place_patron_card()
        await env.wait_for(lambda s: s.name is ScreenName.PIN)
        env.remove_patron_card()
        station.enter_pin(env.demo_patron_pin)
        await env.wait_for(lambda s: s.name is ScreenName.MENU)
        station.press(Action.BORROW)
        env.place_items([item])
        await env.wait_for(lambda s: any(r.item_id == item and r.state is RowState.DONE for r in s.rows), 20)
        await station.settle()
        (entry,) = journal.entries()
        assert entry.state is State.DONE  # the station's reads see the outcome ...
        assert committed_state(journal.path, entry.id) == "sending"  # ... the file has the record only
        commits = journal.commits

        clock.advance(minutes=5)  # a patron taking their time: no commit of its own meanwhile
        await station.journal_upkeep()
        assert station.session_active and journal.commits == commits
        assert committed_state(journal.path, entry.id) == "sending"

        station.press(Action.FINISH)
        station.press(Action.NO_RECEIPT)
        assert station.screen.name is ScreenName.GOODBYE and station.session_active
        clock.advance(seconds=5)
        station.feed(Tick(clock()))  # the goodbye screen times out: the session is over
        assert station.screen.name is ScreenName.WELCOME and not station.session_active
        await station.settle()
        assert journal.commits == commits + 1 and journal.pending == 0
        assert committed_state(journal.path, entry.id) == "done"


async def test_without_a_session_waiting_changes_are_committed_after_a_quiet_spell(tmp_path: Path) -> None:
    from kiosk.core import Action, Tick
    from kiosk.journal import QUIET_SPELL

    clock = FakeClock(datetime.now().replace(microsecond=0))
    async with station_env(tmp_path, clock) as env:
        station, journal = env.station, env.journal
        assert station is not None
        await station.settle()
        await station.journal_upkeep()
        journal.set_meta("note", "rides along")  # something waiting, with nobody at the station
        commits = journal.commits

        await station.journal_upkeep()  # first seen now: the quiet spell starts
        clock.advance(seconds=QUIET_SPELL.total_seconds() - 1)
        await station.journal_upkeep()
        assert journal.commits == commits and journal.pending == 1

        station.press(Action.RETURN)  # a patron starts returning: nothing is committed under them
        clock.advance(seconds=60)
        await station.journal_upkeep()
        assert station.session_active and journal.commits == commits

        station.press(Action.FINISH)  # nothing returned: goodbye, then the welcome screen
        clock.advance(seconds=5)
        station.feed(Tick(clock()))
        await station.settle()
        assert not station.session_active
        assert journal.commits == commits + 1 and journal.pending == 0  # the session's end committed it

        journal.set_meta("note", "again")
        await station.journal_upkeep()
        clock.advance(seconds=QUIET_SPELL.total_seconds())
        await station.journal_upkeep()  # quiet long enough, no session: committed now
        assert journal.commits == commits + 2 and journal.pending == 0
        with contextlib.closing(sqlite3.connect(journal.path)) as other:
            assert other.execute("SELECT value FROM meta WHERE key = 'note'").fetchone() == ("again",)


async def test_the_station_purges_finished_entries_at_start_and_once_a_day(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    journal = Journal(path)
    old_done = journal.record(txn(), Operation.CHECKIN, "item-old")
    journal.settle(old_done.id, State.DONE)
    recent_done = journal.record(txn(), Operation.CHECKIN, "item-recent")
    journal.settle(recent_done.id, State.DONE)
    old_conflict = journal.record(txn(offline=True), Operation.CHECKIN, "item-c", state=State.QUEUED)
    journal.mark_replaying(old_conflict.id)
    journal.settle(old_conflict.id, State.CONFLICT, reason="item_lost")
    for entry in (old_done, recent_done, old_conflict):
        journal.security_done(entry.id)  # the tags were written and checked
    journal.close()

    def age(entry_id: uuid.UUID, days: float) -> None:
        with contextlib.closing(sqlite3.connect(path)) as db, db:
            updated = (start - timedelta(days=days)).isoformat()
            db.execute("UPDATE entries SET updated = ? WHERE id = ?", (updated, str(entry_id)))

    start = datetime.now().replace(microsecond=0)
    age(old_done.id, 31)
    age(old_conflict.id, 90)
    age(recent_done.id, 29.5)

    clock = FakeClock(start)
    from kiosk.station import JournalPurged, Observation

    events: list[Observation] = []
    async with station_env(tmp_path, clock) as env:
        station = env.station
        assert station is not None
        # At start: the done entry older than 30 days is gone; the conflict stays until staff resolve it.
        assert committed_state(path, old_done.id) is None
        assert committed_state(path, recent_done.id) == "done"
        assert committed_state(path, old_conflict.id) == "conflict"
        station.add_observer(events.append)

        clock.advance(hours=23)  # the recent entry is over 30 days old now, but a day has not passed
        await station.journal_upkeep()
        assert committed_state(path, recent_done.id) == "done"

        clock.advance(hours=1)  # a day since the last purge
        await station.journal_upkeep()
        assert committed_state(path, recent_done.id) is None
        assert committed_state(path, old_conflict.id) == "conflict"
        assert JournalPurged(purged=1) in events

        clock.advance(hours=1)
        await station.journal_upkeep()
        assert len([e for e in events if isinstance(e, JournalPurged)]) == 1  # once a day, not every tick


async def test_the_status_for_the_staff_screen(tmp_path: Path) -> None:
    from server_api.demo_ils import data as demo_data

    path = tmp_path / "journal.sqlite3"
    journal = Journal(path)
    lost = journal.record(
        txn(offline=True),
        Operation.CHECKOUT,
        demo_data.LOST_ITEM,
        demo_data.DEMO_PATRON_ID,
        state=State.QUEUED,
    )
    journal.close()

    clock = FakeClock(datetime.now().replace(microsecond=0))
    async with station_env(tmp_path, clock) as env:
        station = env.station
        assert station is not None
        await station.settle()  # the start-up check replays what the journal held
        status = station.status()
        assert (status.online, status.pending, status.last_sync) == (True, 0, clock())
        (conflict,) = status.conflicts
        assert (conflict.id, conflict.item_id, conflict.operation) == (str(lost.id), lost.item_id, "checkout")
        assert conflict.reason == "item_lost"

        env.journal.record(
            txn(offline=True), Operation.CHECKIN, demo_data.HOLD_SHELF_ITEM, state=State.QUEUED
        )
        assert station.status().pending == 1

        clock.advance(minutes=1)
        report = await station.sync()  # what the staff screen's "sync now" does
        assert report.replayed == 1
        status = station.status()
        assert (status.pending, len(status.conflicts), status.last_sync) == (0, 1, clock())
