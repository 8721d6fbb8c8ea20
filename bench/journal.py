"""Journal benchmarks, printed as one JSON object (not a timed test).

(a) appends: durable `Journal.record` calls per second (WAL + synchronous=FULL, one commit each) against
    SQLite's own durable-insert rate on the same disk: plain sqlite3, WAL + FULL, one INSERT + COMMIT per
    row with the same columns. Both files live in a temporary directory under the repository
    (`.bench-tmp/`, removed afterwards), so they are on the disk the kiosk's journal would be on.
    `appends_alternating`: the same contenders one append each in turn, each append timed on its own
    (neighbours see the same disk weather: on a shared machine it changes faster than a round).
(b) commits (fsyncs) per circulation action: a simulated day at a station (simulated clock, real journal
    calls) with sessions of card + items, stacks and one-by-one; counted with the journal's commit
    counter. The station's policy is the real code: records through `kiosk.journal.GroupCommit` as
    `ExactlyOnce.circulate` makes them (a stack's items recorded concurrently, one task each), and
    `kiosk.journal.JournalUpkeep` (what `Station` runs at every tick and at a session's end), driven with
    the simulated clock. For comparison: the quiet spell alone (no flush at a session's end), the
    previous station (a commit per record), the rule before it (flush at every idle tick), and
    back-to-back actions (record -> settle -> next record). Also how long an outcome waited for its
    commit (what a crash at that moment leaves to reconciliation).
(c) replay: N queued offline checkouts and checkins of demo items for demo patrons, replayed by
    `kiosk.journal.sync.Replayer` over `Sip2Circulation` to the demo library system on loopback; transactions
    per second, every entry checked DONE and every action checked applied once by the library system.
    Compared with sending the same actions straight through `Sip2Circulation` (no journal) to a fresh
    demo library system.

Run: .venv/bin/python bench/journal.py [--quick] [--appends-only]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk.core import AFI_ON_LOAN, Operation
from kiosk.journal import GroupCommit, Journal, JournalUpkeep, Replayer, State
from server_api.circulation import Transaction
from server_api.demo_ils import data as demo_data
from server_api.demo_ils.server import DemoIls, applied_transactions
from server_api.sip2.circulation import Sip2Circulation, Sip2Settings

ROOT = Path(__file__).resolve().parent.parent
ITEM = "21900000000018"
PATRON = "219000000001"


# ---------------------------------------------------------------- (a) durable appends


def _journal_rate(path: Path, seconds: float) -> tuple[float, int]:
    journal = Journal(path)
    try:
        start_commits = journal.commits
        n, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            txn = Transaction.new(datetime.now())
            journal.record(txn, Operation.CHECKOUT, ITEM, PATRON)
            n += 1
        assert journal.commits - start_commits == n
        return n / elapsed, n
    finally:
        journal.close()


def _sqlite_rate(path: Path, seconds: float, page_size: int | None = None) -> tuple[float, int]:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        if page_size:
            conn.execute(f"PRAGMA page_size={page_size}")
        assert conn.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS rows (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
            " operation TEXT, item_id TEXT, patron_id TEXT, at TEXT, due_date TEXT, offline INTEGER,"
            " clock_synchronised INTEGER, state TEXT, updated TEXT)"
        )
        n, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            now = datetime.now().isoformat()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "INSERT INTO rows (id, operation, item_id, patron_id, at, due_date, offline,"
                " clock_synchronised, state, updated) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (str(uuid.uuid4()), "checkout", ITEM, PATRON, now, None, 0, 1, "sending", now),
            )
            conn.execute("COMMIT")
            n += 1
        return n / elapsed, n
    finally:
        conn.close()


def _same_schema_rate(path: Path, seconds: float) -> tuple[float, int]:
    """Plain sqlite3 writing what an append writes (the journal's own SCHEMA: the entry row with its
    security intent, and its indexes) in one durable commit: the cost of the journal's Python alone."""
    Journal(path).close()  # the file with the journal's schema, then plain sqlite3 on it
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        assert conn.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
        conn.execute("PRAGMA synchronous=FULL")
        n, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            now, entry_id = datetime.now().isoformat(), str(uuid.uuid4())
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "INSERT INTO entries (id, operation, item_id, patron_id, at, due_date, offline,"
                " clock_synchronised, state, updated, afi) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (entry_id, "checkout", ITEM, PATRON, now, None, 0, 1, "sending", now, AFI_ON_LOAN),
            )
            conn.execute("COMMIT")
            n += 1
        return n / elapsed, n
    finally:
        conn.close()


