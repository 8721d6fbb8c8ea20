"""The idle probe: with no patron at the station, a network cut still shows as the offline mark within
about the configured time (`[sip2] keepalive`, on by default), and the station comes back by itself."""

from __future__ import annotations

import asyncio
from pathlib import Path

from kiosk.config import load
from kiosk.demo import DemoEnvironment
from kiosk.station import StationTiming


async def _until(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return False


def test_the_idle_probe_is_on_by_default(tmp_path: Path) -> None:
    config = tmp_path / "station.toml"
    config.write_text("", encoding="utf-8")
    assert load(config).sip2.keepalive > 0
    assert StationTiming().idle_probe > 0


async def test_a_network_cut_with_nobody_at_the_station_shows_as_offline_within_the_idle_probe(
    tmp_path: Path,
) -> None:
    async with DemoEnvironment(tmp_path, failure_budget=2, probe_interval=0.3, sip2_timeout=0.5) as env:
        assert env.station is not None and env.link is not None
        station = env.station
        assert await _until(lambda: station.online, 5.0)
        station.liveness.idle_probe = 0.4  # the test's own watcher, at a test's pace
        watcher = asyncio.create_task(station.liveness.watch())
        try:
            env.cut_network()
            assert await _until(lambda: not station.online, 8.0), "no offline mark without a patron"
            assert station.screen is not None and station.screen.offline
            env.restore_network()
            assert await _until(lambda: station.online, 8.0)
        finally:
            watcher.cancel()
