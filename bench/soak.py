"""Soak: 1,000 patron visits through the real station; memory, file descriptors, threads and the journal
must stay flat (issue 11, finding 10: the station's RSS grew by ~18 KB a visit). Prints one JSON object;
not a timed test.

The station is built the way `kiosk demo` builds it (`kiosk.demo.DemoEnvironment`: the simulated pad, the
real journal, `Sip2Circulation` SIP2-direct with its pool, the staff-task observer, the printer's status
polls). The demo library system runs in its own process (SIP2 over TCP on loopback), and so does the
receipt printer with `--printer escpos` (the default: the real ESC/POS driver over TCP to the simulated
printer, `drivers.printer.escpos_sim`, which keeps every receipt it printed: in this process it would be
counted as the station's). `--printer file` prints with the file printer (`FilePrinter`, receipts as PNG
and text, deleted after `keep`); `--printer demo` with the demo's own printer, as `kiosk demo` does.

A visit: the patron's card on the pad, the PIN, a return of the two items the same patron borrowed last
time, a loan of two more, a printed receipt, goodbye. Five patrons take turns; returned items go back on
the shelf for later visits, so the library system's state stays the same size.

Measured in this process (the station and the scripted patrons), after `gc.collect()`, every `--every`
visits: RSS (VmRSS, /proc/self/status), open file descriptors (/proc/self/fd), threads, the journal's
size (file and WAL) and the receipts folder's files.

The reference, in the same run and interleaved: after each block of `--every` visits the station stands
idle (heartbeat, idle probe, printer polls, no patron) for `--idle-ratio` of the time the block took. So
memory the station gains with time, not with visits, shows as `idle_kb_per_minute`, and the verdict is on
the visit blocks only: `kb_per_visit` is the least-squares slope of RSS over the visits after warm-up
(`--warm-up` visits, default 100: caches, pools and the allocator's arenas fill first); the goal is < 2.

`--trace`: tracemalloc from the end of warm-up; the top growth by line at the end (`top_growth`), to find
what grows. Slower, and it inflates RSS itself: use it to find a leak, not for the figure.

Run: .venv/bin/python bench/soak.py [--visits 1000] [--every 100] [--printer escpos|file|demo] [--trace]
(`make soak`). Figures: docs/PERFORMANCE.md, "Soak".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stack import ils_process, lendable
from drivers.printer import Printer, open_printer
from drivers.printer.file_printer import FilePrinter
from drivers.printer.settings import Connection, PrinterSettings
from kiosk.core import Action, SessionPolicy
from kiosk.demo import DemoEnvironment, finish_visit, handle_stack, log_in
from server_api.demo_ils import data as demo

ROOT = Path(__file__).resolve().parent.parent
PATRONS = [p for p in demo.PATRONS if p.home == demo.TROMSO and p.category == "adult" and not p.blocked][:5]
ITEMS_PER_VISIT = 2


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


_MALLINFO2 = ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks")


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (*_MALLINFO2, "keepcost")]


_LIBC = ctypes.CDLL(None)
_LIBC.mallinfo2.restype = _MallInfo2
_SQLITE = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")
_SQLITE.sqlite3_memory_used.restype = ctypes.c_int64


def malloc_kb() -> int:
    """What the C heap holds for the program (glibc's mallinfo2: in use, plus mmapped blocks): RSS above
    it is pages malloc keeps but does not use (fragmentation)."""
    info = _LIBC.mallinfo2()
    return int((info.uordblks + info.hblkhd) // 1024)


def sqlite_kb() -> int:
    """SQLite's own heap in this process (the journal's page cache, bounded by its cache_size)."""
    return int(_SQLITE.sqlite3_memory_used() // 1024)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def journal_bytes(workdir: Path) -> int:
    return sum(p.stat().st_size for p in workdir.glob("journal.sqlite3*") if p.is_file())


@dataclass
class Sample:
    visits: int
    kind: str  # "visits": after a block of visits; "idle": after the idle spell that follows it
    seconds: float  # since the start
    rss_kb: int
    malloc_kb: int
    sqlite_kb: int
    python_blocks: int
    fds: int
    threads: int
    journal_kb: float
    receipt_files: int

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class Soak:
    workdir: Path
    started: float = field(default_factory=time.monotonic)
    samples: list[Sample] = field(default_factory=list)

    def sample(self, visits: int, kind: str) -> Sample:
        gc.collect()
        receipts = self.workdir / "receipts"
        sample = Sample(
            visits=visits,
            kind=kind,
            seconds=round(time.monotonic() - self.started, 1),
            rss_kb=rss_kb(),
            malloc_kb=malloc_kb(),
            sqlite_kb=sqlite_kb(),
            python_blocks=sys.getallocatedblocks(),
            fds=open_fds(),
            threads=threading.active_count(),
            journal_kb=round(journal_bytes(self.workdir) / 1024, 1),
            receipt_files=sum(1 for _ in receipts.iterdir()) if receipts.exists() else 0,
        )
        self.samples.append(sample)
        print(json.dumps({"progress": sample.as_dict()}), file=sys.stderr, flush=True)
        return sample


@contextlib.contextmanager
def printer_process() -> Iterator[int]:
    """The simulated ESC/POS printer on TCP in its own process; yields its port."""
    code = (
        "import time; from drivers.printer.escpos_sim import SimulatedEscposPrinter;"
        " sim = SimulatedEscposPrinter(tcp_port=0).start(); print(sim.port, flush=True);"
        " [time.sleep(3600) for _ in iter(int, 1)]"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield int(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.wait(10)


def make_printer(kind: str, workdir: Path, port: int | None) -> Printer | None:
    if kind == "demo":
        return None  # DemoEnvironment's own
    if kind == "file":
        return FilePrinter(workdir / "receipts")
    assert port is not None
    settings = PrinterSettings(
        connection=Connection.NETWORK, host="127.0.0.1", port=port, code_pages=("CP865", "CP1252")
    )
    return open_printer(settings)


class Visits:
    """Five patrons take turns; each returns what they borrowed last time and borrows two more."""

    def __init__(self, shelf: list[str]) -> None:
        self.shelf = deque(shelf)
        self.holding: dict[str, list[str]] = {p.card: [] for p in PATRONS}

    async def one(self, env: DemoEnvironment, number: int) -> None:
        patron = PATRONS[number % len(PATRONS)]
        if not await log_in(env, patron.card, patron.pin):
            raise RuntimeError(f"visit {number}: the library system did not answer the login")
        returns = self.holding[patron.card]
        if returns:
            await handle_stack(env, Action.RETURN, returns)
            self.shelf.extend(returns)
        borrows = [self.shelf.popleft() for _ in range(ITEMS_PER_VISIT)]
        screen = await handle_stack(env, Action.BORROW, borrows)
        lent = {row.item_id for row in screen.rows if row.state.value == "done"}
        if set(borrows) - lent:
            raise RuntimeError(f"visit {number}: {sorted(set(borrows) - lent)} were not lent")
        self.holding[patron.card] = borrows
        await finish_visit(env, receipt=True)


def traced_growth(end: tracemalloc.Snapshot, start: tracemalloc.Snapshot) -> list[dict[str, Any]]:
    """What the Python heap gained between the snapshots: the total, by file, and the top tracebacks."""
    by_file = end.compare_to(start, "filename")
    growth: list[dict[str, Any]] = [
        {"total_kb": round(sum(stat.size_diff for stat in by_file) / 1024, 1)},
        *(
            {"file": str(stat.traceback[0].filename), "kb": round(stat.size_diff / 1024, 1)}
            for stat in by_file[:8]
        ),
    ]
    for stat in end.compare_to(start, "traceback")[:12]:
        where = [str(line) for line in stat.traceback.format()[-6:]]
        growth.append({"kb": round(stat.size_diff / 1024, 1), "count": stat.count_diff, "where": where})
    return growth


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x."""
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in points) / den if den else 0.0


