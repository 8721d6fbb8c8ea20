"""The heartbeat reports the printer as the station's own poll last saw it: the printer's port is asked
once per poll interval, not once more for every heartbeat. Real station through the real gateway
(uvicorn on 127.0.0.1, SQLite) to the demo ILS; the printer is the ESC/POS driver on a pty to the
simulator, which counts every DLE EOT it is asked."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from kiosk.core import SessionPolicy
from kiosk.demo import DemoEnvironment


async def test_heartbeats_report_the_stations_printer_status_without_asking_the_printer_again(
    tmp_path: Path,
) -> None:
    async with DemoEnvironment(
        tmp_path, gateway=True, policy=SessionPolicy(goodbye_time=timedelta(0))
    ) as env:
        station, sim = env.station, env.printer.sim
        assert station is not None and station.gateway is not None
        reports = station.gateway
        for task in asyncio.all_tasks():  # the test beats itself: the station's own loop would beat too
            if task.get_name() == "gateway reports":
                task.cancel()
        await station.settle()
        sim.status_requests.clear()
        await station.printing.poll()  # one poll of the station's own (every 30 s and after each session)
        one_poll = len(sim.status_requests)
        assert one_poll > 0

        sim.status_requests.clear()
        beats_before = reports.beats
        for _ in range(5):
            await reports.beat()
        assert reports.beats >= beats_before + 5  # the gateway took them
        assert sim.status_requests == []  # five heartbeats, not one question to the printer

        sim.near_end_dots = 20_000
        sim.paper_left(10_000)  # below the near-end sensor: a few metres left on the roll
        await station.printing.poll()
        assert (await reports.beat()).printer == "paper_near_end"  # staff can put a roll ready

        env.empty_printer()
        sim.status_requests.clear()
        await station.printing.poll()  # a printer in trouble is asked for the cause too (DLE EOT 2-4)
        asked = list(sim.status_requests)
        assert asked[0] == 1 and len(asked) > one_poll
        beat = await reports.beat()
        assert beat.printer == "paper_out" == station.status().printer
        assert sim.status_requests == asked  # the heartbeat read the station's poll, it asked nothing
