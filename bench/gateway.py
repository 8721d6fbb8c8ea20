"""Gateway benchmarks, printed as JSON (not a timed test). Everything runs on loopback: the demo ILS in its
own process (behind a FaultyLink that delays every reply when the library system is "far away"), the
gateway under uvicorn on SQLite in another, the kiosks in this one.

(a) stacks: lending 10 items as one stack through the gateway, against the same 10 items as 10 sequential
    SIP2 calls straight to the library system (how a kiosk worked before), with the library system 0, 50
    and 200 ms away; and one item through the gateway (the named reference for "a stack of 10 within
    1.5x of one item") and one item over SIP2-direct (the gateway's overhead). Interleaved rounds, medians.
(b) load: N simulated kiosks, each with its own connection and its own patron and item, one circulation
    action per second (checkout, then checkin, ...), over SIP2-direct (one SIP2 connection per kiosk) and
    through each gateway variant (`--variants`, the first being the named reference; `baseline` runs
    an older tree of the code given with `--baseline`), all served at once, in interleaved phases:
    latency percentiles, errors, and each gateway's CPU time per action (from /proc).

Run: .venv/bin/python bench/gateway.py [--kiosks 50,100,200] [--seconds 15] [--rounds 5] [--only load]
     [--variants baseline,sqlite-pool32,pg-2workers --baseline /var/tmp/base]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server_api.circulation import Circulation, Transaction  # noqa: E402
from server_api.client import GatewaySettings, HttpCirculation  # noqa: E402
from server_api.demo_ils import create_database  # noqa: E402
from server_api.demo_ils.data import ACCOUNTS, TROMSO  # noqa: E402
from server_api.gateway.demo import write_demo_config  # noqa: E402
from server_api.sip2 import Sip2Circulation, Sip2Settings  # noqa: E402
from tests.gateway.servers import GatewayProcess, enroll, free_port, make_gateway_config, postgres  # noqa: E402

ILS_SCRIPT = """
import sys
from pathlib import Path
from tests.gateway.servers import ThreadedIls
with ThreadedIls(Path(sys.argv[1]), delay=float(sys.argv[2])) as ils:
    print(ils.port, flush=True)
    sys.stdin.read()
"""
PIN = "0000"
LIMITS = (
    "device_requests_per_minute = 100000\nenrollments_per_minute = 10000\ncard_lookups_per_minute = 10000"
)


def bench_database(path: Path, kiosks: int) -> None:
    """The demo database plus one patron and ten items per simulated kiosk."""
    create_database(path)
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO patrons (card, name, pin, home, category, blocked, fees, language)"
            " VALUES (?, ?, ?, ?, 'adult', '', '0.00', '000')",
            [(patron(k), f"Bench {k}", PIN, TROMSO) for k in range(kiosks)],
        )
        db.executemany(
            "INSERT INTO items (item_id, title, author, media, parts, owner, home, location)"
            " VALUES (?, ?, 'Bench', 'book', 1, ?, ?, ?)",
            [
                (item(k, i), f"Bench {k}.{i}", TROMSO, TROMSO, TROMSO)
                for k in range(kiosks)
                for i in range(10)
            ],
        )


def patron(kiosk: int) -> str:
    return f"9990{kiosk:08d}"


def item(kiosk: int, n: int) -> str:
    return f"99{kiosk:06d}{n:06d}"


@contextlib.contextmanager
def ils_process(db: Path, delay: float) -> Iterator[tuple[int, int]]:
    """The demo ILS in its own process: its port and its pid."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", ILS_SCRIPT, str(db), str(delay)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, env=env, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        yield int(process.stdout.readline()), process.pid
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(15)


@contextlib.contextmanager
def site(folder: Path, delay: float, kiosks: int, pool_size: int) -> Iterator[tuple[int, GatewayProcess]]:
    folder.mkdir(parents=True, exist_ok=True)
    bench_database(folder / "ils.sqlite", kiosks)
    with ils_process(folder / "ils.sqlite", delay) as (port, _):
        config = make_gateway_config(
            folder / "gw",
            port,
            "sqlite:///gateway.sqlite",
            pool_size=pool_size,
            sip2_timeout=10.0,
            extra_limits=LIMITS,
        )
        gateway = GatewayProcess(config).start()
        try:
            yield port, gateway
        finally:
            gateway.stop()


