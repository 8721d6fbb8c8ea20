"""The patron screen's cost (issue 15, "render less"): cold start, memory and CPU per visit, under Xvfb.

Printed as one JSON object (not a timed test). Everything runs in its own process on one private Xvfb
(software GL, as in the UI tests), started the same way: `python bench/ui.py --child KIND ...`.

Cold start (interleaved rounds, the order alternating each round so both see the same machine weather):
- reference: a minimal Kivy app (one Label) from process start to its first frame on screen;
- kiosk: `kiosk run --windowed`'s path: the station file loaded and checked, `build_station` (SIP2 to the
  demo library system, which runs in a process of its own started once), `station.start()` begun and
  `KioskApp.run_beside` it: the window opens (on the starting screen, if it has not ended) beside it, from
  process start to the first frame showing the welcome screen (what READY waits for).
Reported: medians and kiosk/reference (the issue's goal: at most 1.3), and the same for the kiosk's first
frame of any screen (the starting screen).

Soak: V patron visits through the real station (card on the pad, PIN, 3 books borrowed; the next visit
returns them; no receipt), with the window (`KioskApp`) and, as the reference, the same station headless.
RSS (VmRSS, after gc) is read after a warm-up of W visits and at the end: KB per visit = growth / (V - W)
(the issue's goal: under 5 KB per visit over 1,000 visits). CPU seconds per visit over the same span;
the window's minus the headless station's is what drawing the screens costs. `renders` and `rows_built`
per visit count what the app built (`KioskApp.stats`).

With `--before DIR` (a checkout of another commit, e.g. `git archive`d), its kiosk and UI run in the same
interleaved rounds (cold start: the kiosk of a checkout without `KioskApp.run_beside` starts the station
before the window, as `kiosk run` did) and in the soak.

Run: .venv/bin/python bench/ui.py [--rounds 7] [--visits 1000] [--warmup 100] [--quick] [--before DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CODE = "BENCH_UI_CODE"  # another checkout whose kiosk and ui the children run ("before" figures)
sys.path.insert(0, os.environ.get(CODE) or str(ROOT))

SIZE = (1280, 800)
START = "BENCH_UI_STARTED"  # the parent's monotonic clock at Popen, for the child's own report


# ---------------------------------------------------------------------------------------------- parent


@contextlib.contextmanager
def xvfb(size: tuple[int, int] = SIZE) -> Iterator[str]:
    """A private Xvfb (`tests/ui/xvfb.py`, as the UI tests use); yields its DISPLAY."""
    if shutil.which("Xvfb") is None:
        raise SystemExit("Xvfb is not installed (apt-get install xvfb)")
    # here, not at the top: a child may run another checkout's code (BENCH_UI_CODE), without this module
    from tests.ui.xvfb import XvfbFailed, private_xvfb

    try:
        with private_xvfb(size) as display:
            yield display
    except XvfbFailed as failed:
        raise SystemExit(str(failed)) from failed


def child(
    kind: str, display: str, workdir: Path, *args: str, timeout: float = 1800, code: str = ""
) -> dict[str, Any]:
    """Run `bench/ui.py --child KIND` and return its JSON line, with `wall` from Popen to its READY."""
    env = {
        **os.environ,
        "DISPLAY": display,
        "KIVY_NO_ARGS": "1",
        "KIVY_NO_CONSOLELOG": "1",
        "KIVY_NO_FILELOG": "1",
        "KIVY_HOME": str(workdir / "kivy-home"),
        "PYTHONPATH": code or str(ROOT),
        CODE: code,
    }
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", kind, str(workdir), *args],
        env={**env, START: repr(started)},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    ready = frame = None
    report: dict[str, Any] = {}
    deadline = started + timeout
    for line in proc.stdout:
        if line.startswith("FRAME") and frame is None:
            frame = time.monotonic() - started
        if line.startswith("READY") and ready is None:
            ready = time.monotonic() - started
        elif line.startswith("{"):
            report = json.loads(line)
        if time.monotonic() > deadline:
            proc.kill()
            break
    proc.wait(60)
    if not report:
        raise RuntimeError(f"bench child {kind} failed:\n{proc.stderr.read()[-3000:] if proc.stderr else ''}")
    report["wall"], report["first_frame"] = ready, frame if frame is not None else ready
    return report


def cold_start(display: str, workdir: Path, rounds: int, ils_port: int, before: str = "") -> dict[str, Any]:
    """Interleaved rounds, the order turning each round; with `before`, the kiosk of that checkout too."""
    kinds = ["reference", "kiosk", *(["kiosk_before"] if before else [])]
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    first_frames: list[float] = []
    phases: dict[str, list[dict[str, float]]] = {"reference": [], "kiosk": [], "kiosk_before": []}
    for n in range(rounds):
        for kind in kinds[n % len(kinds) :] + kinds[: n % len(kinds)]:
            args = (str(ils_port),) if kind != "reference" else ()
            code = before if kind == "kiosk_before" else ""
            child_kind = "kiosk" if kind == "kiosk_before" else kind
            report = child(child_kind, display, workdir / f"cold-{n}-{kind}", *args, timeout=120, code=code)
            times[kind].append(report["wall"])
            if "phases_s" in report:
                phases[kind].append(report["phases_s"])
            if kind == "kiosk":
                first_frames.append(report["first_frame"])
    reference = statistics.median(times["reference"])
    found: dict[str, Any] = {"rounds": rounds, "reference_s": round(reference, 3)}
    for kind in kinds[1:]:
        median = statistics.median(times[kind])
        found[f"{kind}_s"] = round(median, 3)
        found["ratio" if kind == "kiosk" else "ratio_before"] = round(median / reference, 2)
    found["kiosk_first_frame_s"] = round(statistics.median(first_frames), 3)
    found["first_frame_ratio"] = round(statistics.median(first_frames) / reference, 2)
    for kind in kinds:
        found[f"{kind}_all_s"] = [round(t, 3) for t in times[kind]]
    found["kiosk_first_frame_all_s"] = [round(t, 3) for t in first_frames]
    for kind, measured in phases.items():
        if measured:
            keys = [k for k in measured[0] if all(k in p for p in measured)]
            found[f"{kind}_phases_median_s"] = {
                k: round(statistics.median(p[k] for p in measured), 3) for k in keys
            }
    return found


def soak(
    display: str, workdir: Path, visits: int, warmup: int, ils_port: int, before: str = ""
) -> dict[str, Any]:
    found = {}
    for kind in ("headless", "window"):
        found[kind] = child(kind + "-soak", display, workdir / kind, str(ils_port), str(visits), str(warmup))
    if before:  # the same soak with the UI of another checkout (e.g. a worktree at the commit before)
        args = (str(ils_port), str(visits), str(warmup))
        found["window_before"] = child("window-soak", display, workdir / "before", *args, code=before)
    window, headless = found["window"], found["headless"]
    found["window_minus_headless_cpu_s_per_visit"] = round(
        window["cpu_s_per_visit"] - headless["cpu_s_per_visit"], 4
    )
    found["window_minus_headless_kb_per_visit"] = round(window["kb_per_visit"] - headless["kb_per_visit"], 2)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--visits", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="3 rounds, 60 visits: a smoke run")
    parser.add_argument("--only", choices=("cold", "soak"), help="one part only")
    parser.add_argument("--before", default="", help="also the kiosk and ui of this checkout (cold, soak)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return run_child(args.child)
    if args.quick:
        args.rounds, args.visits, args.warmup = 3, 60, 20
    from bench.stack import ils_process

    result: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "size": f"{SIZE[0]}x{SIZE[1]}",
    }
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as folder, xvfb() as display:
        workdir = Path(folder)
        with ils_process(workdir) as (port, _db):
            if args.only in (None, "cold"):
                result["cold_start"] = cold_start(display, workdir, args.rounds, port, args.before)
            if args.only in (None, "soak"):
                result["soak"] = soak(display, workdir, args.visits, args.warmup, port, args.before)
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))


# ---------------------------------------------------------------------------------------------- children


def run_child(argv: list[str]) -> None:
    kind, workdir, *rest = argv
    os.umask(0o077)  # as `kiosk run`: every file the station writes is the kiosk user's alone
    Path(workdir).mkdir(parents=True, exist_ok=True)
    Path(workdir).chmod(0o700)
    if kind == "reference":
        return _minimal_kivy()
    report = asyncio.run(_kiosk(kind, Path(workdir), *map(int, rest)))
    print(json.dumps(report), flush=True)
    return None


def _minimal_kivy() -> None:
    """The named reference: the smallest Kivy app, up to its first frame."""
    phases = {"interpreter": time.monotonic()}
    from kivy.app import App
    from kivy.clock import Clock
    from kivy.core.window import Window
    from kivy.uix.label import Label

    phases["kivy_imported"] = time.monotonic()  # the window is made when kivy.core.window is imported

    class Minimal(App):
        def build(self) -> Label:
            return Label(text="Hello")

        def on_start(self) -> None:
            def flipped(*_: object) -> None:
                if "first_frame" not in phases:
                    phases["first_frame"] = time.monotonic()
                    print("READY", flush=True)
                Clock.schedule_once(lambda *_: self.stop(), 0)

            Window.bind(on_flip=lambda *_: flipped())

    Minimal().run()
    began = float(os.environ.get(START, phases["interpreter"]))
    report = {"kind": "reference", "phases_s": {k: round(v - began, 3) for k, v in phases.items()}}
    print(json.dumps(report), flush=True)


def rss_kb() -> int:
    gc.collect()
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def station_file(workdir: Path, ils_port: int) -> Path:
    """A station file as a technician writes one: SIP2 to the demo library system, the simulated pad, the
    file printer, the journal in `workdir`."""
    from server_api.demo_ils import data

    user, password = data.KIOSK_LOGIN
    secret = workdir / "sip2-password"
    secret.write_text(password + "\n", encoding="utf-8")
    secret.chmod(0o600)
    path = workdir / "kiosk.toml"
    path.write_text(
        f'[station]\nlibrary_name = "{data.KIOSK_LIBRARY.name}"\n'
        f'[sip2]\nhost = "127.0.0.1"\nport = {ils_port}\nuser = "{user}"\npassword_file = "{secret}"\n'
        f'[journal]\npath = "{workdir / "journal.sqlite3"}"\n'
        f'[printer]\ndirectory = "{workdir / "receipts"}"\n[clock]\ntrust = "always"\n',
        encoding="utf-8",
    )
    return path


async def _cold(workdir: Path, ils_port: int) -> dict[str, Any]:
    """`kiosk run --windowed` up to the first frame of the welcome screen: the file loaded and checked,
    `build_station`, `station.start()` begun, the window beside it (`KioskApp.run_beside`)."""
    phases = {"interpreter": time.monotonic()}
    from kiosk.cli.build import build_station
    from kiosk.config import check_for_run, load

    phases["kiosk_imported"] = time.monotonic()
    config = load(station_file(workdir, ils_port))
    check_for_run(config)
    station = build_station(config)
    phases["station_built"] = time.monotonic()

    async def start() -> None:
        await station.start()
        phases["station_started"] = time.monotonic()

    starting = asyncio.ensure_future(start())  # as `kiosk run`: begun before Kivy and the UI load
    await asyncio.sleep(0)
    from kivy.clock import Clock
    from kivy.core.window import Window

    from kiosk.core import ScreenName
    from ui.app import KioskApp

    phases["ui_imported"] = time.monotonic()
    app = KioskApp(station, size=SIZE, panel=config.ui)
    shown = asyncio.Event()

    def flipped(*_: object) -> None:
        if app.screen is None or shown.is_set():
            return
        if "first_frame" not in phases:
            phases["first_frame"] = time.monotonic()
            print("FRAME", flush=True)
        if app.screen.name is ScreenName.WELCOME:
            phases["welcome_frame"] = time.monotonic()
            print("READY", flush=True)
            shown.set()

    Clock.schedule_once(lambda *_: Window.bind(on_flip=flipped), 0)
    if hasattr(app, "run_beside"):
        task = asyncio.ensure_future(app.run_beside(starting))
    else:  # a checkout from before issue 15's start-up work: the station started, then the window
        await starting
        task = asyncio.ensure_future(app.async_run(async_lib="asyncio"))
    try:
        await asyncio.wait_for(shown.wait(), 60)
    finally:
        app.stop()
        await asyncio.wait_for(task, 20)
        await station.stop()
        station.journal.close()
    began = float(os.environ.get(START, phases["interpreter"]))
    return {"kind": "kiosk", "phases_s": {k: round(v - began, 3) for k, v in phases.items()}}


async def _kiosk(kind: str, workdir: Path, ils_port: int, visits: int = 0, warmup: int = 0) -> dict[str, Any]:
    """A soak: the demo's station (its simulated pad places the cards and books) on the library system."""
    if kind == "kiosk":
        return await _cold(workdir, ils_port)
    from kiosk.core import SessionPolicy
    from kiosk.demo import DemoEnvironment

    policy = SessionPolicy(goodbye_time=timedelta(0))  # a visit ends at once: the soak is visits, not waits
    options: dict[str, Any] = {"ils_address": ("127.0.0.1", ils_port)}
    options.update(policy=policy, tick_interval=0.05, poll_interval=0.02)
    async with DemoEnvironment(workdir, **options) as env:
        if kind == "headless-soak":
            return {"kind": kind, **await _visits(env, visits, warmup, None)}
        from ui.app import KioskApp

        app = KioskApp(env.station, size=SIZE)
        task = asyncio.ensure_future(app.async_run(async_lib="asyncio"))
        try:
            await env.wait_for(lambda s: app.screen is not None, 60)
            report = await _visits(env, visits, warmup, app)
        finally:
            app.stop()
            await asyncio.wait_for(task, 20)
        return {"kind": kind, **report}


