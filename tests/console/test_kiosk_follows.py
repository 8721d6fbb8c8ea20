"""A real station (built as `kiosk run` builds it, in gateway mode) follows the console under uvicorn: staff
change a setting, the kiosk takes it only once its patron session has ended and names the version in its
heartbeat; a version that does not fit the kiosk's own file is refused and reported; a key read at start
asks for a restart, and the rebuilt station runs it; technicians put it out of order (patrons see the
message, their input reaches nothing), back in service, fetch its logs (no patron data) and restart it
(`kiosk run` exits with the code systemd restarts on); a staff-screen credential set centrally replaces
the local one."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import stat
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from drivers.rfid.sim import SimulatedPad
from kiosk.cli import build_station
from kiosk.config import load
from kiosk.core import Action, Mode, ScreenName, TaskKind
from kiosk.i18n import translate
from kiosk.station import RESTART_EXIT, Station
from server_api.demo_ils import DEMO_PATRON_ID
from tests.console.conftest import TROMSO, ConsoleSite, unique
from tests.console.stations import (
    LOCAL_PASSPHRASE,
    beaten_twice,
    eventually,
    fetched_twice,
    running,
    sign_in_patron,
    station_file,
)
from tests.paths import ROOT


async def test_staff_settings_reach_the_kiosk_between_sessions_refused_ones_are_reported_others_restart_it(
    console_site: ConsoleSite, tmp_path: Path
) -> None:
    name = unique("Follows")
    # The kiosk's own file warns 50 s before the timeout: a console timeout of 40 s cannot be run here.
    path = station_file(console_site, tmp_path, name, "idle_warning = 50\nidle_timeout = 120\n")
    tove, device = console_site.staff("tove"), console_site.ids[name]
    async with running(path) as station:  # (with a patron at it: tests/console/test_browser.py)
        assert station.console is not None and station.gateway is not None
        saved = tove.post(f"/console/kiosks/{device}/config", {"session.idle_timeout": "150"})
        assert saved.status_code == 303
        await eventually(lambda: station.session.policy.idle_timeout == timedelta(seconds=150))
        assert not station.console.restart_wanted.is_set()
        kept = Path(station.journal.path).with_name("central-config.json")
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
        version = station.console.version
        await beaten_twice(station)
        assert (await station.gateway.heartbeat()).config_version == version  # named in every heartbeat
        assert version in tove.get(f"/console/kiosks/{device}").text

        assert (
            tove.post(f"/console/kiosks/{device}/config", {"session.idle_timeout": "40"}).status_code == 303
        )
        await fetched_twice(station)
        assert station.console.version == version and station.console.follower.refused
        assert station.session.policy.idle_timeout == timedelta(seconds=150)  # the old one kept
        page = tove.get(f"/console/kiosks/{device}").text
        assert "idle_warning must be shorter than idle_timeout" in page and version in page

        fits = {"session.idle_timeout": "150", "rfid.security_attempts": "5"}  # read at start: a restart
        assert tove.post(f"/console/kiosks/{device}/config", fits).status_code == 303
        await eventually(station.console.restart_wanted.is_set)
        assert "rfid.security_attempts" in station.console.restart_reason
        version = station.console.version
    async with running(path) as again:  # what systemd starts again
        assert again.console is not None and again.console.version == version
        assert again.security.attempts == 5
        assert again.session.policy.idle_timeout == timedelta(seconds=150)
        await fetched_twice(again)
        assert not again.console.restart_wanted.is_set()  # not taken twice


async def test_technicians_put_the_kiosk_out_of_order_and_back_fetch_its_logs_and_set_its_staff_login(
    console_site: ConsoleSite, tmp_path: Path
) -> None:
    name = unique("Technician")
    path = station_file(console_site, tmp_path, name)
    local = build_station(load(path), reader=SimulatedPad())  # before the console has said anything
    assert await local.staff.unlock(passphrase=LOCAL_PASSPHRASE)
    local.journal.close()
    await local.circulation.close()
    tor, device = console_site.staff("tor"), console_site.ids[name]
    async with running(path) as station:
        assert station.console is not None
        await sign_in_patron(station)
        message = {"kind": "out_of_order", "message": "Ny leser kommer"}
        assert tor.post(f"/console/kiosks/{device}/commands", message).status_code == 303
        await fetched_twice(station)
        assert station.screen.name is ScreenName.MENU  # the patron finishes first
        station.press(Action.FINISH)
        await eventually(lambda: station.screen.name is ScreenName.OUT_OF_ORDER)
        assert [translate(line, "nb") for line in station.screen.details] == ["Ny leser kommer"]
        station.present_card(DEMO_PATRON_ID)  # a patron's card reaches no session
        await asyncio.sleep(0.3)
        assert station.screen.name is ScreenName.OUT_OF_ORDER and station.session.mode is Mode.WELCOME

        logging.getLogger("kiosk.test").warning(
            "card %s patron=Kari Nordmann kari@example.no", DEMO_PATRON_ID
        )
        assert tor.post(f"/console/kiosks/{device}/commands", {"kind": "fetch_logs"}).status_code == 303
        assert tor.post(f"/console/kiosks/{device}/commands", {"kind": "in_service"}).status_code == 303
        await eventually(lambda: station.screen.name is ScreenName.WELCOME)
        links = sorted(
            set(
                re.findall(
                    r'href="(/console/kiosks/[^"]+/output)"', tor.get(f"/console/kiosks/{device}").text
                )
            )
        )
        logs = "\n".join(tor.get(link).text for link in links)
        assert "out of order: Ny leser kommer" in logs and "card <number>" in logs
        assert DEMO_PATRON_ID not in logs and "Kari" not in logs and "example.no" not in logs

        # What the kiosk could not do reaches the console's task list (posted once, as it appears).
        station.journal.add_task(TaskKind.SECURITY_FAILED, "03011234567899", "AFI 0xC2", station.clock())
        await fetched_twice(station)
        tove = console_site.staff("tove")
        tasks = tove.get("/console/tasks").text
        assert "03011234567899" in tasks and "The security bit could not be set" in tasks
        row = re.search(r'<tr id="task-(\d+)">(?:(?!</tr>).)*03011234567899', tasks, re.S)
        assert row is not None
        handled = tove.post(f"/console/tasks/{row.group(1)}/handle", {"note": "New tag"})
        assert handled.status_code == 303  # handled in the console ...
        await eventually(lambda: not [t for t in station.journal.tasks() if t.item_id == "03011234567899"])

        central, before = "sentral passfrase for personalet", station.console.version
        form = {"device_id": device, "username": "skranke", "password": central}
        assert (
            console_site.staff("tove").post(f"/console/libraries/{TROMSO}/credentials", form).status_code
            == 303
        )
        await eventually(lambda: station.console is not None and station.console.version != before)
        assert station.staff.central
        assert await station.staff.unlock(passphrase=central)
        assert not await station.staff.unlock(passphrase=LOCAL_PASSPHRASE)  # the console's replaces it
        assert central not in _kept(station) and "$argon2id$" in _kept(station)  # the hash only


def _kept(station: Station) -> str:
    try:
        return Path(station.journal.path).with_name("central-config.json").read_text()
    except FileNotFoundError:
        return ""


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