def verdict(samples: list[Sample], warm_up: int, visits: int, goal: float) -> dict[str, Any]:
    after = [s for s in samples if s.kind == "visits" and s.visits >= warm_up]
    per_visit = slope([(s.visits, s.rss_kb) for s in after])
    # The reference: what an idle spell of the same run did to RSS, per minute of idling.
    idle_kb, idle_s = 0.0, 0.0
    for before, idle in itertools.pairwise(samples):
        if idle.kind == "idle" and before.kind == "visits" and before.visits >= warm_up:
            idle_kb += idle.rss_kb - before.rss_kb
            idle_s += idle.seconds - before.seconds
    first, last = after[0] if after else samples[0], samples[-1]
    return {
        "kb_per_visit": round(per_visit, 2),
        "goal_kb_per_visit": goal,
        "within_goal": per_visit < goal,
        "rss_kb_after_warm_up": first.rss_kb,
        "rss_kb_at_end": last.rss_kb,
        "idle_kb_per_minute": round(idle_kb / idle_s * 60, 1) if idle_s else None,
        "fds_after_warm_up": first.fds,
        "fds_at_end": last.fds,
        "threads_after_warm_up": first.threads,
        "threads_at_end": last.threads,
        "journal_kb_per_visit": round(
            (last.journal_kb - first.journal_kb) / max(1, last.visits - first.visits), 2
        ),
        "receipt_files_at_end": last.receipt_files,
        "visits": visits,
        "seconds": last.seconds,
        "seconds_per_visit": round(
            sum(b.seconds - a.seconds for a, b in itertools.pairwise(samples) if b.kind == "visits")
            / max(1, visits),
            3,
        ),
    }


