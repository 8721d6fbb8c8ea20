"""A scripted wait that runs out says where the station stood and the screens that led there, so a
scenario that failed on a busy machine can be read from its error alone."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kiosk.core import Action, ScreenName
from kiosk.demo.environment import DemoEnvironment


async def test_a_wait_that_runs_out_names_the_screen_and_the_way_there(tmp_path: Path) -> None:
    async with DemoEnvironment(tmp_path) as env:
        assert env.station is not None
        await env.station.settle()
        env.place_patron_card()
        with pytest.raises(TimeoutError) as raised:
            await env.wait_for(lambda s: s.name is ScreenName.RECEIPT, timeout=3.0)
    said = str(raised.value)
    assert said.startswith("after 3s the station still shows pin (")
    assert "the screens it showed meanwhile (last 8): " in said and "pin (" in said.split("meanwhile")[1]


async def test_a_screen_that_was_up_only_until_the_next_step_is_still_seen(tmp_path: Path) -> None:
    """On a busy machine the waiting task may wake after the screen it waits for has gone again (a "no
    answer" on the welcome screen is cleared at the next tick when the goodbye time is 0)."""
    async with DemoEnvironment(tmp_path) as env:
        assert env.station is not None
        station = env.station
        await station.settle()
        waiting = asyncio.create_task(env.wait_for(lambda s: s.name is ScreenName.IDENTIFY, timeout=3.0))
        await asyncio.sleep(0.1)  # the waiter is waiting
        station.press(Action.BORROW)  # the identify screen...
        station.press(Action.CANCEL)  # ...gone again before the waiter runs
        assert station.screen.name is ScreenName.WELCOME
        assert (await waiting).name is ScreenName.IDENTIFY
