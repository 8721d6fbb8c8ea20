"""Staff slips on paper: the hold-shelf and transit slips printed through the real driver on a pty to the
simulator match the reference renderings committed in tests/printer (made once by make_golden.py, never by
a test): routing text in triple size, readable across the back office, and the hold patron only as far as
the library allows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PIL import Image, ImageChops

from drivers.printer.escpos import EscposPrinter
from drivers.printer.escpos_sim import SimulatedEscposPrinter
from drivers.printer.settings import PrinterSettings
from tests.printer.samples import GOLDEN_SETTINGS, RECEIPTS, SLIP_REFERENCES


@pytest.fixture
def sim() -> Iterator[SimulatedEscposPrinter]:
    with SimulatedEscposPrinter(dots_per_line=512, tcp_port=None) as printer:
        yield printer


def ink_rows(image: Image.Image) -> list[tuple[int, int]]:
    """The bands of rows with ink on them (top, height), top to bottom."""
    grey = image.convert("L")
    inked = [any(v < 128 for v in grey.crop((0, y, grey.width, y + 1)).tobytes()) for y in range(grey.height)]
    bands, start = [], None
    for y, ink in enumerate([*inked, False]):
        if ink and start is None:
            start = y
        elif not ink and start is not None:
            bands.append((start, y - start))
            start = None
    return bands


@pytest.mark.parametrize("kind", sorted(SLIP_REFERENCES))
async def test_a_staff_slip_matches_its_reference_rendering(sim: SimulatedEscposPrinter, kind: str) -> None:
    settings = PrinterSettings(connection="serial", device=sim.path, flow_control="none", **GOLDEN_SETTINGS)  # type: ignore[arg-type]
    printer = EscposPrinter(settings)
    await printer.print(RECEIPTS[kind]())
    await printer.close()
    (rendered,) = sim.receipts()
    with Image.open(SLIP_REFERENCES[kind]) as reference:
        assert rendered.size == reference.size
        diff = ImageChops.difference(rendered.convert("L"), reference.convert("L")).point(
            lambda v: v > 64 and 255
        )
        assert sum(1 for v in diff.tobytes() if v) / (rendered.width * rendered.height) < 0.002
    heights = [height for _, height in ink_rows(rendered)]
    routing = max(heights)
    below = heights[heights.index(routing) + 1 :]  # the title, the item's number (the smallest), the pickup
    assert routing >= 2.5 * min(below)  # triple size, ink to ink


def test_the_reference_hold_slip_shows_initials_and_last_digits_only() -> None:
    text = [line.text for line in RECEIPTS["hold_slip"]().layout()]
    assert "Geasa: Á. Ŋ. …5678" in text  # the routing line the reference rendering shows in triple size
    assert not any("Ánde" in line or "Ŋuolja" in line or "2390001234" in line for line in text)
