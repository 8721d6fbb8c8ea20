"""The station with a FEIG reader: the real driver over a pty to the simulator, SIP2 over TCP to the demo ILS.

A stack of 10 items including an incomplete two-part set: 9 are borrowed, the set is held back with a
"missing part" message, and every lent tag reads back AFI 0xC2 over the FEIG protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from drivers.printer.file_printer import FilePrinter
from drivers.rfid.base import AFI_IN_LIBRARY, AFI_ON_LOAN
from drivers.rfid.feig import FeigReader
from drivers.rfid.feig_protocol import ISO_WRITE_AFI
from drivers.rfid.feig_sim import AirTiming, Fault, SimulatedFeigReader
from drivers.rfid.sim import make_uid
from drivers.tags.iso28560_3 import DanishTag, TypeOfUsage, encode
from kiosk.core import Action, Operation, RowState, Screen, ScreenName, SecurityFailurePolicy, SessionPolicy
from kiosk.journal import Journal
from kiosk.station import (
    Circulated,
    NotCirculated,
    Observation,
    SecurityFailure,
    SecurityWrite,
    Station,
    StationSettings,
    StationTiming,
)
from server_api.demo_ils import data as demo
from server_api.demo_ils.server import DemoIls
from tests.demo.kiosks import kiosk

# Faster than real hardware, but the same shape: every command takes time on the line and on the air.
TEST_TIMING = AirTiming(baud=115200, air_byte=0.0001, inventory_tag=0.001, collision_round=0.001)


def free_single_items(count: int) -> list[str]:
    """Items at the kiosk library that the demo patron can borrow (not on loan, not held, one part)."""
    busy = {loan.item_id for loan in demo.LOANS} | {hold.item_id for hold in demo.HOLDS}
    busy.add(demo.NOT_FOR_LOAN_ITEM)
    items = [
        it.item_id for it in demo.ITEMS if it.home == demo.TROMSO and it.parts == 1 and it.item_id not in busy
    ]
    assert len(items) >= count
    return items[:count]


@dataclass
class Rig:
    station: Station
    sim: SimulatedFeigReader
    reader: FeigReader
    records: list[Observation]
    uids: dict[str, list[bytes]]

    def circulated(self, operation: Operation) -> list[Circulated | NotCirculated]:
        return [
            o for o in self.records if isinstance(o, Circulated | NotCirculated) and o.operation is operation
        ]

    def security_writes(self) -> list[SecurityWrite]:
        return [o for o in self.records if isinstance(o, SecurityWrite)]

    async def wait_for(self, predicate: Callable[[Screen], bool], timeout: float = 20.0) -> Screen:
        async with asyncio.timeout(timeout):
            while not predicate(self.station.screen):
                await asyncio.sleep(0.02)
        return self.station.screen

    def place(self, item_id: str, parts: list[int] | None = None) -> None:
        owner = demo.TROMSO
        uids = self.uids[item_id]
        total = len(uids)
        for number, uid in enumerate(uids, start=1):
            if parts is None or number in parts:
                tag = DanishTag(TypeOfUsage.CIRCULATING, total, number, item_id, "NO", owner)
                self.sim.place(uid, encode(tag), AFI_IN_LIBRARY)

    async def log_in_to_borrow(self) -> None:
        self.station.press(Action.BORROW)
        await self.wait_for(lambda s: s.name is ScreenName.IDENTIFY)
        self.station.present_card(demo.DEMO_PATRON_ID)
        await self.wait_for(lambda s: s.name is ScreenName.PIN)
        self.station.enter_pin(demo.DEMO_PATRON_PIN)
        await self.wait_for(lambda s: s.name is ScreenName.BORROW)


@contextlib.asynccontextmanager
async def rig(tmp_path: Path, policy: SessionPolicy, items: list[str]) -> AsyncIterator[Rig]:
    async with DemoIls(db_path=tmp_path / "ils.sqlite3", host="127.0.0.1", port=0) as ils:
        circulation = kiosk(ils, timeout=5.0)
        with SimulatedFeigReader(timing=TEST_TIMING, max_tags_per_reply=4) as sim:
            reader = FeigReader(sim.path, timeout=1.0)
            station = Station(
                circulation=circulation,
                reader=reader,
                printer=FilePrinter(tmp_path / "receipts"),
                policy=policy,
                journal=Journal(tmp_path / "journal.sqlite3"),
                settings=StationSettings(timing=StationTiming(poll_interval=0.02)),
            )
            records: list[Observation] = []
            station.add_observer(records.append)
            uids: dict[str, list[bytes]] = {}
            serial = 100
            for item_id in items:
                parts = 2 if item_id == demo.DEMO_SET_ITEM else 1
                uids[item_id] = [make_uid(serial + n) for n in range(parts)]
                serial += parts
            await station.start()
            try:
                yield Rig(station, sim, reader, records, uids)
            finally:
                await station.stop()
                await reader.close()
                await circulation.close()


def _settled(item_ids: list[str]) -> Callable[[Screen], bool]:
    def check(screen: Screen) -> bool:
        rows = {row.item_id: row for row in screen.rows}
        return all(i in rows and rows[i].state is not RowState.WORKING for i in item_ids)

    return check


@pytest.mark.slow
async def test_a_stack_of_ten_with_an_incomplete_set_borrows_nine_and_holds_back_the_set(tmp_path):
    singles = free_single_items(9)
    stack = [*singles, demo.DEMO_SET_ITEM]
    async with rig(tmp_path, SessionPolicy(), stack) as r:
        await r.log_in_to_borrow()
        for item_id in singles:
            r.place(item_id)
        r.place(demo.DEMO_SET_ITEM, parts=[1])  # disc 2 was left at home

        screen = await r.wait_for(_settled(stack))
        await r.station.settle()
        rows = {row.item_id: row for row in r.station.screen.rows}

        assert all(rows[i].state is RowState.DONE for i in singles), screen.rows
        held = rows[demo.DEMO_SET_ITEM]
        assert held.state is RowState.ATTENTION
        assert held.text.key == "row.missing_part"
        assert held.text.kwargs() == {"missing": "2", "parts": "2"}

        checkouts = r.circulated(Operation.CHECKOUT)
        assert sorted(rec.item_id for rec in checkouts) == sorted(singles)
        assert all(rec.ok for rec in checkouts)

        # Every lent tag, read back over the FEIG protocol, carries the on-loan AFI; the held part does not.
        for item_id in singles:
            (uid,) = r.uids[item_id]
            assert await r.reader.read_afi(uid) == AFI_ON_LOAN
        assert await r.reader.read_afi(r.uids[demo.DEMO_SET_ITEM][0]) == AFI_IN_LIBRARY
        writes = r.security_writes()
        assert len(writes) == 9 and all(w.verified and w.afi_after == AFI_ON_LOAN for w in writes)

        # The missing disc turns up: now the set is lent, both parts secured.
        r.place(demo.DEMO_SET_ITEM, parts=[2])
        await r.wait_for(
            lambda s: any(row.item_id == demo.DEMO_SET_ITEM and row.state is RowState.DONE for row in s.rows)
        )
        await r.station.settle()
        for uid in r.uids[demo.DEMO_SET_ITEM]:
            assert await r.reader.read_afi(uid) == AFI_ON_LOAN


@pytest.mark.slow
@pytest.mark.parametrize("policy", [SecurityFailurePolicy.FLAG, SecurityFailurePolicy.UNDO])
async def test_a_security_bit_that_will_not_set_is_never_silent_and_the_policy_decides_the_loan(
    tmp_path, policy
):
    (item,) = free_single_items(1)
    async with rig(tmp_path, SessionPolicy(security_failure=policy), [item]) as r:
        await r.log_in_to_borrow()
        # The tag acknowledges every AFI write but never stores it: only the read-back shows it.
        r.sim.inject(Fault.WRITE_LOST, times=3, on=ISO_WRITE_AFI)
        r.place(item)
        await r.wait_for(_settled([item]))
        await r.station.settle()
        (uid,) = r.uids[item]
        assert await r.reader.read_afi(uid) == AFI_IN_LIBRARY
        writes = r.security_writes()
        assert writes[0].verified is False and writes[0].attempts == 3
        (failure,) = [rec for rec in r.records if isinstance(rec, SecurityFailure)]
        assert failure.item_id == item and failure.policy == policy.value
        row = next(row for row in r.station.screen.rows if row.item_id == item)
        checkins = r.circulated(Operation.CHECKIN)
        if policy is SecurityFailurePolicy.UNDO:
            # The loan was checked back in: the library system agrees with the tag.
            assert [c.item_id for c in checkins] == [item] and checkins[0].ok
            assert row.state is RowState.REFUSED
        else:
            # The loan stands, the patron is asked to put the item back; once back, the write succeeds.
            assert checkins == []
            assert row.state is RowState.ATTENTION and row.text.key == "row.security_failed"
            r.sim.remove(uid)
            await asyncio.sleep(0.2)  # the pad sees it gone (debounced over two rounds)
            r.place(item)
            await r.wait_for(
                lambda s: any(row.item_id == item and row.state is RowState.DONE for row in s.rows)
            )
            assert await r.reader.read_afi(uid) == AFI_ON_LOAN
