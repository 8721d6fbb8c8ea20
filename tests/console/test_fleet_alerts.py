"""The fleet puts problems first; alerts go out by e-mail (a local aiosmtpd server) and close when the
problem is gone."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta

from sqlalchemy import select, update

from server_api.console.alerts import send_round
from server_api.console.settings import load_console_settings
from server_api.console.tables import alerts
from server_api.gateway.config import load
from server_api.gateway.devices import utcnow
from server_api.gateway.schema import devices
from server_api.gateway.storage import open_engine
from tests.console.conftest import TROMSO, ConsoleSite, unique


def wait_for(condition: object, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError("not within the time")


def rounds_beside_the_gateway(site: ConsoleSite) -> None:
    """Alert rounds as another gateway process would run them, at the same time as the gateway's own."""
    config = load(site.config)
    settings, engine = load_console_settings(config), open_engine(config.database_url())
    for _ in range(8):
        send_round(engine, settings)
        time.sleep(0.1)
    engine.dispose()


def test_problems_come_first_and_alerts_are_mailed_once_and_closed_when_fixed(
    console_site: ConsoleSite,
) -> None:
    silent, no_paper, new = unique("Stille"), unique("Tom"), unique("Ny")
    console_site.enroll(TROMSO, silent)  # never sends a heartbeat: offline
    console_site.enroll(TROMSO, no_paper)
    console_site.enroll(TROMSO, new)  # enrolled just now, no heartbeat yet: shown offline, not mailed yet
    _enrolled_minutes_ago(console_site, silent, 2)  # offline_minutes is 1 here
    console_site.heartbeat(no_paper, printer="paper_out", conflicts=2)
    console_site.heartbeat("Tromsø 1")  # (its last one may be older than offline_after by now)
    rival = threading.Thread(target=rounds_beside_the_gateway, args=(console_site,))  # a second process
    rival.start()
    page = console_site.staff("tove").get("/console/").text
    rows = re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a>', page)
    assert rows.index(silent) < rows.index(no_paper) < rows.index("Tromsø 1")
    assert "Skriveren er tom for papir eller av" in page and "Frakoblet: ingen livstegn" in page

    def mailed(kiosk: str, kind: str) -> bool:
        return any(
            kiosk in str(m["Subject"]) and kind in str(m["Subject"]) for m in console_site.mailbox.messages
        )

    wait_for(lambda: mailed(no_paper, "paper_out") and mailed(silent, "offline"))
    rival.join(30)
    mail = next(
        m for m in console_site.mailbox.messages if f"{no_paper} ({TROMSO}): paper_out" in str(m["Subject"])
    )
    assert "tromso@test.invalid" in str(mail["To"]) and "drift@test.invalid" in str(mail["To"])
    console_site.heartbeat(no_paper, printer="ok")
    engine = console_site.engine()

    def closed() -> bool:
        with engine.connect() as db:
            row = db.execute(
                select(alerts).where(
                    alerts.c.device_id == console_site.ids[no_paper], alerts.c.kind == "paper_out"
                )
            ).first()
        return row is not None and row.cleared_at is not None

    wait_for(closed)
    engine.dispose()
    time.sleep(1.2)  # two more rounds: no second mail for the same alert
    subjects = [str(m["Subject"]) for m in console_site.mailbox.messages]
    assert sum(no_paper in s and "paper_out" in s for s in subjects) == 1, subjects
    assert sum(silent in s and "offline" in s for s in subjects) == 1, subjects
    assert not any(new in s for s in subjects), subjects  # not yet missing for offline_minutes


def _enrolled_minutes_ago(site: ConsoleSite, kiosk: str, minutes: float) -> None:
    """As if `kiosk` had been enrolled `minutes` ago (and never heard from since)."""
    engine = site.engine()
    with engine.begin() as db:
        db.execute(
            update(devices)
            .where(devices.c.id == site.ids[kiosk])
            .values(created_at=utcnow() - timedelta(minutes=minutes))
        )
    engine.dispose()