async def soak(
    args: argparse.Namespace, workdir: Path, ils_port: int, shelf: list[str], printer_port: int | None
):
    env = DemoEnvironment(
        workdir,
        ils_address=("127.0.0.1", ils_port),
        policy=SessionPolicy(goodbye_time=timedelta(0)),
        poll_interval=0.02,
        tick_interval=0.2,
        receipt_printer=make_printer(args.printer, workdir, printer_port),
    )
    plan = Visits(shelf)
    book = Soak(workdir)
    top: list[dict[str, Any]] = []
    async with env:
        assert env.station is not None
        await env.station.settle()
        book.sample(0, "visits")
        done = 0
        while done < args.visits:
            block_start = time.monotonic()
            for _ in range(min(args.every, args.visits - done)):
                await plan.one(env, done)
                done += 1
            book.sample(done, "visits")
            if args.trace and done == args.warm_up:
                tracemalloc.start(10)
                baseline = tracemalloc.take_snapshot()
            await asyncio.sleep((time.monotonic() - block_start) * args.idle_ratio)
            book.sample(done, "idle")
        if args.trace and tracemalloc.is_tracing():
            top = traced_growth(tracemalloc.take_snapshot(), baseline)
            tracemalloc.stop()
    return book.samples, top


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--visits", type=int, default=1000)
    parser.add_argument("--every", type=int, default=100, help="visits between samples (default 100)")
    parser.add_argument("--warm-up", type=int, default=100, help="visits before the slope counts")
    parser.add_argument("--idle-ratio", type=float, default=0.25, help="idle spell / block time")
    parser.add_argument("--printer", choices=("escpos", "file", "demo"), default="escpos")
    parser.add_argument("--goal", type=float, default=2.0, help="KB per visit (issue 11)")
    parser.add_argument("--trace", action="store_true", help="tracemalloc: what grew after warm-up")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        workdir = Path(tmp)
        with ils_process(workdir) as (ils_port, ils_db), contextlib.ExitStack() as stack:
            printer_port = stack.enter_context(printer_process()) if args.printer == "escpos" else None
            shelf = lendable(ils_db, len(PATRONS) * ITEMS_PER_VISIT * 2 + ITEMS_PER_VISIT)
            samples, top = asyncio.run(soak(args, workdir / "station", ils_port, shelf, printer_port))
    result = {
        "bench": "soak",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "printer": args.printer,
        "traced": args.trace,
        **verdict(samples, args.warm_up, args.visits, args.goal),
        "reference": "idle spells of the same run, interleaved (idle_kb_per_minute)",
        "samples": [s.as_dict() for s in samples],
        **({"top_growth": top} if args.trace else {}),
    }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
