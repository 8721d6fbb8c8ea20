"""The station keeps the printer's state: it asks between sessions and learns it from every print, tells
the session (rule 11: no receipt offered when it cannot print), the observers once per change, and staff
through `Station.status()`. On the demo station (demo ILS on loopback, simulated pad, file printer)."""

from __future__ import annotations

from pathlib import Path

from kiosk.demo import DemoEnvironment
from kiosk.station import Observation, PrinterHealth
from server_api.circulation import RefusalReason
from server_api.sip2.circulation import Sip2Circulation
from server_api.sip2.messages import CheckoutResponse


async def test_paper_out_reaches_the_session_the_observers_and_the_staff_status(tmp_path: Path) -> None:
    async with DemoEnvironment(tmp_path) as env:
        station = env.station
        assert station is not None
        seen: list[Observation] = []
        station.add_observer(seen.append)
        assert station.status().printer == "ok"

        env.empty_printer()
        await station.printing.poll()
        await station.printing.poll()  # no change: told once
        assert [o for o in seen if isinstance(o, PrinterHealth)] == [PrinterHealth("paper_out", False)]
        assert station.status().printer == "paper_out" and station.session.printer_can_print is False

        env.printer.refill_paper()
        await station.printing.poll()
        assert station.status().printer == "ok" and station.session.printer_can_print is True


async def test_unmapped_refusal_texts_reach_the_staff_status(tmp_path: Path) -> None:
    async with DemoEnvironment(tmp_path) as env:
        station = env.station
        assert station is not None
        assert station.status().unmapped_refusals == ()  # the demo's texts all map to reasons
        circulation = station.circulation
        assert isinstance(circulation, Sip2Circulation)
        refusal = CheckoutResponse(ok=False, item_identifier="x", screen_message=("Feil 17",))
        circulation.refusals.reason(refusal, "Feil 17", RefusalReason.OTHER)  # as a checkout's reply is read
        assert station.status().unmapped_refusals == (("Feil #", 1),)