def bench_appends_alternating(workdir: Path, seconds: float) -> dict[str, Any]:
    """One append of each contender in turn (journal, plain insert, same-schema insert, journal, ...),
    each timed on its own: neighbours see the same disk weather, which on a shared machine changes faster
    than any round of seconds. Ratios of the total times (= of the rates) and their medians."""
    journal = Journal(workdir / "alt-journal.sqlite3")
    Journal(workdir / "alt-same.sqlite3").close()
    plain, same = (
        sqlite3.connect(workdir / n, isolation_level=None) for n in ("alt-plain.sqlite3", "alt-same.sqlite3")
    )
    spent: dict[str, list[float]] = {"journal": [], "sqlite": [], "same": []}
    try:
        for conn in (plain, same):
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
        plain.execute(
            "CREATE TABLE IF NOT EXISTS rows (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
            " operation TEXT, item_id TEXT, patron_id TEXT, at TEXT, due_date TEXT, offline INTEGER,"
            " clock_synchronised INTEGER, state TEXT, updated TEXT)"
        )

        plain_sql, same_sql = (
            f"INSERT INTO {table} (id, operation, item_id, patron_id, at, due_date, offline,"
            f" clock_synchronised, state, updated{extra}) VALUES (?,?,?,?,?,?,?,?,?,?{marks})"
            for table, extra, marks in (("rows", "", ""), ("entries", ", afi", ",?"))
        )

        def insert(conn: sqlite3.Connection, sql: str, intent: tuple[int, ...]) -> None:
            now, entry_id = datetime.now().isoformat(), str(uuid.uuid4())
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(sql, (entry_id, "checkout", ITEM, PATRON, now, None, 0, 1, "sending", now, *intent))
            conn.execute("COMMIT")

        steps: list[tuple[str, Callable[[], object]]] = [
            (
                "journal",
                lambda: journal.record(Transaction.new(datetime.now()), Operation.CHECKOUT, ITEM, PATRON),
            ),
            ("sqlite", lambda: insert(plain, plain_sql, ())),
            ("same", lambda: insert(same, same_sql, (AFI_ON_LOAN,))),
        ]
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            for name, step in steps:
                t = time.perf_counter()
                step()
                spent[name].append(time.perf_counter() - t)
            steps.reverse()  # neither goes first every time
    finally:
        journal.close()
        plain.close()
        same.close()
    total = {name: sum(times) for name, times in spent.items()}
    return {
        "appends_each": len(spent["journal"]),
        "journal_us_median": round(statistics.median(spent["journal"]) * 1e6),
        "sqlite_us_median": round(statistics.median(spent["sqlite"]) * 1e6),
        "same_schema_us_median": round(statistics.median(spent["same"]) * 1e6),
        "journal_vs_sqlite": round(total["sqlite"] / total["journal"], 2),
        "journal_vs_sqlite_medians": round(
            statistics.median(spent["sqlite"]) / statistics.median(spent["journal"]), 2
        ),
        "journal_vs_same_schema": round(total["same"] / total["journal"], 2),
    }


