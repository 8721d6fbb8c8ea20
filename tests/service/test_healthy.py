"""The station's `healthy` report (what kiosk-health.service keeps a new root slot on) waits for READY: a
station whose first screen never shows is not healthy, however long its loop runs. A real station against
the demo ILS on TCP, with its service reporter started as `kiosk run` starts it with a window."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from kiosk.cli.build import build_station
from kiosk.config import load
from kiosk.service import HEALTHY_FILE, Notifier, ServiceReporter, ServiceTiming
from server_api.demo_ils.server import DemoIls
from tests.service.systemd import FakeSystemd, station_config


async def test_healthy_is_reported_only_a_while_after_ready_not_after_the_start(tmp_path: Path) -> None:
    systemd = FakeSystemd()
    async with DemoIls(db_path=tmp_path / "ils.sqlite3") as ils:
        station = build_station(load(station_config(tmp_path, ils.port)))
        run_dir = tmp_path / "run"
        timing = ServiceTiming(state_interval=0.1, healthy_after=0.3)
        service = ServiceReporter(station, Notifier(systemd.name), run_dir, timing)
        await station.start()
        await service.start(ready=False)  # the window has not drawn its first frame yet
        try:
            await asyncio.sleep(1.0)  # over three times healthy_after since the start
            assert (run_dir / "station-state.json").exists()
            assert not (run_dir / HEALTHY_FILE).exists()
            systemd.drain()
            assert not any("READY" in fields for _, fields in systemd.messages)

            service.ready()
            await systemd.until("READY", 5)
            async with asyncio.timeout(10):
                while not (run_dir / HEALTHY_FILE).exists():
                    await asyncio.sleep(0.05)
            assert "at" in json.loads((run_dir / HEALTHY_FILE).read_text())
        finally:
            await service.stop()
            await station.stop()
            station.journal.close()
            systemd.socket.close()
