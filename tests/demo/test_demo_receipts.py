"""The demo prints the way a kiosk prints: through the ESC/POS driver on a pty to the simulated printer,
which renders what it received as PNGs in the demo's receipts folder. A scripted patron borrows a
Norwegian, a Swedish, a Russian and a Northern Sámi book and takes a receipt: its PNG is there, in the
patron's language, with the lines no configured code page has sent as raster images."""

from __future__ import annotations

import stat
from pathlib import Path

from PIL import Image

from kiosk.core import Action
from kiosk.demo import DemoEnvironment, finish_visit, handle_stack, lendable_items, log_in
from server_api.demo_ils import data as demo_data

RASTER = b"\x1dv0"  # GS v 0: a line printed as an image


async def test_a_demo_loan_receipt_is_printed_through_the_simulator_and_saved_as_png(tmp_path: Path) -> None:
    async with DemoEnvironment(tmp_path) as env:
        assert env.station is not None
        sami = next(
            i.item_id for i in demo_data.ITEMS if i.title == "Beaivi, áhčážan" and i.home == demo_data.TROMSO
        )
        items = [*env.demo_borrow_items[:3], sami]  # Sult, Ædnan, Анна Каренина, Beaivi, áhčážan
        assert sami in await lendable_items(env)
        assert await log_in(env)
        await handle_stack(env, Action.BORROW, items)
        await finish_visit(env, receipt=True)
        sim = env.printer.sim
        printed = "\n".join(sim.text_lines)
        received = bytes(sim.received)
    assert "Leveres: " in printed and "Ædnan" in printed and "Sult" in printed  # nb labels, CP865 text
    assert "Takk for besøket!" in printed  # the catalogue's footer
    assert "Анна Каренина" not in printed and "áhčážan" not in printed  # no code page has them: images
    assert received.count(RASTER) >= 2
    receipts = tmp_path / "receipts"
    (png,) = sorted(receipts.glob("receipt-*.png"))
    with Image.open(png) as image:
        assert image.width == 512 and image.height > 200
    (text,) = [p for p in receipts.glob("*.txt") if "Beaivi, áhčážan" in p.read_text(encoding="utf-8")]
    assert stat.S_IMODE(png.stat().st_mode) == 0o600 and stat.S_IMODE(receipts.stat().st_mode) == 0o700
    assert text.stat().st_mode & 0o077 == 0


async def test_the_demo_panels_empty_printer_is_paper_out_on_the_simulated_printer(tmp_path: Path) -> None:
    async with DemoEnvironment(tmp_path) as env:
        assert env.station is not None
        env.empty_printer()
        assert (await env.station.printing.poll()).value == "paper_out"
        assert env.station.session.printer_can_print is False