def bench_appends(workdir: Path, seconds: float, rounds: int) -> dict[str, Any]:
    """Many short rounds, each running every contender once back to back (the order reversed every
    other round), so each round's contenders see the same disk weather. The ratios are medians of the
    per-round ratios (paired), beside the ratio of the medians."""
    runs: dict[str, list[float]] = {"journal": [], "sqlite": [], "sqlite_1k": [], "same": []}
    total = [0, 0]
    contenders: list[tuple[str, Callable[[], tuple[float, int]]]] = [
        ("journal", lambda: _journal_rate(workdir / "journal.sqlite3", seconds)),
        ("sqlite", lambda: _sqlite_rate(workdir / "plain.sqlite3", seconds)),
        ("sqlite_1k", lambda: _sqlite_rate(workdir / "plain-1k.sqlite3", seconds, page_size=1024)),
        ("same", lambda: _same_schema_rate(workdir / "same.sqlite3", seconds)),
    ]
    for r in range(rounds):
        for name, run in contenders if r % 2 == 0 else contenders[::-1]:
            rate, n = run()
            runs[name].append(rate)
            if name in ("journal", "sqlite"):
                total[name == "sqlite"] += n
    journal_rate, sqlite_rate = statistics.median(runs["journal"]), statistics.median(runs["sqlite"])
    same_rate, small_rate = statistics.median(runs["same"]), statistics.median(runs["sqlite_1k"])

    def paired(a: str, b: str) -> float:
        return round(statistics.median(x / y for x, y in zip(runs[a], runs[b], strict=True)), 2)

    return {
        "sqlite_same_schema_per_s": round(same_rate),
        "journal_vs_same_schema": paired("journal", "same"),
        "journal_appends_per_s": round(journal_rate),
        "journal_us_per_append": round(1e6 / journal_rate),
        "sqlite_durable_inserts_per_s": round(sqlite_rate),
        "sqlite_us_per_insert": round(1e6 / sqlite_rate),
        "sqlite_1k_pages_per_s": round(small_rate),
        "journal_vs_sqlite": paired("journal", "sqlite"),
        "journal_vs_sqlite_ratio_of_medians": round(journal_rate / sqlite_rate, 2),
        "journal_vs_sqlite_1k_pages": paired("journal", "sqlite_1k"),
        "runs_per_s": {name: [round(x) for x in rates] for name, rates in runs.items()},
        "rounds": rounds,
        "seconds_per_round": seconds,
        "appends": total[0],
        "inserts": total[1],
        "compares_against": (
            "plain sqlite3 on the same disk, WAL + synchronous=FULL, one INSERT + COMMIT per row with the"
            " journal's columns and UNIQUE id (no secondary indexes), SQLite's defaults otherwise (4 KiB"
            " pages, automatic checkpoints); sqlite_1k: the same with 1 KiB pages; same_schema: plain"
            " sqlite3 writing what an append writes (the journal's file: the entry with its security"
            " intent, its id and two indexes, the sequence). Journal.record: 1 KiB pages, checkpoints in a"
            " thread of their own"
        ),
    }


# ---------------------------------------------------------------- (b) commits per action


DAY = datetime(2026, 3, 2, 9, 0)
POLICIES = ("station", "quiet_spell_only", "record_each", "idle_tick")


