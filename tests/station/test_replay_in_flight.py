"""A replay and an action the station is still sending: the replay (the way back online, staff's "Sync now")
leaves the station's own sends alone, and a settlement that comes second is a note, not a fault.

Over SIP2 a replay that took an entry still on its way for unanswered would ask the library system (63)
before the checkout got there, hear "not on loan", and lend it a second time."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from kiosk.core import Action, RowState, SessionPolicy
from kiosk.demo import DemoEnvironment, log_in
from kiosk.journal import State
from kiosk.station import Observation, StationFault
from server_api.faulty_link import FaultPlan


def checkout_events(db: Path, item_id: str) -> list[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT kind FROM events WHERE item_id = ? ORDER BY rowid", (item_id,))
        return [kind for (kind,) in rows]


async def borrow_on_a_slow_line(env: DemoEnvironment) -> str:
    """Log in, borrow one item with every reply 1 s late; return when it is recorded and on its way."""
    station = env.station
    assert station is not None and env.link is not None
    await station.settle()
    assert await log_in(env)
    station.press(Action.BORROW)
    env.link.plan = FaultPlan(delay_reply=1.0, delay_seconds=1.0)  # from now on, every reply is late
    item = env.demo_borrow_items[0]
    env.place_items([item])
    async with asyncio.timeout(10):
        while not station.journal.unsettled():  # recorded: the checkout is on its way
            await asyncio.sleep(0.01)
    return item


async def test_a_sync_while_a_loan_is_on_its_way_neither_sends_it_again_nor_takes_its_reply(
    tmp_path: Path,
) -> None:
    async with DemoEnvironment(tmp_path, policy=SessionPolicy(goodbye_time=timedelta(0))) as env:
        station = env.station
        assert station is not None and env.ils is not None
        item = await borrow_on_a_slow_line(env)
        report = await station.sync()  # staff's "Sync now", or the replay of the way back online
        screen = await env.wait_for(
            lambda s: any(r.item_id == item and r.state is not RowState.WORKING for r in s.rows)
        )
        await station.settle()

        assert (report.remaining, report.reconciled, report.replayed, report.stopped) == (1, 0, 0, "")
        (row,) = [r for r in screen.rows if r.item_id == item]
        assert row.state is RowState.DONE
        (entry,) = station.journal.entries()
        assert entry.state is State.DONE and not entry.replayed and entry.attempts == 0
        assert checkout_events(env.ils.db_path, item) == ["checkout"]


async def test_an_outcome_settled_first_by_someone_else_is_a_note_not_a_station_fault(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with DemoEnvironment(tmp_path, policy=SessionPolicy(goodbye_time=timedelta(0))) as env:
        station = env.station
        assert station is not None and env.ils is not None
        faults: list[Observation] = []
        station.add_observer(lambda o: faults.append(o) if isinstance(o, StationFault) else None)
        item = await borrow_on_a_slow_line(env)
        (entry,) = station.journal.unsettled()
        # Settled while the reply is on its way (a replay that got there first): the table will refuse
        # the station's own DONE when the reply comes.
        station.journal.settle(entry.id, State.DONE, outcome={"reconciled": True})
        with caplog.at_level(logging.INFO, logger="kiosk.station.sending"):
            screen = await env.wait_for(
                lambda s: any(r.item_id == item and r.state is not RowState.WORKING for r in s.rows)
            )
            await station.settle()

        (row,) = [r for r in screen.rows if r.item_id == item]
        assert row.state is RowState.DONE  # the patron is told what the library system said
        assert faults == []
        assert any("settled already" in r.getMessage() for r in caplog.records)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert checkout_events(env.ils.db_path, item) == ["checkout"]
