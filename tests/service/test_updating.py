"""While root installs an update (/run/kiosk/updating), the station shows patrons it is out of service,
starts no session, and says so in its state file; a patron already there finishes first; a technician's
own out-of-order stays when the update is over. A real station (from its configuration file) against
the demo ILS on TCP, with its service reporter, as `kiosk run` starts them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kiosk.cli.build import build_station
from kiosk.config import load
from kiosk.core import Action, ScreenName
from kiosk.service import Notifier, ServiceReporter, ServiceTiming
from kiosk.service.updating import UPDATING_NOTE
from kiosk.station import Station
from server_api.demo_ils import data as demo_data
from server_api.demo_ils.server import DemoIls
from tests.service.systemd import FakeSystemd, station_config
from tests.waiting import until


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Station, ServiceReporter, Path]]:
    async with DemoIls(db_path=tmp_path / "ils.sqlite3") as ils:
        station = build_station(load(station_config(tmp_path, ils.port)))
        run_dir = tmp_path / "run"
        service = ServiceReporter(station, Notifier(None), run_dir, ServiceTiming(state_interval=0.2))
        await station.start()
        await service.start()
        try:
            yield station, service, run_dir
        finally:
            await service.stop()
            await station.stop()
            station.journal.close()


def state(run_dir: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((run_dir / "station-state.json").read_text())
    return data


async def test_while_an_update_installs_the_station_is_out_of_service_and_starts_no_session(
    served: tuple[Station, ServiceReporter, Path],
) -> None:
    station, _, run_dir = served
    (run_dir / "updating").write_text("4242\n")
    await until(lambda: state(run_dir).get("out_of_service") is True)
    assert station.screen.name is ScreenName.OUT_OF_ORDER and state(run_dir)["updating"] is True
    station.present_card(demo_data.DEMO_PATRON_ID)
    await station.settle()
    assert not station.session_active and station.screen.name is ScreenName.OUT_OF_ORDER
    (run_dir / "updating").unlink()  # the install failed and the kiosk did not reboot
    await until(lambda: station.screen.name is ScreenName.WELCOME)
    await until(lambda: state(run_dir).get("out_of_service") is False)


async def test_a_patron_at_the_station_finishes_before_it_goes_out_of_service(
    served: tuple[Station, ServiceReporter, Path],
) -> None:
    station, service, run_dir = served
    station.present_card(demo_data.DEMO_PATRON_ID)
    await until(lambda: station.session_active)
    (run_dir / "updating").write_text("4242\n")
    await asyncio.sleep(1.0)  # two rounds of the reporter's loop
    assert station.screen.name is not ScreenName.OUT_OF_ORDER and not service.gate.holding
    assert state(run_dir)["patron_session"] is True  # what tells the installer to take its mark away
    assert Action.CANCEL in station.screen.actions, station.screen
    station.press(Action.CANCEL)  # the patron leaves; after the goodbye screen the session is over
    await until(lambda: service.gate.holding, 30)
    assert station.screen.name is ScreenName.OUT_OF_ORDER


async def test_a_technicians_out_of_order_stays_when_the_update_is_over(
    served: tuple[Station, ServiceReporter, Path],
) -> None:
    station, service, run_dir = served
    station.out_of_order.set("Skjermen byttes / The screen is being replaced")
    (run_dir / "updating").write_text("4242\n")
    await until(lambda: state(run_dir).get("out_of_service") is True)
    assert not service.gate.holding  # the technician's switch was thrown already
    (run_dir / "updating").unlink()
    await asyncio.sleep(1.0)
    assert station.out_of_order.message == "Skjermen byttes / The screen is being replaced"
    assert station.out_of_order.message != UPDATING_NOTE


async def test_ready_and_the_watchdog_wait_for_the_first_frame(tmp_path: Path) -> None:
    """`kiosk run` with a window says READY only once the first frame is drawn (`ready()`): until then
    systemd's start-up limit applies, not the watchdog, which a slow first frame would trip."""
    systemd = FakeSystemd()
    async with DemoIls(db_path=tmp_path / "ils.sqlite3") as ils:
        station = build_station(load(station_config(tmp_path, ils.port)))
        service = ServiceReporter(
            station, Notifier(systemd.name), tmp_path / "run", ServiceTiming(watchdog_interval=0.05)
        )
        await station.start()
        await service.start(ready=False)
        try:
            await asyncio.sleep(0.5)
            systemd.drain()
            assert systemd.messages == [] and (tmp_path / "run" / "station-state.json").exists()
            service.ready()
            service.ready()  # the next frames: nothing more
            assert (await systemd.until("READY", 5))["READY"] == "1"
            await asyncio.sleep(0.5)
            systemd.drain()
            assert len(systemd.pings()) >= 3
            assert sum("READY" in fields for _, fields in systemd.messages) == 1
        finally:
            await service.stop()
            await station.stop()
            station.journal.close()
            systemd.socket.close()


async def test_a_slow_screen_asks_systemd_for_a_longer_watchdog_with_ready(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """[display] watchdog_seconds (first boot writes KIOSK_WATCHDOG_SEC): WATCHDOG_USEC= goes with READY and
    the pings come at half of it; without it the unit's own watchdog stays."""
    from kiosk.service.notify import watchdog_interval, watchdog_override

    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "KIOSK_WATCHDOG_SEC": "300"}) == 150.0
    assert watchdog_interval({"KIOSK_WATCHDOG_SEC": "300"}) is None  # systemd set no watchdog: none
    assert watchdog_override({"KIOSK_WATCHDOG_SEC": "soon"}) is None
    monkeypatch.setenv("KIOSK_WATCHDOG_SEC", "300")
    systemd = FakeSystemd()
    async with DemoIls(db_path=tmp_path / "ils.sqlite3") as ils:
        station = build_station(load(station_config(tmp_path, ils.port)))
        service = ServiceReporter(station, Notifier(systemd.name), None, ServiceTiming(watchdog_interval=150))
        await station.start()
        await service.start()
        try:
            ready = await systemd.until("READY", 5)
            assert ready["WATCHDOG_USEC"] == "300000000"
        finally:
            await service.stop()
            await station.stop()
            station.journal.close()
            systemd.socket.close()
