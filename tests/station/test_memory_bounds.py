"""What the station keeps in memory per item is bounded (issue 11, finding 10): a map of every item ever
circulated grew with each new item for as long as the station ran. bench/soak.py measures the station's
memory over 1,000 visits; this holds the bound itself. Real station, demo library system, simulated pad."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from kiosk.core import Action, SessionPolicy
from kiosk.demo import DemoEnvironment, finish_visit, handle_stack, log_in
from kiosk.journal import Journal
from kiosk.station import sending
from server_api.demo_ils import data as demo

POLICY = SessionPolicy(goodbye_time=timedelta(0))


async def test_the_station_remembers_the_latest_entry_of_its_most_recent_items_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(sending, "ENTRIES_KEPT", 2)
    first, second, third = demo.DEMO_BORROW_ITEMS[:3]
    async with DemoEnvironment(tmp_path, policy=POLICY) as env:
        assert env.station is not None
        assert await log_in(env)
        for item in (first, second, third):  # one after the other, each written and verified
            await handle_stack(env, Action.BORROW, [item])
        await finish_visit(env, receipt=False)
        remembered = [env.station.sending.latest_entry(item) is not None for item in (first, second, third)]
        assert remembered == [False, True, True]
        assert env.journal.unfinished_security() == []  # every write was noted before it was forgotten


def test_the_journal_page_cache_is_bounded(tmp_path: Path):
    journal = Journal(tmp_path / "journal.sqlite3")
    try:
        (cache,) = journal.conn.execute("PRAGMA cache_size").fetchone()
        assert cache < 0 and -cache <= 256  # KiB; SQLite's default (2,000) grew RSS with every visit
    finally:
        journal.close()
