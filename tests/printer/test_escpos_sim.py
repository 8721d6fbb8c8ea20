"""End to end: the real driver, python-escpos's real Serial and Network back ends, a pty and a TCP socket
on 127.0.0.1, and the simulated printer answering status and printing onto paper."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from drivers.printer import (
    CoverOpen,
    PaperOut,
    PrinterFault,
    PrinterOffline,
    PrinterStatus,
    PrintInterrupted,
    open_printer,
)
from drivers.printer.codepages import first_code_page_for
from drivers.printer.escpos import EscposPrinter
from drivers.printer.escpos_sim import SimulatedEscposPrinter
from drivers.printer.file_printer import FilePrinter
from drivers.printer.receipt import Receipt
from drivers.printer.settings import PrinterSettings
from drivers.printer.testpage import print_test_page
from tests.printer.samples import GOLDEN_SETTINGS, SAMI_REFERENCE, WHEN, loan, transit


@pytest.fixture
def sim() -> Iterator[SimulatedEscposPrinter]:
    with SimulatedEscposPrinter(dots_per_line=512) as printer:
        yield printer


def serial_printer(sim: SimulatedEscposPrinter) -> EscposPrinter:
    settings = PrinterSettings(
        connection="serial", device=sim.path, flow_control="none", timeout=1, **GOLDEN_SETTINGS
    )  # type: ignore[arg-type]
    return EscposPrinter(settings)


def network_printer(sim: SimulatedEscposPrinter) -> EscposPrinter:
    settings = PrinterSettings(
        connection="network", host="127.0.0.1", port=sim.port, timeout=1, **GOLDEN_SETTINGS
    )  # type: ignore[arg-type]
    return EscposPrinter(settings)


def counted_lines(receipt: Receipt) -> list[str]:
    """The lines the driver reports on, in order: logo, the layout, the QR code."""
    lines = ["[logo]"] if receipt.logo else []
    lines += [line.text if line.text.strip() else "" for line in receipt.layout()]
    return lines + ([f"[QR {receipt.qr}]"] if receipt.qr else [])


def differing_fraction(a: Image.Image, b: Image.Image) -> float:
    diff = ImageChops.difference(a.convert("L"), b.convert("L")).point(lambda v: 255 if v > 64 else 0)
    return sum(1 for value in diff.tobytes() if value) / (a.width * a.height)


@pytest.mark.parametrize("connect", [serial_printer, network_printer], ids=["pty", "tcp"])
async def test_a_receipt_prints_through_the_real_transport(sim: SimulatedEscposPrinter, connect) -> None:  # type: ignore[no-untyped-def]
    printer = connect(sim)
    assert await printer.status() is PrinterStatus.OK
    result = await printer.print(transit())
    await printer.close()
    assert result.status is PrinterStatus.OK
    assert "Harstad" in sim.text_lines and "bibliotek" in sim.text_lines
    assert sim.paper.unknown == []  # every byte sent was understood
    assert len(sim.receipts()) == 1 and sim.paper.cuts == [len(sim.paper.strips)]
    assert 1 in sim.status_requests and 4 in sim.status_requests


async def test_the_sami_receipt_matches_the_reference_rendering(sim: SimulatedEscposPrinter) -> None:
    printer = serial_printer(sim)
    await printer.print(loan())
    await printer.close()
    rendered = sim.receipts()[0]
    with Image.open(SAMI_REFERENCE) as reference:
        assert rendered.size == reference.size
        assert differing_fraction(rendered, reference) < 0.002


async def test_paper_out_mid_receipt_is_a_typed_error_that_says_what_did_not_print(
    sim: SimulatedEscposPrinter,
) -> None:
    printer = serial_printer(sim)
    receipt = loan()
    sim.paper_left(400)  # dot rows: the logo, the header and the first title fit
    with pytest.raises(PrintInterrupted) as caught:
        await printer.print(receipt)
    error = caught.value
    assert isinstance(error.cause, PaperOut) and error.status is PrinterStatus.PAPER_OUT
    assert error.printed and error.not_printed
    assert list(error.printed + error.not_printed) == counted_lines(receipt)
    assert "Sofies verden" in error.printed
    assert "Сказки народов Севера" in error.not_printed
    # What the report calls printed is on the paper; no text line it calls not printed is.
    on_paper = sim.text_lines
    as_text = [
        line
        for line in error.printed
        if line[:1] not in ("", "[") and first_code_page_for("TM-T88V", ("CP865", "CP866"), line)
    ]
    assert [line for line in on_paper if line] == as_text
    assert await printer.status() is PrinterStatus.PAPER_OUT
    # Nothing more is sent to an empty printer: the next receipt is refused before it starts.
    held = sim.held
    with pytest.raises(PaperOut):
        await printer.print(transit())
    assert sim.held == held
    # A new roll: the line the paper ran out on comes out, then the kiosk prints what was missing.
    strips = len(sim.paper.strips)
    sim.refill()
    assert sim.held == 0
    assert len(sim.paper.strips) > strips  # the held line came out after the refill
    assert await printer.status() is PrinterStatus.OK
    await printer.print(transit())
    await printer.close()


async def test_cover_opened_mid_receipt_over_tcp(sim: SimulatedEscposPrinter) -> None:
    printer = network_printer(sim)
    sim.open_cover_after(300)
    with pytest.raises(PrintInterrupted) as caught:
        await printer.print(loan())
    assert isinstance(caught.value.cause, CoverOpen)
    assert await printer.status() is PrinterStatus.COVER_OPEN
    sim.close_cover()
    assert await printer.status() is PrinterStatus.OK
    await printer.close()


async def test_a_printer_that_cannot_print_gets_nothing(sim: SimulatedEscposPrinter) -> None:
    printer = serial_printer(sim)
    sim.open_cover()
    with pytest.raises(CoverOpen):
        await printer.print(transit())
    sim.close_cover()
    sim.jam_cutter()
    with pytest.raises(PrinterFault, match="autocutter"):
        await printer.print(transit())
    assert await printer.status() is PrinterStatus.ERROR
    assert sim.paper.strips == []
    await printer.close()


async def test_paper_near_end_prints_and_says_so() -> None:
    with SimulatedEscposPrinter(near_end_dots=100_000) as sim:
        sim.paper_left(50_000)
        printer = serial_printer(sim)
        result = await printer.print(transit())
        await printer.close()
    assert result.status is PrinterStatus.PAPER_NEAR_END


async def test_a_printer_that_is_not_there_is_offline(tmp_path: Path) -> None:
    gone = EscposPrinter(PrinterSettings(connection="serial", device=str(tmp_path / "ttyUSB9"), timeout=0.2))
    assert await gone.status() is PrinterStatus.OFFLINE
    with pytest.raises(PrinterOffline, match="ttyUSB9"):
        await gone.print(transit())
    with SimulatedEscposPrinter(tcp_port=0) as sim:
        port = sim.port
    closed = EscposPrinter(PrinterSettings(connection="network", host="127.0.0.1", port=port, timeout=0.2))
    assert await closed.status() is PrinterStatus.OFFLINE


async def test_a_printer_switched_off_mid_session_is_offline_and_comes_back(tmp_path: Path) -> None:
    with SimulatedEscposPrinter(directory=tmp_path) as sim:
        printer = serial_printer(sim)
        assert await printer.status() is PrinterStatus.OK
    assert await printer.status() is PrinterStatus.OFFLINE
    with SimulatedEscposPrinter(directory=tmp_path) as sim:
        assert await printer.status() is PrinterStatus.OK  # reopened on the same path
        await printer.close()


async def test_the_test_page_report(sim: SimulatedEscposPrinter) -> None:
    printer = network_printer(sim)
    report = await print_test_page(printer, printed_at=WHEN, library_name="Kárášjoga girjerádju")
    assert report.ok and report.before is PrinterStatus.OK and report.after is PrinterStatus.OK
    assert report.lines()[1].startswith("test page: printed")
    sim.paper_left(0)
    report = await print_test_page(printer, printed_at=WHEN)
    assert not report.ok and report.before is PrinterStatus.PAPER_OUT
    assert "out of paper" in report.lines()[1]
    await printer.close()


def test_open_printer_follows_the_connection(tmp_path: Path) -> None:
    assert isinstance(open_printer(PrinterSettings(directory=tmp_path)), FilePrinter)
    network = open_printer(PrinterSettings(connection="network", host="127.0.0.1"))
    assert isinstance(network, EscposPrinter)


async def test_paper_ending_in_the_final_feed_loses_no_line(sim: SimulatedEscposPrinter) -> None:
    printer = serial_printer(sim)
    await printer.print(transit())
    used = sim.image().height
    sim.paper.strips.clear()
    sim.paper.cuts.clear()
    sim.paper_left(used - 20)  # everything but the last part of the feed before the cut
    result = await printer.print(transit())
    await printer.close()
    assert result.status is PrinterStatus.PAPER_OUT


async def test_the_simulator_gives_settings_that_reach_it(
    sim: SimulatedEscposPrinter, tmp_path: Path
) -> None:
    for via in ("serial", "network"):
        printer = open_printer(sim.settings(via, code_pages=("CP865",)))
        assert await printer.status() is PrinterStatus.OK
        await printer.print(transit())
        await printer.close()
    saved = sim.save_receipts(tmp_path / "receipts")
    assert [path.name for path in saved] == ["receipt-1.png", "receipt-2.png"]
