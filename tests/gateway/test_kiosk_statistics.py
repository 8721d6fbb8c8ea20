"""The kiosk's hour counts reach the statistics the staff console shows: sessions by language, minutes
offline, loans taken offline, what it refused offline, beside the loans the gateway counts itself; sent
with the heartbeat as totals, so a heartbeat sent twice counts once; kept across a restart. Kiosk -> demo
gateway (uvicorn on 127.0.0.1) -> demo ILS, the console's own query reading the gateway's database."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

from kiosk.core import Action, ScreenName, SessionPolicy
from kiosk.demo import DemoEnvironment, finish_visit, handle_stack, log_in
from kiosk.station import GatewayReports, HourCounts
from server_api.console.accounts import Viewer
from server_api.console.stats import rows, summarise
from server_api.demo_ils import CHILD_PATRON_ID
from server_api.gateway.demo import DemoGateway


def console_cells(gateway: DemoGateway | None, library: str) -> dict[tuple[str, str], float]:
    """What the console's statistics page reads for `library`, summed over the kiosk's hours."""
    assert gateway is not None
    staff = Viewer("tove", "staff", frozenset({library}))
    cells: dict[tuple[str, str], float] = {}
    for row in rows(gateway.engine, staff, days=2):
        key = (row["metric"], row["label"])
        cells[key] = cells.get(key, 0.0) + float(row["value"])
    return cells


async def test_hour_counts_travel_with_the_heartbeat_and_show_in_the_console(tmp_path: Path) -> None:
    env = DemoEnvironment(
        tmp_path, gateway=True, policy=SessionPolicy(goodbye_time=timedelta(0)), tick_interval=0.05
    )
    async with env:
        station = env.station
        assert station is not None and isinstance(station.gateway, GatewayReports)
        reports, library = station.gateway, env.library.number
        first, second = env.demo_borrow_items[:2]
        assert await log_in(env)  # online, with the PIN
        await handle_stack(env, Action.BORROW, [first])
        await finish_visit(env, receipt=False)

        await reports.refresh()  # the card is known centrally: it may borrow offline
        env.cut_network()
        while station.online:
            await station.check_connection()
        await asyncio.sleep(2.0)  # the station's clock counts whole seconds: be offline for some
        assert await log_in(env)
        await handle_stack(env, Action.BORROW, [second])
        await finish_visit(env, receipt=False)
        # A card never seen online anywhere: offline, the kiosk cannot vouch for it and says so (the
        # gateway never hears of it: only the kiosk can count it).
        assert await log_in(env, CHILD_PATRON_ID)
        assert station.screen.message is not None
        assert station.screen.message.key == "menu.offline_card_not_known"
        station.press(Action.FINISH)
        await env.wait_for(lambda s: s.name is ScreenName.WELCOME)

        beat = await reports.beat()
        await reports.beat()  # the same totals again: counted once
        cells = console_cells(env.gateway, library)
        assert cells[("language", station.policy.language)] == 3  # three sessions, one language
        assert cells[("refusals", "offline_card_not_known")] == 1  # once, however often the menu was drawn
        assert cells[("offline", "loans")] == 1 and 0 < cells[("offline_minutes", "")] <= 60
        assert cells[("loans", "")] == 1  # the online loan, counted by the gateway as it carried it out
        assert beat.hours  # the heartbeat carried them

        env.restore_network()
        while not station.online:
            await station.check_connection()
        await station.sync()  # the offline loan reaches the library system through the gateway
        await reports.beat()
        after = console_cells(env.gateway, library)
        summary = summarise(rows(env.gateway.engine, Viewer("tove", "staff", frozenset({library})), days=2))
    assert after[("loans", "offline")] == 1 and after[("offline", "loans")] == 1
    kiosk = next(iter(summary.by_kiosk))
    assert summary.by_kiosk[kiosk]["loans"] == 2  # the console's chart: both loans, each once
    assert summary.languages == {station.policy.language: 3} and summary.offline_minutes[kiosk] > 0
    hours_file = tmp_path / "journal.sqlite3.hours.json"
    assert hours_file.stat().st_mode & 0o077 == 0 and env.demo_patron_id not in hours_file.read_text()


def test_counts_kept_beside_the_journal_survive_a_restart_and_an_hour_taken_is_dropped(
    tmp_path: Path,
) -> None:
    now = [datetime(2026, 12, 1, 9, 50)]
    counts = HourCounts(tmp_path / "hours.json", lambda: now[0], online=False)
    now[0] = datetime(2026, 12, 1, 10, 20)
    reported = counts.reports()  # offline from 9:50: ten minutes in the hour of 9, twenty in the hour of 10
    assert [(r.hour.hour, r.offline_minutes) for r in reported] == [(9, 10.0), (10, 20.0)]
    counts.save()
    again = HourCounts(tmp_path / "hours.json", lambda: now[0], online=False)
    assert sorted(again.hours) == sorted(counts.hours)  # a restart keeps them
    counts.taken(reported)
    assert [at.hour for at in counts.hours] == [10]  # the hour that is over is done; the current stays
