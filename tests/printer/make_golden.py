"""Make the golden files and the reference PNG once: `.venv/bin/python -m tests.printer.make_golden`.

The tests never run this; they compare against what it wrote (committed). Run it again only when a
change to the bytes is intended, and look at the diff and the PNG before committing.
"""

from __future__ import annotations

import asyncio

from PIL import Image, ImageDraw

from drivers.printer.escpos import EscposPrinter
from drivers.printer.escpos_sim import SimulatedEscposPrinter
from drivers.printer.settings import PrinterSettings
from tests.printer.samples import (
    GOLDEN,
    GOLDEN_SETTINGS,
    LOGO,
    RECEIPTS,
    SAMI_REFERENCE,
    SLIP_REFERENCES,
    device_settings,
    loan,
)


def make_logo() -> None:
    logo = Image.new("L", (200, 60), 255)
    draw = ImageDraw.Draw(logo)
    draw.rectangle((2, 2, 197, 57), outline=0, width=4)
    draw.ellipse((14, 12, 50, 48), fill=0)
    draw.rectangle((64, 20, 186, 40), fill=0)
    logo.save(LOGO)


async def make() -> None:
    GOLDEN.mkdir(exist_ok=True)
    if not LOGO.exists():
        make_logo()
    for name, build in RECEIPTS.items():
        path = GOLDEN / f"{name}.bin"
        path.unlink(missing_ok=True)
        printer = EscposPrinter(device_settings(path))
        await printer.print(build())
        await printer.close()
    with SimulatedEscposPrinter(dots_per_line=512, tcp_port=None) as sim:
        settings = PrinterSettings(
            connection="serial", device=sim.path, flow_control="none", **GOLDEN_SETTINGS
        )  # type: ignore[arg-type]
        printer = EscposPrinter(settings)
        await printer.print(loan())
        await printer.close()
        sim.receipts()[0].save(SAMI_REFERENCE)
    await make_slip_references()


async def make_slip_references() -> None:
    """Only the slips' PNGs (`python -c 'import asyncio, tests.printer.make_golden as m;
    asyncio.run(m.make_slip_references())'`): the other golden files stay as they are."""
    for kind, path in SLIP_REFERENCES.items():
        with SimulatedEscposPrinter(dots_per_line=512, tcp_port=None) as sim:
            settings = PrinterSettings(
                connection="serial", device=sim.path, flow_control="none", **GOLDEN_SETTINGS
            )  # type: ignore[arg-type]
            printer = EscposPrinter(settings)
            await printer.print(RECEIPTS[kind]())
            await printer.close()
            sim.receipts()[0].save(path)


if __name__ == "__main__":
    asyncio.run(make())
