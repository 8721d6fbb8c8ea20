"""A bug in a driver or in the station must not freeze the patron's screen: the item in question ends
in a state the patron can act on, the session goes on, and the technician finds it in the log."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from kiosk.core import Action, RowState, ScreenName, SessionPolicy
from kiosk.demo import DemoEnvironment, finish_visit, handle_stack, log_in
from kiosk.station import Observation, StationFault


async def test_an_unexpected_error_in_the_security_write_is_shown_not_hung(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with DemoEnvironment(tmp_path, policy=SessionPolicy(goodbye_time=timedelta(0))) as env:
        assert env.station is not None

        async def broken_write_afi(uid: bytes, afi: int) -> None:
            raise RuntimeError("a bug in the reader driver")

        env.pad.write_afi = broken_write_afi  # type: ignore[method-assign]
        item = env.demo_borrow_items[0]
        await log_in(env)
        with caplog.at_level(logging.ERROR, logger="kiosk.station"):
            screen = await handle_stack(env, Action.BORROW, [item])  # bounded: fails if it hangs
        (row,) = [r for r in screen.rows if r.item_id == item]
        assert row.state is RowState.ATTENTION  # the patron is asked to act, not left waiting
        assert "a bug in the reader driver" in caplog.text
        await finish_visit(env, receipt=False)
        assert env.station.screen.name is ScreenName.WELCOME


async def test_a_bug_while_watching_the_pad_is_reported_and_the_station_keeps_watching(
    tmp_path: Path,
) -> None:
    async with DemoEnvironment(tmp_path, policy=SessionPolicy(goodbye_time=timedelta(0))) as env:
        assert env.station is not None
        seen: list[Observation] = []
        env.station.add_observer(seen.append)
        inventory = env.pad.inventory
        broken = True

        async def inventory_with_a_bug() -> list[bytes]:
            if broken:
                raise RuntimeError("a bug in the inventory")
            return await inventory()

        env.pad.inventory = inventory_with_a_bug  # type: ignore[method-assign]
        async with asyncio.timeout(5):
            while not any(isinstance(o, StationFault) for o in seen):
                await asyncio.sleep(0.02)
        broken = False
        env.place_patron_card()  # the loop still runs: the card opens the session
        await env.wait_for(lambda s: s.name is ScreenName.PIN)
        assert "a bug in the inventory" in next(o for o in seen if isinstance(o, StationFault)).error
