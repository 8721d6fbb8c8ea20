"""Every case that needs a person at the station becomes a staff task (issue 11, findings 1 and 2): a
security write the last run left unfinished, one that failed every attempt, a dead reader, a staff slip
the printer lost (with its routing). Real station, demo library system over SIP2, simulated pad."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

from kiosk.core import AFI_ON_LOAN, Action, Operation, SessionPolicy, TaskKind
from kiosk.demo import DemoEnvironment, finish_visit, handle_stack, log_in
from kiosk.journal import Journal, State
from server_api.circulation import Transaction
from server_api.demo_ils import data as demo_data
from tests.waiting import until

POLICY = SessionPolicy(goodbye_time=timedelta(0))


async def test_a_security_write_the_last_run_left_unfinished_is_a_staff_task_naming_the_item(tmp_path: Path):
    # The last run lent the item and died before its tag was written (the intent is all that is left).
    journal = Journal(tmp_path / "journal.sqlite3")
    entry = journal.record(Transaction.new(datetime.now()), Operation.CHECKOUT, "item-x", "patron")
    journal.settle(entry.id, State.DONE, durable=True)
    journal.close()
    async with DemoEnvironment(tmp_path, policy=POLICY) as env:
        assert env.station is not None
        await env.station.settle()  # the start-up replay, then the unfinished writes
        (task,) = env.journal.tasks()
        assert (task.kind, task.item_id) == (TaskKind.SECURITY_UNFINISHED, "item-x")
        assert "0xC2" in task.detail and env.station.status().tasks == (task,)
    async with DemoEnvironment(tmp_path, policy=POLICY) as env:  # told once, not at every start
        assert env.station is not None
        await env.station.settle()
        assert len(env.journal.tasks()) == 1


async def test_a_security_write_that_fails_every_attempt_is_a_staff_task_and_a_verified_one_is_not(
    tmp_path: Path,
):
    async with DemoEnvironment(tmp_path, policy=POLICY) as env:
        assert env.station is not None
        bad, good = env.demo_borrow_items[:2]
        assert await log_in(env)
        env.station.press(Action.BORROW)
        await until(lambda: env.station is not None and env.station.screen.name.value == "borrow")
        env.place_items([bad])
        env.pad.fail_next_afi_writes(env.item_tags[bad][0].uid, 99)
        await until(lambda: any(t.kind is TaskKind.SECURITY_FAILED for t in env.journal.tasks()))
        env.remove_items([bad])
        await env.wait_lifted([bad])
        await handle_stack(env, Action.BORROW, [good])
        assert env.item_afi(good) == [AFI_ON_LOAN]
        await finish_visit(env, receipt=False)
        assert [(t.kind, t.item_id) for t in env.journal.tasks()] == [(TaskKind.SECURITY_FAILED, bad)]
        assert env.journal.unfinished_security() == []  # the good one done, the bad one told


async def test_a_staff_slip_the_printer_lost_keeps_its_routing_in_a_staff_task(tmp_path: Path):
    async with DemoEnvironment(tmp_path, policy=POLICY) as env:
        assert env.station is not None
        env.empty_printer()
        await handle_stack(env, Action.RETURN, [demo_data.HOLD_SHELF_ITEM])
        task = await until(lambda: [t for t in env.journal.tasks() if t.kind is TaskKind.SLIP_NOT_PRINTED])
        assert task[0].item_id == demo_data.HOLD_SHELF_ITEM and "out of paper" in task[0].detail
        assert len(task[0].detail) > len("(printer: out of paper)") + 10  # the routing itself is kept


async def test_a_reader_that_stops_answering_is_a_staff_task_once_per_outage(tmp_path: Path):
    async with DemoEnvironment(tmp_path, policy=POLICY) as env:
        env.pad.unplug()
        await until(lambda: [t for t in env.journal.tasks() if t.kind is TaskKind.READER_DEAD])
        await asyncio.sleep(0.5)  # many more rounds without an answer
        assert len(env.journal.tasks()) == 1
