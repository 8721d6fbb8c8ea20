"""The demo's tags keep their AFI across restarts, as stickers in books do (issue 11, finding 2): a demo
user who stops the demo in the middle of a loan finds the tag as the station left it, not reset from the
library system. Real demo environment: demo library system over SIP2, simulated pad."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

from kiosk.core import AFI_IN_LIBRARY, AFI_ON_LOAN, Action, SessionPolicy, TaskKind
from kiosk.demo import TAG_AFI_FILE, DemoEnvironment, finish_visit, handle_stack, log_in
from server_api.demo_ils import data as demo
from tests.waiting import until

POLICY = SessionPolicy(goodbye_time=timedelta(0))


def on_loan_at_start() -> str:
    return demo.LOANS[0].item_id


async def test_a_new_demo_gives_items_on_loan_the_on_loan_afi_and_keeps_it_in_an_owner_only_file(
    tmp_path: Path,
):
    async with DemoEnvironment(tmp_path, policy=POLICY) as env:
        assert env.item_afi(on_loan_at_start()) == [AFI_ON_LOAN] * len(env.item_tags[on_loan_at_start()])
        assert env.item_afi(demo.DEMO_BORROW_ITEMS[0]) == [AFI_IN_LIBRARY]
    kept = tmp_path / TAG_AFI_FILE
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


async def test_a_tag_the_station_could_not_secure_is_still_unsecured_after_a_restart(tmp_path: Path):
    item = demo.DEMO_BORROW_ITEMS[0]
    async with DemoEnvironment(tmp_path, policy=POLICY) as env:
        assert env.station is not None
        assert await log_in(env)
        env.station.press(Action.BORROW)
        await until(lambda: env.station is not None and env.station.screen.name.value == "borrow")
        env.place_items([item])
        env.pad.fail_next_afi_writes(env.item_tags[item][0].uid, 99)  # policy flag: the loan stands
        await until(lambda: any(t.kind is TaskKind.SECURITY_FAILED for t in env.journal.tasks()))
        env.remove_items([item])
    async with DemoEnvironment(tmp_path, policy=POLICY) as env:
        # The library system has it on loan; the tag is still in-library, as in a real library: that is
        # what the staff task is about. A reset from the library system would hide it.
        assert env.item_afi(item) == [AFI_IN_LIBRARY]


async def test_every_write_the_pad_takes_is_kept_across_restarts(tmp_path: Path):
    item = demo.DEMO_BORROW_ITEMS[1]
    async with DemoEnvironment(tmp_path, policy=POLICY) as env:
        assert await log_in(env)
        await handle_stack(env, Action.BORROW, [item])
        await finish_visit(env, receipt=False)
        await handle_stack(env, Action.RETURN, [item])
        await finish_visit(env, receipt=False)
        assert env.item_afi(item) == [AFI_IN_LIBRARY]
        env.place_items([item])  # left lying on the pad, written there by hand
        await env.pad.write_afi(env.item_tags[item][0].uid, 0x42)
    async with DemoEnvironment(tmp_path, policy=POLICY) as env:
        assert env.item_afi(item) == [0x42]


async def test_a_damaged_tag_file_is_said_and_the_tags_start_again_from_the_library_system(
    tmp_path: Path, caplog
):  # type: ignore[no-untyped-def]
    (tmp_path / TAG_AFI_FILE).write_bytes(b"\xff not json")
    async with DemoEnvironment(tmp_path, policy=POLICY) as env:
        assert env.item_afi(on_loan_at_start())[0] == AFI_ON_LOAN
    assert TAG_AFI_FILE in caplog.text and "damaged" in caplog.text
