"""The pad is pipelined (issue 17, point 3): a tag's item goes to the session as soon as it is read and
complete, so the first checkout is on its way while the rest of the stack is still being read.

The real FEIG driver over a pty to the simulator with the default timing model (a reader at 38400 baud:
about 0.1 s per tag read), SIP2 over TCP to the demo library system. Counted on the simulator (how many
tags it had read when the library system answered the first checkout), not timed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from drivers.printer.file_printer import FilePrinter
from drivers.rfid.base import AFI_IN_LIBRARY
from drivers.rfid.feig import FeigReader
from drivers.rfid.feig_protocol import ISO_READ_MULTIPLE
from drivers.rfid.feig_sim import AirTiming, SimulatedFeigReader
from drivers.rfid.sim import make_uid
from drivers.tags.iso28560_3 import DanishTag, TypeOfUsage, encode
from kiosk.core import Action, ScreenName, SessionPolicy
from kiosk.journal import Journal
from kiosk.station import Circulated, Observation, Station, StationSettings, StationTiming
from server_api.demo_ils import data as demo
from server_api.demo_ils.server import DemoIls
from tests.demo.kiosks import kiosk

STACK = 10
READ = f"/{ISO_READ_MULTIPLE:02X}"  # how the simulator names a read of blocks


def _free_items() -> list[str]:
    busy = {loan.item_id for loan in demo.LOANS} | {hold.item_id for hold in demo.HOLDS}
    busy.add(demo.NOT_FOR_LOAN_ITEM)
    return [i.item_id for i in demo.ITEMS if i.home == demo.TROMSO and i.parts == 1 and i.item_id not in busy]


async def _wait(station: Station, name: ScreenName) -> None:
    async with asyncio.timeout(20):
        while station.screen.name is not name:
            await asyncio.sleep(0.02)


async def test_the_first_checkout_is_answered_before_the_whole_stack_is_read(tmp_path: Path) -> None:
    items = _free_items()[:STACK]
    assert len(items) == STACK
    async with DemoIls(db_path=tmp_path / "ils.sqlite3", host="127.0.0.1", port=0) as ils:
        circulation = kiosk(ils, timeout=5.0, pool_size=STACK)
        with SimulatedFeigReader(timing=AirTiming(), max_tags_per_reply=4) as sim:
            reader = FeigReader(sim.path, timeout=2.0)
            station = Station(
                circulation=circulation,
                reader=reader,
                printer=FilePrinter(tmp_path / "receipts"),
                policy=SessionPolicy(),
                journal=Journal(tmp_path / "journal.sqlite3"),
                settings=StationSettings(timing=StationTiming(poll_interval=0.1)),
            )

            def reads() -> int:
                return sum(n for name, n in sim.stats.by_command.items() if name.endswith(READ))

            reads_at_first_answer: list[int] = []
            circulated: list[str] = []

            def watch(o: Observation) -> None:
                if isinstance(o, Circulated):
                    if not circulated:
                        reads_at_first_answer.append(reads())
                    circulated.append(o.item_id)

            station.add_observer(watch)
            await station.start()
            try:
                station.press(Action.BORROW)
                await _wait(station, ScreenName.IDENTIFY)
                station.present_card(demo.DEMO_PATRON_ID)
                await _wait(station, ScreenName.PIN)
                station.enter_pin(demo.DEMO_PATRON_PIN)
                await _wait(station, ScreenName.BORROW)
                before = reads()
                for n, item in enumerate(items):
                    tag = DanishTag(TypeOfUsage.CIRCULATING, 1, 1, item, "NO", demo.TROMSO)
                    sim.place(make_uid(500 + n), encode(tag), AFI_IN_LIBRARY)
                async with asyncio.timeout(60):
                    while len(circulated) < STACK:
                        await asyncio.sleep(0.05)
                await station.settle()
            finally:
                await station.stop()
                await reader.close()
                await circulation.close()
    assert sorted(circulated) == sorted(items)
    # The library system answered the first item while most of the stack was still unread.
    assert reads_at_first_answer[0] - before < STACK // 2, (reads_at_first_answer, before)
