"""A security write the last run left unfinished is finished at start when the item is still on the pad
(issue 11, finding 1): the tag is re-read, written and read back, and staff get a task only when that
cannot be done (the item is gone, a part is missing, the tag does not take it, or the library system has
not confirmed the action). Real station, demo library system over SIP2, the simulated pad and, for the
hardware's own path, the FEIG driver over a pty to its simulator."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from drivers.printer.file_printer import FilePrinter
from drivers.rfid.base import AFI_IN_LIBRARY, AFI_ON_LOAN
from drivers.rfid.feig import FeigReader
from drivers.rfid.feig_protocol import ISO_WRITE_AFI
from drivers.rfid.feig_sim import Fault, SimulatedFeigReader
from drivers.rfid.sim import make_uid
from drivers.tags.iso28560_3 import DanishTag, TypeOfUsage, encode
from kiosk.core import Action, Operation, ScreenName, SessionPolicy, TaskKind
from kiosk.demo import DemoEnvironment, log_in
from kiosk.journal import Journal, State
from kiosk.station import Station, StationSettings, StationTiming
from server_api.circulation import Transaction
from server_api.demo_ils import data as demo
from server_api.demo_ils.server import DemoIls
from tests.demo.kiosks import kiosk
from tests.waiting import until

POLICY = SessionPolicy(goodbye_time=timedelta(0))
INSTANT = StationTiming(poll_interval=0.02)


async def a_life_that_stops_before_the_write(workdir: Path, action: Action, item: str) -> None:
    """The station lends (or takes back) the item and stops before its tag is written: the write
    hangs until the station is stopped, as a power cut would leave it (the tags stay as they were)."""
    async with DemoEnvironment(workdir, policy=POLICY) as env:
        assert env.station is not None
        station = env.station

        async def never(uid: bytes, afi: int) -> None:
            await asyncio.Event().wait()

        env.pad.write_afi = never  # type: ignore[method-assign]
        if action is Action.BORROW:
            assert await log_in(env)
        station.press(action)
        await until(lambda: station.screen.name in (ScreenName.BORROW, ScreenName.RETURN))
        env.place_items([item])
        operation = Operation.CHECKOUT if action is Action.BORROW else Operation.CHECKIN
        await until(
            lambda: [
                e
                for e in env.journal.entries()
                if (e.operation, e.item_id, e.state) == (operation, item, State.DONE)
            ]
        )
        assert [i.item_id for i in env.journal.unfinished_security()] == [item]


@contextlib.asynccontextmanager
async def next_life(workdir: Path, on_pad: list[str], **options) -> AsyncIterator[DemoEnvironment]:  # type: ignore[no-untyped-def]
    """The next start, with these items lying on the pad (as the last patron left them)."""
    env = DemoEnvironment(workdir, policy=POLICY, **options)
    env.place_items(on_pad)
    async with env:
        assert env.station is not None
        await env.station.settle()  # the start-up replay, then the unfinished writes
        yield env


async def test_a_loan_whose_tag_is_still_on_the_pad_is_finished_at_start_and_gives_staff_nothing_to_do(
    tmp_path: Path,
):
    item = demo.DEMO_BORROW_ITEMS[0]
    await a_life_that_stops_before_the_write(tmp_path, Action.BORROW, item)
    async with next_life(tmp_path, [item]) as env:
        assert env.item_afi(item) == [AFI_ON_LOAN]
        assert env.journal.tasks() == [] and env.journal.unfinished_security() == []
        (loan,) = [e for e in env.journal.entries() if e.item_id == item]
        assert [note["verified"] for note in loan.security] == [True]  # written and read back


async def test_a_return_whose_tag_is_still_on_the_pad_is_finished_at_start(tmp_path: Path):
    item = next(loan.item_id for loan in demo.LOANS if loan.item_id not in {h.item_id for h in demo.HOLDS})
    await a_life_that_stops_before_the_write(tmp_path, Action.RETURN, item)
    async with next_life(tmp_path, [item]) as env:
        assert env.item_afi(item) == [AFI_IN_LIBRARY]  # the tag kept its on-loan AFI until now
        assert env.journal.tasks() == [] and env.journal.unfinished_security() == []


async def test_an_item_no_longer_on_the_pad_is_a_staff_task_and_its_tag_is_left_alone(tmp_path: Path):
    item = demo.DEMO_BORROW_ITEMS[0]
    await a_life_that_stops_before_the_write(tmp_path, Action.BORROW, item)
    async with next_life(tmp_path, []) as env:
        (task,) = env.journal.tasks()
        assert (task.kind, task.item_id) == (TaskKind.SECURITY_UNFINISHED, item) and "0xC2" in task.detail
        assert env.item_afi(item) == [AFI_IN_LIBRARY]  # as the stopped station left it
    async with next_life(tmp_path, [item]) as env:  # told once; a later start does not write behind staff
        assert len(env.journal.tasks()) == 1 and env.item_afi(item) == [AFI_IN_LIBRARY]


async def test_a_set_with_a_part_missing_gets_the_part_on_the_pad_written_and_a_task_naming_the_rest(
    tmp_path: Path,
):
    item = demo.DEMO_SET_ITEM  # two discs
    await a_life_that_stops_before_the_write(tmp_path, Action.BORROW, item)
    env = DemoEnvironment(tmp_path, policy=POLICY)
    env.place_items([item], parts={item: [1]})
    async with env:
        assert env.station is not None
        await env.station.settle()
        assert env.item_afi(item) == [AFI_ON_LOAN, AFI_IN_LIBRARY]
        (task,) = env.journal.tasks()
        assert task.item_id == item and "part 2 was not on the pad" in task.detail


async def test_a_loan_a_crash_left_unanswered_is_settled_by_the_replay_before_its_tag_is_written(
    tmp_path: Path,
):
    # The last run recorded the loan and died before sending it (or before its reply): its fate is
    # unknown until the start-up replay asks the library system; only then is the tag written.
    item = demo.DEMO_BORROW_ITEMS[1]
    journal = Journal(tmp_path / "journal.sqlite3")
    journal.record(Transaction.new(datetime.now()), Operation.CHECKOUT, item, demo.DEMO_PATRON_ID)
    journal.close()
    async with next_life(tmp_path, [item]) as env:
        (loan,) = [e for e in env.journal.entries() if e.item_id == item]
        assert loan.state is State.DONE  # sent by the replay, as first sent
        assert env.item_afi(item) == [AFI_ON_LOAN] and env.journal.tasks() == []


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_an_action_whose_fate_is_still_unknown_at_start_goes_to_staff_and_the_tag_is_not_guessed(
    tmp_path: Path,
):
    item = demo.DEMO_BORROW_ITEMS[1]
    journal = Journal(tmp_path / "journal.sqlite3")
    journal.record(Transaction.new(datetime.now()), Operation.CHECKOUT, item, demo.DEMO_PATRON_ID)
    journal.close()
    unreachable = ("127.0.0.1", closed_port())  # the library system cannot be asked
    async with next_life(tmp_path, [item], ils_address=unreachable, sip2_timeout=0.5) as env:
        assert env.station is not None and not env.station.online
        (task,) = env.journal.tasks()
        assert task.item_id == item and "has not confirmed" in task.detail
        assert env.item_afi(item) == [AFI_IN_LIBRARY]


# ---------------------------------------------------------------- the same through the FEIG driver


@dataclass
class FeigStation:
    station: Station
    sim: SimulatedFeigReader
    journal: Journal


def item_tag(item_id: str) -> bytes:
    return encode(DanishTag(TypeOfUsage.CIRCULATING, 1, 1, item_id, "NO", demo.TROMSO))


@contextlib.asynccontextmanager
async def feig_station(tmp_path: Path, journal: Journal, sim: SimulatedFeigReader) -> AsyncIterator[Station]:
    async with DemoIls(db_path=tmp_path / "ils.sqlite3", host="127.0.0.1", port=0) as ils:
        circulation = kiosk(ils, timeout=5.0)
        reader = FeigReader(sim.path, timeout=1.0)
        station = Station(
            circulation=circulation,
            reader=reader,
            printer=FilePrinter(tmp_path / "receipts"),
            policy=POLICY,
            journal=journal,
            settings=StationSettings(timing=INSTANT),
        )
        await station.start()
        try:
            await station.settle()
            yield station
        finally:
            await station.stop()
            await reader.close()
            await circulation.close()


def a_loan_left_unsecured(path: Path, item: str) -> Journal:
    """The last run lent the item (the library system confirmed it) and stopped before the write."""
    journal = Journal(path)
    entry = journal.record(Transaction.new(datetime.now()), Operation.CHECKOUT, item, demo.DEMO_PATRON_ID)
    journal.settle(entry.id, State.DONE, durable=True)
    return journal


async def test_through_the_feig_reader_a_tag_still_on_the_pad_is_written_and_read_back_at_start(
    tmp_path: Path,
):
    item, uid = demo.DEMO_BORROW_ITEMS[2], make_uid(500)
    journal = a_loan_left_unsecured(tmp_path / "journal.sqlite3", item)
    with SimulatedFeigReader() as sim:
        sim.place(uid, item_tag(item), AFI_IN_LIBRARY)
        async with feig_station(tmp_path, journal, sim):
            assert sim.tag(uid).afi == AFI_ON_LOAN
            assert journal.tasks() == [] and journal.unfinished_security() == []
    journal.close()


async def test_through_the_feig_reader_a_tag_that_loses_every_write_at_start_is_a_staff_task(
    tmp_path: Path,
):
    item, uid = demo.DEMO_BORROW_ITEMS[2], make_uid(501)
    journal = a_loan_left_unsecured(tmp_path / "journal.sqlite3", item)
    with SimulatedFeigReader() as sim:
        sim.place(uid, item_tag(item), AFI_IN_LIBRARY)
        sim.inject(Fault.WRITE_LOST, times=10, on=ISO_WRITE_AFI)
        async with feig_station(tmp_path, journal, sim):
            assert sim.tag(uid).afi == AFI_IN_LIBRARY
            (task,) = journal.tasks()
            assert task.item_id == item and "did not take the write" in task.detail
    journal.close()
