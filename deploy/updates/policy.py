"""When an update may be installed, and whether a newly booted one is kept.

Between patron sessions only: the station reports its state in /run/kiosk/station-state.json
(``{"patron_session": true|false}``); an update waits while a patron is served. While it installs,
/run/kiosk/updating exists, and the station must not start a new session (it shows "out of service").

After the reboot into the new slot, the health check keeps it only when the station reports healthy: it
wrote /run/kiosk/healthy (the station does this a few seconds after READY, its first screen shown, with
the reader answering) or, from a station too old to write it, its service has stayed active (which a
Type=notify service is only after READY) without a restart for the settle time. Otherwise the slot is
marked bad and the kiosk reboots into the previous one. A slot that never gets as far as the check is
dropped by the boot loader's try counter, and one without a kernel is skipped by the boot loader.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Health",
    "Pending",
    "StationState",
    "patron_session_active",
    "station_health",
    "station_out_of_service",
]


@dataclass(frozen=True)
class StationState:
    run: Path = Path("/run/kiosk")

    @property
    def state_file(self) -> Path:
        return self.run / "station-state.json"

    @property
    def updating_file(self) -> Path:
        return self.run / "updating"

    @property
    def healthy_file(self) -> Path:
        return self.run / "healthy"


@dataclass(frozen=True)
class Pending:
    """The update that was installed and waits for its first healthy boot (on the data partition)."""

    path: Path = Path("/data/rauc/pending.json")

    def record(self, slot: str, version: str, sha256: str = "") -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {"slot": slot, "version": version, "sha256": sha256, "at": time.time()}
        self.path.write_text(json.dumps(record))

    def read(self) -> dict[str, str] | None:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        return {key: str(value) for key, value in data.items()} if isinstance(data, dict) else None

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def patron_session_active(state: StationState) -> bool:
    """True while a patron is at the kiosk. A missing or unreadable state file counts as no session."""
    try:
        data = json.loads(state.state_file.read_text())
    except (OSError, ValueError):
        return False
    return bool(isinstance(data, dict) and data.get("patron_session"))


def station_out_of_service(
    state: StationState, *, limit: float = 120.0, old_station_limit: float = 10.0, poll: float = 0.25
) -> bool:
    """After the updating mark: True once the station reports it is out of service with no patron session,
    or when no live station reports at all; False when a patron session shows (one that began just before
    the mark), or when a station that says whether it is out of service has not said so within `limit`
    seconds (a slow machine: the installer takes the mark back and tries again later, rather than install
    beside a screen that still takes patrons). A station too old to say is given `old_station_limit`."""
    from kiosk.service.window import station_reporting  # what the station writes, read its own way

    started = time.monotonic()
    while True:
        report = station_reporting(state.run)
        if report is None:
            return True
        if report.get("patron_session"):
            return False
        if report.get("out_of_service"):
            return True
        waited = time.monotonic() - started
        if "out_of_service" not in report and waited >= old_station_limit:
            return True
        if waited >= limit:
            return False
        time.sleep(poll)


@dataclass(frozen=True)
class Health:
    healthy: bool
    reason: str


ServiceProbe = Callable[[], tuple[str, int]]  # (ActiveState, NRestarts)


def station_health(
    state: StationState,
    *,
    timeout: float,
    settle: float = 60.0,
    probe: ServiceProbe | None = None,
    poll: float = 2.0,
) -> Health:
    """Wait up to timeout for the station to be healthy; say why not when it is not."""
    look = probe or _systemd_probe
    deadline = time.monotonic() + timeout
    active_since: float | None = None
    last = ("unknown", 0)
    while time.monotonic() < deadline:
        if state.healthy_file.exists():
            return Health(True, "the station reported healthy")
        last = look()
        active, restarts = last
        if restarts > 0:
            return Health(False, f"the station was restarted {restarts} time(s) since boot")
        if active == "active":
            active_since = active_since or time.monotonic()
            if time.monotonic() - active_since >= settle:
                return Health(True, f"the station has run {settle:.0f} s without a restart")
        elif active == "failed":
            return Health(False, "the station's service failed")
        else:
            active_since = None
        time.sleep(poll)
    return Health(False, f"the station was not healthy within {timeout:.0f} s (service {last[0]})")


def _systemd_probe() -> tuple[str, int]:
    done = subprocess.run(
        ["systemctl", "show", "--property=ActiveState,NRestarts", "kiosk-station.service"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    values = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    restarts = values.get("NRestarts", "0")
    return values.get("ActiveState", "unknown"), int(restarts) if restarts.isdigit() else 0


def mark_updating(state: StationState, on: bool) -> None:
    if on:
        state.run.mkdir(parents=True, exist_ok=True)
        state.updating_file.write_text(f"{os.getpid()}\n")
    else:
        state.updating_file.unlink(missing_ok=True)