def direct(port: int, pool_size: int = 1) -> Sip2Circulation:
    user, password, _ = ACCOUNTS[0]
    settings = Sip2Settings(
        "127.0.0.1",
        port,
        user,
        password,
        location=TROMSO,
        institution=TROMSO,
        pool_size=pool_size,
        timeout=10,
    )
    return Sip2Circulation(settings)


def txn() -> Transaction:
    return Transaction.new(datetime.now().replace(microsecond=0))


# -- (a) stacks ----------------------------------------------------------------------------------------


async def stack_round(gateway: HttpCirculation, sip2: Sip2Circulation, items: list[str]) -> dict[str, float]:
    card = patron(0)

    async def timed(action: Callable[[], Awaitable[Any]]) -> float:
        started = time.perf_counter()
        await action()
        return (time.perf_counter() - started) * 1000

    async def sequential() -> None:
        for one in items:
            await sip2.checkout(card, one, txn())

    async def back() -> None:
        await gateway.checkin_many([(one, txn()) for one in items])

    variants: dict[str, Callable[[], Awaitable[Any]]] = {
        "gateway_one_item": lambda: gateway.checkout(card, items[0], txn()),
        "gateway_stack_of_10": lambda: gateway.checkout_many(card, [(one, txn()) for one in items]),
        "sip2_direct_10_sequential": sequential,
        "sip2_direct_one_item": lambda: sip2.checkout(card, items[0], txn()),
    }
    order = list(variants)
    random.shuffle(order)
    times = {}
    for name in order:
        times[name] = await timed(variants[name])
        await back()
    return times


async def stacks(folder: Path, delay: float, rounds: int) -> dict[str, Any]:
    with site(folder, delay, kiosks=1, pool_size=10) as (port, gateway_process):
        token = enroll(gateway_process.url, gateway_process.config_path, TROMSO, "Bench stack")
        gateway = HttpCirculation(GatewaySettings(gateway_process.url, token=token, timeout=60))
        sip2 = direct(port)
        items = [item(0, n) for n in range(10)]
        try:
            await stack_round(gateway, sip2, items)  # warm: connections open, pools full
            samples = [await stack_round(gateway, sip2, items) for _ in range(rounds)]
        finally:
            await gateway.close()
            await sip2.close()
    medians = {name: round(statistics.median(s[name] for s in samples), 1) for name in samples[0]}
    return {
        "library_system_ms_away": round(delay * 1000),
        "median_ms": medians,
        "stack_of_10_over_one_item": round(medians["gateway_stack_of_10"] / medians["gateway_one_item"], 2),
        "sequential_10_over_stack_of_10": round(
            medians["sip2_direct_10_sequential"] / medians["gateway_stack_of_10"], 2
        ),
        "gateway_overhead_one_item_ms": round(
            medians["gateway_one_item"] - medians["sip2_direct_one_item"], 1
        ),
    }


# -- (b) many kiosks -------------------------------------------------------------------------------------


async def kiosk_loop(
    k: int, circulation: Circulation, seconds: float, latencies: list[float], errors: list[str]
) -> None:
    card, book = patron(k), item(k, 0)
    await asyncio.sleep(random.random())
    deadline, borrowed = time.monotonic() + seconds, False
    while time.monotonic() < deadline:
        tick = time.monotonic()
        try:
            if borrowed:
                outcome: Any = await circulation.checkin(book, txn())
            else:
                outcome = await circulation.checkout(card, book, txn())
            borrowed = not borrowed if outcome.ok else borrowed
            if not outcome.ok:
                errors.append(f"refused: {outcome.reason}")
        except Exception as exc:  # counted, not fatal: the load goes on
            errors.append(type(exc).__name__)
        latencies.append((time.monotonic() - tick) * 1000)
        await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))


