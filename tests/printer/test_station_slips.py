"""The station's staff slips on paper: a return routed to the hold shelf or to another library prints the
layout's slip (the library's name, routing in triple-size text, the item), in the staff language, through
the real driver on a pty to the simulator; the hold patron only as far as the library allows. Real
station, demo ILS on TCP, simulated pad."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from drivers.printer.escpos_stream import Command, StreamParser, Text
from kiosk.core import Action, SessionPolicy
from kiosk.demo import DemoEnvironment, finish_visit, handle_stack
from server_api.demo_ils import data as demo

TRIPLE = 0x22  # GS ! n: 3x width, 3x height


def triple_size_texts(data: bytes) -> list[bytes]:
    """The text printed while the character size is triple (the slips' routing text)."""
    size, texts = 0, []
    for event in StreamParser().feed(data):
        if isinstance(event, Command) and event.name == "char_size":
            size = event.value
        elif isinstance(event, Command) and event.name == "init":
            size = 0
        elif isinstance(event, Text) and size == TRIPLE and event.data.strip():
            texts.append(event.data.strip())
    return texts


async def test_returns_for_the_hold_shelf_and_another_library_print_the_layouts_slips(tmp_path: Path) -> None:
    async with DemoEnvironment(tmp_path, policy=SessionPolicy(goodbye_time=timedelta(0))) as env:
        assert env.station is not None
        sim = env.printer.sim
        await handle_stack(env, Action.RETURN, env.demo_return_items)
        await finish_visit(env, receipt=False)
        await env.station.settle()
        slips = sorted((tmp_path / "receipts").glob("receipt-*.png"))  # torn off the simulator, saved
        assert len(slips) == 2  # one per routed item, no patron receipt
        routing = b" ".join(triple_size_texts(bytes(sim.received)))
        assert b"Sendes til" in routing and b"Alta" in routing  # transit: where it goes, large
        hold_slip = next(
            p for p in sorted((tmp_path / "receipts").glob("*.txt")) if "Reservert" in p.read_text()
        )
        text = " ".join(hold_slip.read_text(encoding="utf-8").split())
        holder = next(h for h in demo.HOLDS if h.item_id == demo.HOLD_SHELF_ITEM)
        patron = next(p for p in demo.PATRONS if p.card == holder.patron)
        assert f"…{patron.card[-4:]}" in text  # initials and the card's last digits (the default)
        assert patron.name not in text and patron.card not in text
        assert env.library.name in text
