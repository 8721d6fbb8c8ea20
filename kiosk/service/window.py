"""May the kiosk update now? Read from what the station writes in its run directory (`reporter`).

Yes when the station reports idle (no patron session, nothing in flight), and also when no station
reports at all: no state file, its process gone, or no refresh for `STALE_AFTER` seconds (a hung station
serves nobody; systemd's watchdog restarts it). No while a patron is being served.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kiosk.service.reporter import STATE_FILE, read_state

RUN_DIR = Path("/run/kiosk")
STALE_AFTER = 10.0  # seconds: the station rewrites its state at least every 2 s


@dataclass(frozen=True)
class Window:
    open: bool
    reason: str


def run_dir_for_station(environ: dict[str, str] | None = None) -> Path | None:
    """$KIOSK_RUN_DIR, else /run/kiosk when it is there and writable (the image makes it for the station
    user), else None: a station on a developer's machine writes no state."""
    named = (environ if environ is not None else dict(os.environ)).get("KIOSK_RUN_DIR")
    if named:
        return Path(named)
    return RUN_DIR if RUN_DIR.is_dir() and os.access(RUN_DIR, os.W_OK) else None


def station_reporting(run_dir: Path) -> dict[str, object] | None:
    """The running station's state, or None when no live station reports."""
    state = read_state(run_dir)
    if state is None or not _alive(state.get("pid")):
        return None
    try:
        age = (datetime.now(UTC) - datetime.fromisoformat(str(state.get("at")))).total_seconds()
    except ValueError:
        return None
    return state if age <= STALE_AFTER else None


def update_window(run_dir: Path, *, wait: float = 0.0, poll: float = 0.5) -> Window:
    """Open now, or within `wait` seconds; otherwise closed with the reason."""
    deadline = time.monotonic() + wait
    while True:
        state = station_reporting(run_dir)
        if state is None:
            return Window(True, f"no station reports in {run_dir / STATE_FILE} (not running, or hung)")
        if state.get("idle") is True:
            return Window(True, "the station is idle: no patron session, nothing in flight")
        if time.monotonic() >= deadline:
            return Window(False, "a patron is using the kiosk (or what they did is still in flight)")
        time.sleep(poll)


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, but there
    return True


__all__ = ["RUN_DIR", "STALE_AFTER", "Window", "run_dir_for_station", "station_reporting", "update_window"]