async def load_phase(clients: list[Circulation], seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    started = time.monotonic()
    await asyncio.gather(*(kiosk_loop(k, c, seconds, latencies, errors) for k, c in enumerate(clients)))
    elapsed = time.monotonic() - started
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 1)

    return {
        "requests": len(latencies),
        "per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "max_ms": round(ordered[-1], 1),
        "errors": len(errors),
        "error_kinds": sorted(set(errors))[:5],
    }


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its live descendants, from /proc: a cost per action that
    other people's load on the machine hardly changes, unlike the latencies."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += cpu_seconds(int(child))
    except (OSError, IndexError, ValueError):  # a process that just ended
        pass
    return total


def postmaster(pg: Any) -> int | None:
    """The PostgreSQL server's pid (its backends are its children)."""
    if pg is None:
        return None
    return int((pg.data / "postmaster.pid").read_text().split()[0])


@dataclass(frozen=True)
class Variant:
    """One way of serving the kiosks in the load phases (the first is the named reference)."""

    name: str
    database: str = "sqlite"  # sqlite | postgres
    workers: int = 1
    pool_size: int = 8
    tree: Path = ROOT  # a source tree: the baseline is the code before the change, unpacked by git archive


@contextlib.contextmanager
def serving(variant: Variant, folder: Path, ils_port: int, pg: Any) -> Iterator[tuple[str, Path, int]]:
    """`kiosk-gateway serve` of `variant`'s tree on a free port; yields its URL and configuration."""
    folder.mkdir(parents=True, exist_ok=True)
    database = pg.create_database(f"bench_{folder.name}") if variant.database == "postgres" else (
        "sqlite:///gateway.sqlite"
    )  # fmt: skip
    config = write_demo_config(
        folder, ils_port=ils_port, database=database, pool_size=variant.pool_size, sip2_timeout=10.0,
        extra_limits=LIMITS,
    )  # fmt: skip
    port = free_port()
    log = (folder / "gateway.log").open("ab")
    env = {**os.environ, "PYTHONPATH": str(variant.tree)}
    migrate = [sys.executable, "-m", "server_api.gateway", "--config", str(config), "migrate"]
    subprocess.run(migrate, cwd=variant.tree, env=env, check=True, stdout=log, stderr=subprocess.STDOUT)
    process = subprocess.Popen(
        [sys.executable, "-m", "server_api.gateway", "--config", str(config), "serve", "--port", str(port),
         "--log-level", "warning", *(["--workers", str(variant.workers)] if variant.workers > 1 else [])],
        cwd=variant.tree, stdout=log, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"{variant.name}: the gateway did not start; see {folder / 'gateway.log'}")
        yield url, config, process.pid
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


async def load(
    folder: Path, kiosks: int, seconds: float, phases: int, variants: list[Variant]
) -> dict[str, Any]:
    """Interleaved phases: SIP2-direct, then each variant, in a rotated order every phase."""
    folder.mkdir(parents=True, exist_ok=True)
    bench_database(folder / "ils.sqlite", kiosks)
    on_postgres = {v.name for v in variants if v.database == "postgres"}
    with contextlib.ExitStack() as stack:
        port, ils_pid = stack.enter_context(ils_process(folder / "ils.sqlite", 0.0))
        pg = stack.enter_context(postgres()) if any(v.database == "postgres" for v in variants) else None
        clients: dict[str, list[Circulation]] = {"sip2_direct": [direct(port) for _ in range(kiosks)]}
        pids: dict[str, int] = {}
        for variant in variants:
            url, config, pids[variant.name] = stack.enter_context(
                serving(variant, folder / variant.name, port, pg)
            )
            tokens = [enroll(url, config, TROMSO, f"Bench kiosk {k}") for k in range(kiosks)]
            clients[variant.name] = [
                HttpCirculation(GatewaySettings(url, token=t, timeout=30)) for t in tokens
            ]
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in clients}
        names = list(clients)
        try:
            for phase in range(phases):
                for name in names[phase % len(names) :] + names[: phase % len(names)]:
                    await reset(clients[name], kiosks)
                    database = postmaster(pg) if name in on_postgres else None
                    watched = (pids.get(name), database, ils_pid)
                    before = [cpu_seconds(p) if p else 0.0 for p in watched] + [time.process_time()]
                    phase_result = await load_phase(clients[name], seconds)
                    after = [cpu_seconds(p) if p else 0.0 for p in watched] + [time.process_time()]
                    per = 1000 / max(1, phase_result["requests"])
                    for n, part in enumerate(("gateway", "database", "ils", "kiosks")):
                        phase_result[f"{part}_cpu_ms_per_action"] = round((after[n] - before[n]) * per, 2)
                    results[name].append(phase_result)
        finally:
            for group in clients.values():
                for client in group:
                    await client.close()
    return {
        "kiosks": kiosks,
        "actions_per_kiosk_per_second": 1,
        "seconds_per_phase": seconds,
        "reference": variants[0].name,
        "variants": {
            v.name: {
                "database": v.database,
                "workers": v.workers,
                "pool_size": v.pool_size,
                "tree": str(v.tree),
            }
            for v in variants
        },
        "phases": results,
        "median": {
            name: {
                key: round(statistics.median(p[key] for p in runs), 1)
                for key in (
                    "per_second",
                    "p50_ms",
                    "p99_ms",
                    "errors",
                    "gateway_cpu_ms_per_action",
                    "database_cpu_ms_per_action",
                    "ils_cpu_ms_per_action",
                    "kiosks_cpu_ms_per_action",
                )
                if key in runs[0]
            }
            for name, runs in results.items()
        },
    }


