"""A loan whose security bit could not be set under `security_failure = "undo"` is checked back in, and
the undo survives a crash (issue 11, finding 1): it is journalled before the session hears of the failed
write, ended by recording the return, and carried out by the next start when the last run did not get
to it, exactly once. Real station, demo library system over SIP2 (its own event log is the judge),
simulated pad."""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta
from pathlib import Path

from kiosk.core import (
    Action,
    Checkin,
    OfflinePolicy,
    Operation,
    ScreenName,
    SecurityFailurePolicy,
    SessionPolicy,
    TaskKind,
)
from kiosk.demo import DemoEnvironment, ils_events, log_in
from kiosk.journal import State
from server_api.demo_ils import data as demo
from tests.waiting import until

UNDO = SessionPolicy(goodbye_time=timedelta(0), security_failure=SecurityFailurePolicy.UNDO)
ITEM = demo.DEMO_BORROW_ITEMS[0]


def applied(workdir: Path) -> list[str]:
    """What the library system's own log has for the item: its kinds, in order."""
    return [kind for kind, _item, _patron, _at in ils_events(workdir / "demo-ils.sqlite3", {ITEM})]


async def borrow_with_a_tag_that_will_not_take_the_write(env: DemoEnvironment) -> None:
    assert env.station is not None
    assert await log_in(env)
    env.station.press(Action.BORROW)
    await until(lambda: env.station is not None and env.station.screen.name is ScreenName.BORROW)
    env.place_items([ITEM])
    env.pad.fail_next_afi_writes(env.item_tags[ITEM][0].uid, 99)


async def test_a_failed_write_under_undo_checks_the_loan_back_in_and_leaves_nothing_pending(tmp_path: Path):
    async with DemoEnvironment(tmp_path, policy=UNDO) as env:
        assert env.station is not None
        await borrow_with_a_tag_that_will_not_take_the_write(env)
        await until(lambda: [e for e in env.journal.entries() if e.operation is Operation.CHECKIN])
        await env.station.settle()
        assert applied(tmp_path) == ["checkout", "checkin"]
        assert env.journal.pending_undos() == []  # recording the return ended it
        assert [t.kind for t in env.journal.tasks()] == [TaskKind.SECURITY_FAILED]
    async with DemoEnvironment(tmp_path, policy=UNDO) as env:  # nothing for the next start to do
        assert env.station is not None
        await env.station.settle()
        assert applied(tmp_path) == ["checkout", "checkin"]
        assert [t.kind for t in env.journal.tasks()] == [TaskKind.SECURITY_FAILED]


async def test_an_undo_the_station_stopped_before_is_carried_out_at_the_next_start_exactly_once(
    tmp_path: Path,
):
    async with DemoEnvironment(tmp_path, policy=UNDO) as env:
        assert env.station is not None
        station = env.station
        circulate = station.sending.circulate

        async def stopped_before_the_return(command):  # type: ignore[no-untyped-def]
            if isinstance(command, Checkin):
                await asyncio.Event().wait()  # the power goes here: the undo's return is never recorded
            await circulate(command)

        station.sending.circulate = stopped_before_the_return  # type: ignore[method-assign]
        await borrow_with_a_tag_that_will_not_take_the_write(env)
        await until(lambda: env.journal.pending_undos())
        assert applied(tmp_path) == ["checkout"]  # the loan stands: nobody has checked it back in yet
    for _start in range(2):
        async with DemoEnvironment(tmp_path, policy=UNDO) as env:
            assert env.station is not None
            await env.station.settle()  # the return recorded at start, sent by the start-up replay
            assert applied(tmp_path) == ["checkout", "checkin"]  # once, however many starts
            assert env.journal.pending_undos() == []
            (back,) = [e for e in env.journal.entries() if e.operation is Operation.CHECKIN]
            assert back.state is State.DONE
            # Staff were told of the failed write; the undo adds no second task.
            assert [t.kind for t in env.journal.tasks()] == [TaskKind.SECURITY_FAILED]
            assert "undo" in env.journal.tasks()[0].detail


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_an_undo_that_finds_the_library_system_unreachable_at_start_waits_in_the_journal(
    tmp_path: Path,
):
    async with DemoEnvironment(tmp_path, policy=UNDO) as env:
        assert env.station is not None
        station = env.station
        circulate = station.sending.circulate

        async def stopped_before_the_return(command):  # type: ignore[no-untyped-def]
            if isinstance(command, Checkin):
                await asyncio.Event().wait()
            await circulate(command)

        station.sending.circulate = stopped_before_the_return  # type: ignore[method-assign]
        await borrow_with_a_tag_that_will_not_take_the_write(env)
        await until(lambda: env.journal.pending_undos())
    unreachable = ("127.0.0.1", closed_port())
    async with DemoEnvironment(tmp_path, policy=UNDO, ils_address=unreachable, sip2_timeout=0.5) as env:
        assert env.station is not None
        await env.station.settle()
        assert not env.station.online and env.journal.pending_undos() == []
        (back,) = [e for e in env.journal.entries() if e.operation is Operation.CHECKIN]
        assert back.state is State.SENDING  # journalled: the next replay sends it
    assert applied(tmp_path) == ["checkout"]
    async with DemoEnvironment(tmp_path, policy=UNDO) as env:
        assert env.station is not None
        await env.station.settle()
        assert applied(tmp_path) == ["checkout", "checkin"]


async def test_an_offline_loan_whose_write_fails_under_undo_is_checked_back_in_once_online_again(
    tmp_path: Path,
):
    # Offline the undo cannot go out (the loan itself has not reached the library system): it waits in
    # the journal, and the way back online records it, so the replay sends the loan, then its undo.
    policy = SessionPolicy(
        goodbye_time=timedelta(0),
        security_failure=SecurityFailurePolicy.UNDO,
        offline=OfflinePolicy(known_card=False),  # this station has not seen the card online yet
    )
    async with DemoEnvironment(tmp_path, policy=policy, failure_budget=1, probe_interval=0.2) as env:
        assert env.station is not None
        station = env.station
        await station.settle()
        env.cut_network()
        assert await station.check_connection() is False
        await borrow_with_a_tag_that_will_not_take_the_write(env)
        await until(lambda: env.journal.pending_undos())
        await station.settle()
        assert applied(tmp_path) == [] and env.journal.pending_undos()  # still waiting
        env.restore_network()
        await until(lambda: applied(tmp_path) == ["checkout", "checkin"])
        await station.settle()
        assert env.journal.pending_undos() == [] and applied(tmp_path) == ["checkout", "checkin"]