async def _station_day(journal: Journal, sessions: int, policy: str, rng: random.Random) -> dict[str, Any]:
    """Simulated seconds, real journal calls. A session: the card is read (the station remembers the card:
    rides along), the patron puts items on the pad as one stack or one at a time; each item is recorded,
    sent (reply after 0.1-0.5 s), settled, and its AFI written and noted (rides along); it is in flight
    from the record until the AFI is noted (`PatronSession.busy`). The session is active from the card to
    the return to the welcome screen, as `Station.session_active` says. Ticks every second
    (StationTiming.tick_interval).

    Records go the station's way (`ExactlyOnce.circulate`): one task per item, each asking
    `GroupCommit.unsettled()` and then `await GroupCommit.record(...)`; a stack's tasks start together,
    as when one pad inventory brings all its items, so they share one group commit. A stack's replies come
    one after another (one SIP2 connection).

    Policies: "station" is what `Station` runs: group commit, `JournalUpkeep.flush_due()` at every tick
    and `flush()` when a session ends. "quiet_spell_only" is the same without the flush at a session's
    end. "record_each" is the previous station: the same upkeep, but every record its own commit
    (`Journal.record` in a worker thread, one item after another). "idle_tick" is the rule before that:
    a commit per record, and every tick with nothing in flight flushes."""
    events: list[tuple[float, int, str, Any]] = []
    order = 0

    def at(t: float, kind: str, data: Any = None) -> None:
        nonlocal order
        events.append((t, order, kind, data))
        order += 1

    t = 0.0
    actions = 0
    for s in range(sessions):
        t += rng.uniform(5, 120)  # the next patron
        at(t, "card", f"card-{s % 40}")
        k = rng.choice([1, 1, 2, 2, 3, 3, 4, 5, 6, 8])
        place = t + rng.uniform(3, 8)
        stack = rng.random() < 0.5
        end = place
        if stack:
            at(place, "records", [(s, i) for i in range(k)])  # one inventory: all items at once
        for i in range(k):
            if not stack and i:
                place += rng.uniform(2, 6)
            if not stack:
                at(place, "records", [(s, i)])
            reply = place + 0.05 * (i if stack else 0) + rng.uniform(0.1, 0.5)  # a stack: in turn
            at(reply, "settle", (s, i))
            at(reply + 0.15, "afi", (s, i))
            end = max(end, reply + 0.15)
            actions += 1
        t = end + rng.uniform(3, 10)  # receipt, goodbye
        at(t, "end")
    for second in range(int(t) + 2):
        at(float(second), "tick")
    events.sort()

    upkeep = JournalUpkeep(journal, purge_after=None)  # the station's rules (kiosk.journal.QUIET_SPELL)
    group = GroupCommit(journal)
    grouped = policy in ("station", "quiet_spell_only")
    ids: dict[tuple[int, int], uuid.UUID] = {}
    in_flight = 0
    in_session = False
    start = journal.commits
    record_commits = 0
    waiting: list[float] = []  # when outcomes still waiting for a commit were settled
    waited: list[float] = []

    async def circulate(now: datetime, key: tuple[int, int]) -> None:
        txn = Transaction.new(now)
        if grouped:
            assert not any(e.item_id == f"item-{key}" for e in await group.unsettled())
            entry = await group.record(txn, Operation.CHECKOUT, f"item-{key}", "p")
        else:
            entry = await asyncio.to_thread(journal.record, txn, Operation.CHECKOUT, f"item-{key}", "p")
        ids[key] = entry.id

    for when, _, kind, data in events:
        now = DAY + timedelta(seconds=when)
        commits = journal.commits
        if kind == "card":
            in_session = True
            journal.remember_card(data, False, now)
        elif kind == "records":
            if grouped:  # the station: a task per item, all started in the same loop turn
                await asyncio.gather(*(circulate(now, key) for key in data))
            else:
                for key in data:
                    await circulate(now, key)
            record_commits += journal.commits - commits
            in_flight += len(data)
        elif kind == "settle":
            journal.settle(ids[data], State.DONE, outcome={"due": "2026-03-30T23:59:00"})
            waiting.append(when)
        elif kind == "afi":
            journal.note_security(ids[data], "e0040150a1b2c3d4", 0xC2, True)
            in_flight -= 1  # circulating and securing are "in flight" for the session (session.busy)
        elif kind == "end":
            in_session = False  # back to the welcome screen
            if policy in ("station", "record_each"):
                upkeep.flush()  # Station.feed: the session is over
        elif kind == "tick":
            active = in_session or in_flight > 0  # Station.session_active
            if policy in ("station", "quiet_spell_only", "record_each"):
                if upkeep.flush_due(now, session_active=active):
                    upkeep.flush()  # Station.journal_upkeep
            elif policy == "idle_tick" and in_flight == 0:
                journal.flush()
        if journal.commits != commits and waiting:
            waited.extend(when - settled for settled in waiting)
            waiting.clear()
    journal.flush()  # the station stops
    commits = journal.commits - start
    stacks = sum(1 for _, _, kind, data in events if kind == "records" and len(data) > 1)
    return {
        "actions": actions,
        "sessions": sessions,
        "stacks_of_2_or_more": stacks,
        "commits": commits,
        "record_commits": record_commits,
        "commits_per_action": round(commits / actions, 3),
        "outcome_wait_s": {
            "median": round(statistics.median(waited), 1),
            "p95": round(statistics.quantiles(waited, n=20)[-1], 1),
            "max": round(max(waited), 1),
        },
    }