async def reset(clients: list[Circulation], kiosks: int) -> None:
    """Every kiosk's item back on the shelf before a phase."""
    await asyncio.gather(*(clients[k].checkin(item(k, 0), txn()) for k in range(kiosks)))


VARIANTS = {
    "sqlite-pool8": Variant("sqlite-pool8"),
    "sqlite-pool32": Variant("sqlite-pool32", pool_size=32),
    "pg-1worker": Variant("pg-1worker", database="postgres", pool_size=32),
    "pg-2workers": Variant("pg-2workers", database="postgres", workers=2, pool_size=16),
}


def variants_of(names: str, baseline: Path | None) -> list[Variant]:
    chosen = []
    for name in names.split(","):
        if name == "baseline":
            if baseline is None:
                raise SystemExit("the variant 'baseline' needs --baseline TREE (git archive of the old code)")
            chosen.append(Variant("baseline", tree=baseline.resolve()))
        elif name in VARIANTS:
            chosen.append(VARIANTS[name])
        else:
            raise SystemExit(f"unknown variant {name!r}: baseline, {', '.join(VARIANTS)}")
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiosks", default="200", help="comma-separated: one load run per count")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--phases", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--delays", default="0,0.05,0.2", help="stacks: the library system's delays (s)")
    parser.add_argument("--only", choices=["stacks", "load"], help="run one part")
    parser.add_argument(
        "--variants",
        default="sqlite-pool8,pg-2workers",
        help="load: how the gateway is served, the first being the reference: baseline (the --baseline "
        f"tree, SQLite, pool 8), {', '.join(VARIANTS)}",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a source tree of the code to compare with, e.g. mkdir /var/tmp/base && "
        "git archive HEAD~3 server_api tests kiosk drivers | tar -x -C /var/tmp/base",
    )
    args = parser.parse_args()
    # Stopped (timeout, kill): unwind, so that the gateways, the library system and PostgreSQL stop too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    folder = Path(tempfile.mkdtemp(prefix="bench-gateway-", dir="/var/tmp"))
    variants = variants_of(args.variants, args.baseline)
    loads_before = [round(x, 1) for x in os.getloadavg()]

    async def run() -> dict[str, Any]:
        result: dict[str, Any] = {}
        if args.only != "load":
            result["stacks"] = [
                await stacks(folder / f"stack-{d}", float(d), args.rounds) for d in args.delays.split(",")
            ]
        if args.only != "stacks":
            result["load"] = []
            for n in args.kiosks.split(","):
                result["load"].append(
                    await load(folder / f"load-{n}", int(n), args.seconds, args.phases, variants)
                )
                print(json.dumps({"kiosks": int(n), "median": result["load"][-1]["median"]}), file=sys.stderr)
        return result

    try:
        result = asyncio.run(run())
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # databases of simulated kiosks: nothing worth keeping
    result["machine"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_1_5_15_before": loads_before,
        "load_average_1_5_15_after": [round(x, 1) for x in os.getloadavg()],
        "sqlite": "WAL, synchronous=FULL",
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
