"""A request that could not go out at all (no connection): the patron hears it did not work only after
the journal says so durably. Were that outcome still riding along when the power went, the entry would
look sent-but-unanswered, and the replay would lend the patron a book they left on the pad."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from kiosk.demo import DemoEnvironment
from kiosk.scenarios import handle_stack, log_in
from kiosk.screens import Action, RowState


async def test_a_request_that_never_went_out_is_durably_refused_before_the_patron_is_told(
    tmp_path: Path,
) -> None:
    async with DemoEnvironment(tmp_path, failure_budget=10) as env:
        assert env.station is not None
        await log_in(env)
        env.cut_network()  # the station still believes it is online: the checkout is attempted
        item = env.demo_borrow_items[0]
        screen = await handle_stack(env, Action.BORROW, [item])
        (row,) = [r for r in screen.rows if r.item_id == item]
        assert row.state is not RowState.DONE
        # What a restarted station would find: another connection sees only committed data.
        with sqlite3.connect(tmp_path / "journal.sqlite3") as db:
            states = db.execute("SELECT state FROM entries WHERE item_id = ?", (item,)).fetchall()
        assert states == [("refused",)]