async def bench_commits(workdir: Path, sessions: int, cycles: int) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for policy in POLICIES:
        journal = Journal(workdir / f"day-{policy}.sqlite3")
        try:
            result[policy] = await _station_day(journal, sessions, policy, random.Random(2026))
        finally:
            journal.close()
    journal = Journal(workdir / "back-to-back.sqlite3")
    try:
        start = journal.commits
        for n in range(cycles):
            entry = journal.record(Transaction.new(datetime.now()), Operation.CHECKOUT, f"item-{n}", "p")
            journal.settle(entry.id, State.DONE, outcome={"due": "2026-03-30T23:59:00"})
        journal.flush()  # idle at last
        commits = journal.commits - start
    finally:
        journal.close()
    result["back_to_back"] = {
        "actions": cycles,
        "commits": commits,
        "commits_per_action": round(commits / cycles, 3),
    }
    result["quiet_spell_s"] = JournalUpkeep(journal).quiet.total_seconds()
    result["goal"] = "<= 1 commit (fsync) per circulation action"
    result["compares_against"] = (
        "the goal of one fsync per action; station is the station's rule (kiosk.journal.GroupCommit: a"
        " stack's records share one commit; kiosk.journal.JournalUpkeep: outcomes ride along with the next"
        " commit, flushed when a session ends or after a quiet spell with no session), quiet_spell_only"
        " leaves out the flush at a session's end, record_each is the previous station (one commit per"
        " record, same upkeep), idle_tick the rule before it (flush whenever a 1 s tick finds nothing in"
        " flight), back_to_back is record -> settle -> next record with one flush at the end"
    )
    return result


# ---------------------------------------------------------------- (c) replay


def _plan(n: int) -> list[tuple[Operation, str, str]]:
    """Offline checkouts and checkins of demo items for demo patrons, in batches of 25: a batch is lent,
    then returned. Every action is one the library system accepts with no block."""
    items = [it.item_id for it in demo_data.ITEMS if it.item_id != demo_data.LOST_ITEM]
    patrons = [p.card for p in demo_data.PATRONS]
    plan: list[tuple[Operation, str, str]] = []
    batch = 0
    while len(plan) < n:
        chunk = [items[(batch * 25 + k) % len(items)] for k in range(25)]
        for k, item in enumerate(chunk):
            plan.append((Operation.CHECKOUT, item, patrons[(batch * 25 + k) % len(patrons)]))
        plan.extend((Operation.CHECKIN, item, "") for item in chunk)
        batch += 1
    return plan[:n]


def _transactions(plan: list[tuple[Operation, str, str]]) -> list[Transaction]:
    start = datetime.now().replace(microsecond=0) - timedelta(hours=6)
    txns = []
    for i, (operation, _, _) in enumerate(plan):
        at = start + timedelta(seconds=30 * i)
        lent = operation is Operation.CHECKOUT
        due = (at + timedelta(days=28)).replace(hour=23, minute=59) if lent else None
        txns.append(Transaction.new(at, offline=True, due_date=due))
    return txns


def _settings(port: int) -> Sip2Settings:
    user, password = demo_data.KIOSK_LOGIN
    return Sip2Settings(
        host="127.0.0.1",
        port=port,
        user=user,
        password=password,
        location=demo_data.KIOSK_LOCATION,
        institution=demo_data.KIOSK_INSTITUTION,
        library_names=demo_data.LIBRARY_NAMES,
    )


