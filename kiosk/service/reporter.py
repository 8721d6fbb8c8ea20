"""The station as a systemd service: READY, the watchdog, STATUS, STOPPING, and what the updater reads.

`ServiceReporter` runs beside the station on its event loop (`kiosk run` starts it once the station
serves, and stops it first when the station stops):

- `READY=1` once the station has started and shows its first screen (`ready()`, after the first frame);
- `WATCHDOG=1` every half of $WATCHDOG_USEC, from the event loop itself: a loop that hangs stops the
  pings and systemd kills and restarts the station (a thread would keep pinging for a hung loop);
- `STATUS=` lines a technician sees in `systemctl status`: the library system online or offline, the
  reader answering or not;
- `STOPPING=1` when the station is told to stop.

The run directory (/run/kiosk on a kiosk; `kiosk run` takes it from $KIOSK_RUN_DIR, nothing is written
without one) holds what deploy/updates reads (deploy/updates/policy.py):

- `station-state.json`: `{"patron_session": bool, "idle": bool, "online": bool, "reader_ok": bool,
  "printer": its last status, "pid": int, "at": ISO time}`, rewritten whenever it changes and every few
  seconds (`at` says it is fresh; removed on a clean stop). `idle` is "may I update now?": no patron
  session and nothing a patron did still in flight (`kiosk update-window` reads it; `kiosk doctor` takes
  the reader and printer from it while the station holds them). `out_of_service`: patrons see the
  out-of-order screen (a technician's command, or `updating` while root installs an update: `updating`).
- `healthy`: written once, when the station has served `healthy_after` seconds after READY with its reader
  answering (kiosk-health.service keeps a new root slot only when it appears). Counted from READY, not
  from the start: a station whose window never shows (a new slot whose screen fails) is not healthy.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kiosk.files import write_atomically
from kiosk.service.notify import Notifier, watchdog_override
from kiosk.service.updating import UpdateGate
from kiosk.station import NetworkChanged, Observation, ReaderHealth, Station

log = logging.getLogger(__name__)
STATE_FILE = "station-state.json"
HEALTHY_FILE = "healthy"


@dataclass(frozen=True)
class ServiceTiming:
    watchdog_interval: float | None = None  # None: systemd set no watchdog
    state_interval: float = 2.0  # how often the state file is refreshed when nothing changed
    healthy_after: float = 5.0


class ServiceReporter:
    def __init__(
        self, station: Station, notifier: Notifier, run_dir: Path | None, timing: ServiceTiming
    ) -> None:
        self.station, self.notifier, self.run_dir, self.timing = station, notifier, run_dir, timing
        self.reader_ok = True
        self._tasks: list[asyncio.Task[None]] = []
        self._last_state: dict[str, object] | None = None
        self._status = ""
        self._written_at = 0.0
        self.gate = UpdateGate(station, run_dir)
        self._announced = False
        self._ready_at: float | None = None  # the event loop's time of READY=1

    async def start(self, *, ready: bool = True) -> None:
        """The station has started: the state file, and READY with the pings unless `ready` is False
        (the window is not drawn yet: `kiosk run` calls `ready()` after its first frame)."""
        self.station.add_observer(self._observe)
        self.write_state()
        self._status = self.status_line()
        self._tasks = [asyncio.create_task(self._keep_state(), name="service state")]
        if ready:
            self.ready()

    def ready(self) -> None:
        """READY=1, then WATCHDOG=1 from this loop. Once only. Not before the first screen is drawn: a first
        frame can take long on a small CPU (software GL compiles its shaders then), and systemd counts
        the start-up (TimeoutStartSec) until READY, the watchdog (WatchdogSec) only after it."""
        if self._announced:
            return
        self._announced = True
        self._ready_at = asyncio.get_running_loop().time()
        override = watchdog_override() if self.timing.watchdog_interval is not None else None
        extra = {"WATCHDOG_USEC": str(override)} if override else {}  # systemd >= 236 takes it at run time
        self.notifier.send(reliably=True, READY="1", STATUS=self._status, **extra)
        if self.timing.watchdog_interval is not None:
            self._tasks.append(
                asyncio.create_task(self._ping(self.timing.watchdog_interval), name="watchdog")
            )

    async def stop(self) -> None:
        self.notifier.send(reliably=True, STOPPING="1", STATUS="stopping")
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self.station.remove_observer(self._observe)
        if self.run_dir is not None:
            (self.run_dir / STATE_FILE).unlink(missing_ok=True)
        self.notifier.close()

    # ------------------------------------------------------------ what is reported

    def idle(self) -> bool:
        """May the kiosk update now? No patron session, and nothing a patron did still in flight (the
        session is busy while the library system has not answered: `Station.session_active`)."""
        return not self.station.session_active

    def status_line(self) -> str:
        network = (
            "library system online" if self.station.online else "library system offline (working offline)"
        )
        reader = "" if self.reader_ok else "; RFID reader not answering"
        return f"serving patrons; {network}{reader}"

    def write_state(self) -> None:
        if self.run_dir is None:
            return
        idle = self.idle()
        state: dict[str, object] = {
            "patron_session": not idle,
            "idle": idle,
            "online": self.station.online,
            "reader_ok": self.reader_ok,
            "printer": self.station.printing.printer_status.value,
            "out_of_service": self.station.out_of_order.active,
            "updating": self.gate.holding,
        }
        if state != self._last_state or self._stale():
            _write_public(
                self.run_dir / STATE_FILE,
                json.dumps({**state, "pid": os.getpid(), "at": datetime.now(UTC).isoformat()}) + "\n",
            )
            self._last_state, self._written_at = state, asyncio.get_running_loop().time()

    def _stale(self) -> bool:
        return asyncio.get_running_loop().time() - self._written_at >= self.timing.state_interval

    # ------------------------------------------------------------ the loops

    def _observe(self, observation: Observation) -> None:
        if isinstance(observation, ReaderHealth):
            self.reader_ok = observation.ok
        if isinstance(observation, (ReaderHealth, NetworkChanged)):
            self._status = self.status_line()
            self.notifier.send(STATUS=self._status)
        self.write_state()  # a screen shown may start or end a patron session

    async def _ping(self, interval: float) -> None:
        while True:
            self.notifier.send(WATCHDOG="1")
            await asyncio.sleep(interval)

    async def _keep_state(self) -> None:
        loop = asyncio.get_running_loop()
        healthy = False
        while True:
            await asyncio.sleep(min(0.5, self.timing.state_interval))
            self.gate.check()  # /run/kiosk/updating: out of service while root installs an update
            self.write_state()
            served = loop.time() - self._ready_at if self._ready_at is not None else -1.0
            if not healthy and self.reader_ok and served >= self.timing.healthy_after:
                healthy = self._report_healthy()

    def _report_healthy(self) -> bool:
        if self.run_dir is not None:
            _write_public(
                self.run_dir / HEALTHY_FILE, json.dumps({"at": datetime.now(UTC).isoformat()}) + "\n"
            )
        return True


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the %s loop stopped", task.get_name(), exc_info=task.exception())


def _write_public(path: Path, text: str) -> None:
    """Atomically, readable by the updater and the technician (no patron data in these files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, text, mode=0o644)


def read_state(run_dir: Path) -> dict[str, object] | None:
    """The station's last report, or None when it wrote none (not running, or no run directory)."""
    try:
        data = json.loads((run_dir / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


__all__ = ["HEALTHY_FILE", "STATE_FILE", "ServiceReporter", "ServiceTiming", "read_state"]
