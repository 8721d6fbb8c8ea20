"""When the patron hears "no", the journal already says so on disk.

A request that could not go out at all (no connection), and one the library system refused: were that
outcome still riding along when the power went, the entry would look sent-but-unanswered after the
restart, and the replay (with *no block*) would lend what the patron gave up on or the library system
refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kiosk.core import Action, RowState, Screen
from kiosk.demo import DemoEnvironment, handle_stack, log_in
from server_api.demo_ils import data as demo_data


def committed_states(journal: Path, item_id: str) -> list[str]:
    """What a restarted station would find: another connection sees only committed data."""
    with sqlite3.connect(journal) as db:
        return [r[0] for r in db.execute("SELECT state FROM entries WHERE item_id = ?", (item_id,))]


@pytest.mark.parametrize("case", ["no connection", "refused by the library system"])
async def test_the_journal_has_the_refusal_on_disk_before_the_patron_sees_it(
    tmp_path: Path, case: str
) -> None:
    async with DemoEnvironment(tmp_path, failure_budget=10) as env:
        assert env.station is not None
        journal = tmp_path / "journal.sqlite3"
        await log_in(env)
        if case == "no connection":
            item = env.demo_borrow_items[0]
            env.cut_network()  # the station still believes it is online: the checkout is attempted
        else:
            item = demo_data.NOT_FOR_LOAN_ITEM  # refused online; a replay with no block would lend it
        on_disk_when_told: list[list[str]] = []

        def patron_sees(screen: Screen) -> None:
            rows = [r for r in screen.rows if r.item_id == item and r.state is not RowState.WORKING]
            if rows and not on_disk_when_told:
                on_disk_when_told.append(committed_states(journal, item))

        env.station.add_listener(patron_sees)
        screen = await handle_stack(env, Action.BORROW, [item])
        (row,) = [r for r in screen.rows if r.item_id == item]
        assert row.state is not RowState.DONE
        assert on_disk_when_told == [["refused"]]