async def _timed(ils_db: Path, run: Callable[[Sip2Circulation], Any]) -> tuple[float, Any, int]:
    async with DemoIls(db_path=ils_db, host="127.0.0.1", port=0) as ils:
        circulation = Sip2Circulation(_settings(ils.port))
        try:
            await circulation.ping()  # logged in before the clock starts
            start = time.perf_counter()
            result = await run(circulation)
            elapsed = time.perf_counter() - start
        finally:
            await circulation.close()
    applied = [t for t in applied_transactions(ils_db) if t.no_block]
    return elapsed, result, len(applied)


async def bench_replay(workdir: Path, n: int) -> dict[str, Any]:
    plan = _plan(n)
    txns = _transactions(plan)
    journal = Journal(workdir / "replay.sqlite3")
    try:
        for (operation, item, patron), txn in zip(plan, txns, strict=True):
            journal.record(txn, operation, item, patron, state=State.QUEUED)
        commits = journal.commits

        async def replay(circulation: Sip2Circulation) -> Any:
            return await Replayer(journal, circulation).sync()

        replay_s, report, replay_applied = await _timed(workdir / "ils-replay.sqlite3", replay)
        replay_commits = journal.commits - commits
        counts = journal.counts()
    finally:
        journal.close()

    async def direct(circulation: Sip2Circulation) -> int:
        ok = 0
        for (operation, item, patron), txn in zip(plan, txns, strict=True):
            if operation is Operation.CHECKOUT:
                ok += (await circulation.checkout(patron, item, txn)).ok
            else:
                ok += (await circulation.checkin(item, txn)).ok
        return ok

    direct_s, direct_ok, direct_applied = await _timed(workdir / "ils-direct.sqlite3", direct)

    all_done = counts == {"done": n} and report.replayed == n and not report.conflicts
    assert all_done, (counts, report)
    assert replay_applied == n and direct_applied == n == direct_ok, (replay_applied, direct_applied)
    return {
        "entries": n,
        "checkouts": sum(1 for op, _, _ in plan if op is Operation.CHECKOUT),
        "checkins": sum(1 for op, _, _ in plan if op is Operation.CHECKIN),
        "replay_seconds": round(replay_s, 3),
        "replay_transactions_per_s": round(n / replay_s),
        "journal_commits_during_replay": replay_commits,
        "all_done": all_done,
        "applied_once_by_library_system": replay_applied == n,
        "direct_transactions_per_s": round(n / direct_s),
        "replay_vs_direct": round(direct_s / replay_s, 2),
        "compares_against": (
            "the same actions sent straight through Sip2Circulation (no journal, no mark_replaying"
            " commit) to a fresh demo library system on the same loopback; both include the demo"
            " ILS's own SQLite commit per request"
        ),
    }


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a small run (a few seconds)")
    parser.add_argument("--appends-only", action="store_true", help="only (a), the durable appends")
    args = parser.parse_args()
    seconds, rounds, sessions, cycles, replay_n = (
        (0.3, 2, 20, 50, 40) if args.quick else (0.5, 16, 200, 300, 300)
    )
    base = ROOT / ".bench-tmp"
    created_base = not base.exists()
    base.mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="journal-", dir=base))
    try:
        result = {
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "machine": platform.machine(),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "bench_dir": str(base),
            "quick": args.quick,
            "load_average": os.getloadavg(),
            "appends": bench_appends(workdir, seconds, rounds),
            "appends_alternating": bench_appends_alternating(workdir, seconds * rounds),
        }
        if not args.appends_only:
            result["commits_per_action"] = asyncio.run(bench_commits(workdir, sessions, cycles))
            result["replay"] = asyncio.run(bench_replay(workdir, replay_n))
        result["load_average_after"] = os.getloadavg()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if created_base:
            shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
