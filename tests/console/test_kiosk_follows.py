"""A real station (built as `kiosk run` builds it, in gateway mode) follows the console under uvicorn: staff
change a setting, the kiosk takes it only once its patron session has ended and names the version in its
heartbeat; a version that does not fit the kiosk's own file is refused and reported; a key read at start
asks for a restart, and the rebuilt station runs it; technicians put it out of order (patrons see the
message, their input reaches nothing), back in service, fetch its logs (no patron data) and restart it
(`kiosk run` exits with the code systemd restarts on); a staff-screen credential set centrally replaces
the local one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import stat
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

from drivers.rfid.sim import SimulatedPad
from kiosk.cli import build_station
from kiosk.config import load
from kiosk.core import Action, Mode, ScreenName
from kiosk.credentials import hash_credential
from kiosk.i18n import translate
from kiosk.station import RESTART_EXIT, Station
from server_api.demo_ils import DEMO_PATRON_ID, DEMO_PATRON_PIN
from tests.console.conftest import TROMSO, ConsoleSite, unique
from tests.paths import ROOT

LOCAL_PASSPHRASE = "lokal passfrase for skjermen"


def station_file(site: ConsoleSite, folder: Path, name: str, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    token = folder / "token"
    token.write_text(site.enroll(TROMSO, name) + "\n")
    os.chmod(token, 0o600)
    path = folder / "kiosk.toml"
    path.write_text(
        f'[station]\nname = "{name}"\n[gateway]\nurl = "{site.url}"\ntoken_file = "{token}"\n'
        f'heartbeat_interval = 5\n[journal]\npath = "{folder}/journal.sqlite3"\n'
        f'[printer]\ndirectory = "{folder}/receipts"\n[clock]\ntrust = "always"\n'
        f'[staff]\ncredential = "{hash_credential(LOCAL_PASSPHRASE)}"\n{extra}',
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
    async with asyncio.timeout(timeout):
        while not what():
            await asyncio.sleep(0.05)


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


async def test_a_setting_changed_by_staff_is_taken_only_after_the_patron_session_and_the_fleet_names_it(
    console_site: ConsoleSite, tmp_path: Path
) -> None:
    name = unique("Follows")
    async with running(station_file(console_site, tmp_path, name)) as station:
        assert station.console is not None
        await sign_in_patron(station)
        tove = console_site.staff("tove")
        device = console_site.ids[name]
        saved = tove.post(f"/console/kiosks/{device}/config", {"session.idle_timeout": "150"})
        assert saved.status_code == 303
        await fetched_twice(station)
        assert station.session_active and station.policy.idle_timeout == timedelta(seconds=60)
        assert station.session.policy.idle_timeout == timedelta(seconds=60)  # not in the middle of a session

        station.press(Action.FINISH)
        await eventually(lambda: station.console is not None and station.console.version != "")
        assert station.session.policy.idle_timeout == timedelta(seconds=150)
        assert not station.console.restart_wanted.is_set()  # a session setting is taken live
        kept = Path(station.journal.path).with_name("central-config.json")
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
        version = station.console.version
        assert station.gateway is not None
        beats = station.gateway.beats
        await eventually(lambda: station.gateway is not None and station.gateway.beats >= beats + 2)
        assert version in tove.get(f"/console/kiosks/{device}").text
        assert (await station.gateway.heartbeat()).config_version == version
    # Built again (a restart), the station runs the version it took and does not take it twice.
    async with running(tmp_path / "kiosk.toml") as again:
        assert again.console is not None and again.console.version == version
        assert again.session.policy.idle_timeout == timedelta(seconds=150)


async def test_a_version_that_does_not_fit_the_kiosks_own_file_is_refused_reported_and_the_old_one_kept(
    console_site: ConsoleSite, tmp_path: Path
) -> None:
    name = unique("Refuses")
    # The kiosk's own file warns 50 s before the timeout: the console's 40 s timeout cannot be run here.
    path = station_file(console_site, tmp_path, name, "[session]\nidle_warning = 50\nidle_timeout = 120\n")
    async with running(path) as station:
        tove = console_site.staff("tove")
        device = console_site.ids[name]
        assert (
            tove.post(f"/console/kiosks/{device}/config", {"session.idle_timeout": "40"}).status_code == 303
        )
        await fetched_twice(station)
        assert station.console is not None and station.console.version == ""
        assert station.session.policy.idle_timeout == timedelta(seconds=120)
        page = tove.get(f"/console/kiosks/{device}").text
        assert "idle_warning must be shorter than idle_timeout" in page
        await fetched_twice(station)  # offered again, it is not checked and reported again
        assert station.console.follower.refused and station.console.version == ""


async def test_a_key_read_at_start_asks_for_a_clean_restart_and_the_rebuilt_station_runs_it(
    console_site: ConsoleSite, tmp_path: Path
) -> None:
    name = unique("Restarts")
    path = station_file(console_site, tmp_path, name)
    async with running(path) as station:
        device = console_site.ids[name]
        tove = console_site.staff("tove")
        assert (
            tove.post(f"/console/kiosks/{device}/config", {"rfid.security_attempts": "5"}).status_code == 303
        )
        assert station.console is not None
        await eventually(station.console.restart_wanted.is_set)
        assert "rfid.security_attempts" in station.console.restart_reason
    async with running(path) as again:
        assert again.security.attempts == 5 and again.console is not None
        await fetched_twice(again)
        assert not again.console.restart_wanted.is_set()


async def test_out_of_order_with_a_message_then_back_in_service_and_logs_without_patron_data(
    console_site: ConsoleSite, tmp_path: Path
) -> None:
    name = unique("Technician")
    async with running(station_file(console_site, tmp_path, name)) as station:
        device = console_site.ids[name]
        tor = console_site.staff("tor")
        await sign_in_patron(station)
        sent = tor.post(
            f"/console/kiosks/{device}/commands", {"kind": "out_of_order", "message": "Ny leser kommer"}
        )
        assert sent.status_code == 303
        await fetched_twice(station)
        assert station.screen.name is ScreenName.MENU  # the patron finishes first
        station.press(Action.FINISH)
        await eventually(lambda: station.screen.name is ScreenName.OUT_OF_ORDER)
        shown = [translate(line, "nb") for line in station.screen.details]
        assert shown == ["Ny leser kommer"]
        station.present_card(DEMO_PATRON_ID)  # a patron's card reaches no session
        await asyncio.sleep(0.3)
        assert station.screen.name is ScreenName.OUT_OF_ORDER and station.session.mode is Mode.WELCOME

        logging.getLogger("kiosk.test").warning(
            "card %s patron=Kari Nordmann kari@example.no", DEMO_PATRON_ID
        )
        assert tor.post(f"/console/kiosks/{device}/commands", {"kind": "fetch_logs"}).status_code == 303
        assert tor.post(f"/console/kiosks/{device}/commands", {"kind": "in_service"}).status_code == 303
        await eventually(lambda: station.screen.name is ScreenName.WELCOME)
        page = tor.get(f"/console/kiosks/{device}").text
        outputs = sorted(set(_output_links(page)))
        assert outputs, page
        logs = "\n".join(tor.get(link).text for link in outputs)
        assert "out of order: Ny leser kommer" in logs and "card <number>" in logs
        assert DEMO_PATRON_ID not in logs and "Kari" not in logs and "example.no" not in logs


def _output_links(page: str) -> list[str]:
    return re.findall(r'href="(/console/kiosks/[^"]+/output)"', page)


async def test_a_staff_screen_credential_set_in_the_console_replaces_the_one_set_on_the_kiosk(
    console_site: ConsoleSite, tmp_path: Path
) -> None:
    name = unique("Credential")
    async with running(station_file(console_site, tmp_path, name)) as station:
        device = console_site.ids[name]
        assert await station.staff.unlock(passphrase=LOCAL_PASSPHRASE)
        tove = console_site.staff("tove")
        central = "sentral passfrase for personalet"
        answer = tove.post(
            f"/console/libraries/{TROMSO}/credentials",
            {"device_id": device, "username": "skranke", "password": central},
        )
        assert answer.status_code == 303
        await eventually(lambda: station.staff.central)
        assert await station.staff.unlock(passphrase=central)
        assert not await station.staff.unlock(passphrase=LOCAL_PASSPHRASE)
        kept = Path(station.journal.path).with_name("central-config.json").read_text()
        assert central not in kept and "$argon2id$" in kept  # the hash only


def test_kiosk_run_ends_with_the_restart_code_when_a_technician_restarts_it(
    console_site: ConsoleSite, tmp_path: Path
) -> None:
    name = unique("Service")
    path = station_file(console_site, tmp_path, name)
    tor = console_site.staff("tor")
    assert (
        tor.post(f"/console/kiosks/{console_site.ids[name]}/commands", {"kind": "restart"}).status_code == 303
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "kiosk", "run", "--headless", "--config", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "KIOSK_RUN_DIR": str(tmp_path / "run")},
    )  # fmt: skip
    assert done.returncode == RESTART_EXIT, done.stderr[-2000:]
    assert "restart asked: a technician asked" in done.stderr
    assert time.monotonic() - started < 60
    with console_site.kiosk(name) as kiosk:  # acknowledged: not handed out again after the restart
        assert kiosk.get("/v1/console/commands").json() == []