async def _visits(env: Any, visits: int, warmup: int, app: Any) -> dict[str, Any]:
    """Alternating visits: log in and borrow 3 books, then return them; no receipt."""
    from kiosk.core import Action
    from kiosk.demo import finish_visit, handle_stack, log_in

    items = list(env.demo_borrow_items[:3])
    marks: dict[str, Any] = {}
    started = time.monotonic()
    for n in range(visits):
        if n == warmup:
            marks = {"rss": rss_kb(), "cpu": time.process_time(), "stats": _stats(app)}
        if n % 2 == 0:
            if not await log_in(env):
                raise RuntimeError(f"visit {n}: the library system did not answer the login")
            await handle_stack(env, Action.BORROW, items)
        else:
            await handle_stack(env, Action.RETURN, items)
        await finish_visit(env, receipt=False)
    measured = visits - warmup
    rss, cpu, stats = rss_kb(), time.process_time(), _stats(app)
    return {
        "visits": visits,
        "warmup": warmup,
        "seconds": round(time.monotonic() - started, 1),
        "rss_kb_after_warmup": marks["rss"],
        "rss_kb_at_end": rss,
        "kb_per_visit": round((rss - marks["rss"]) / measured, 2),
        "cpu_s_per_visit": round((cpu - marks["cpu"]) / measured, 4),
        **{f"{k}_per_visit": round((stats[k] - marks["stats"][k]) / measured, 1) for k in stats},
    }


def _stats(app: Any) -> dict[str, int]:
    counted = getattr(app, "stats", None)
    if counted is None:
        return {}
    found = {"renders": counted.renders, "bodies": counted.bodies, "rows_built": counted.rows_built}
    return {**found, "render_cpu_ms": round(counted.seconds * 1000)}


if __name__ == "__main__":
    main()
