"""Real stations for the console's tests: built as `kiosk run` builds them from a station file in gateway
mode (enrolled with the console's gateway, simulated pad, file printer), on the test's event loop, with
the heartbeat's interval compressed; and the waits their tests share."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from drivers.rfid.sim import SimulatedPad
from kiosk.cli import build_station
from kiosk.config import load
from kiosk.core import ScreenName
from kiosk.credentials import hash_credential
from kiosk.station import Station
from server_api.demo_ils import DEMO_PATRON_ID, DEMO_PATRON_PIN
from tests.console.conftest import TROMSO, ConsoleSite
from tests.waiting import until

LOCAL_PASSPHRASE = "lokal passfrase for skjermen"
LOCAL_HASH = hash_credential(LOCAL_PASSPHRASE)


def station_file(site: ConsoleSite, folder: Path, name: str, session: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    token = folder / "token"
    token.write_text(site.enroll(TROMSO, name) + "\n")
    os.chmod(token, 0o600)
    path = folder / "kiosk.toml"
    path.write_text(
        f'[station]\nname = "{name}"\n[gateway]\nurl = "{site.url}"\ntoken_file = "{token}"\n'
        f"heartbeat_interval = 5\n[session]\ngoodbye_time = 0\n{session}"
        f'[journal]\npath = "{folder}/journal.sqlite3"\n'
        f'[printer]\ndirectory = "{folder}/receipts"\n[clock]\ntrust = "always"\n'
        f'[staff]\ncredential = "{LOCAL_HASH}"\n',
        encoding="utf-8",
    )
    return path


@contextlib.asynccontextmanager
async def running(path: Path) -> AsyncIterator[Station]:
    station = build_station(load(path), reader=SimulatedPad())
    assert station.console is not None and station.gateway is not None
    station.console.interval = station.gateway.interval = 0.3  # the heartbeat's 5 s, compressed
    await station.start()
    try:
        yield station
    finally:
        await station.stop()
        await station.circulation.close()
        station.journal.close()


async def eventually(what: Callable[[], object], timeout: float = 20.0) -> None:
    await until(what, timeout, every=0.05)


async def fetched_twice(station: Station) -> None:
    """Until the station has asked the console twice more (so whatever staff saved before has arrived)."""
    assert station.console is not None
    seen = station.console.fetches
    await eventually(lambda: station.console is not None and station.console.fetches >= seen + 2)


async def sign_in_patron(station: Station) -> None:
    station.present_card(DEMO_PATRON_ID)
    await eventually(lambda: station.screen.name is ScreenName.PIN)
    station.enter_pin(DEMO_PATRON_PIN)
    await eventually(lambda: station.screen.name is ScreenName.MENU)


async def beaten_twice(station: Station) -> None:
    """Until the station's own loop has sent two more heartbeats (the second started after this call)."""
    assert station.gateway is not None
    seen = station.gateway.beats
    await eventually(lambda: station.gateway is not None and station.gateway.beats >= seen + 2)
