"""The bytes the driver sends for each receipt kind, against golden files made once by
tests/printer/make_golden.py (python-escpos's File back end, the same code path as USB, serial and
network). A change here is a change on paper: regenerate only on purpose and look at the PNG."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.printer.escpos import EscposPrinter
from drivers.printer.escpos_stream import Command, Cut, Raster, StreamParser, Text
from drivers.printer.settings import PrinterSettings
from tests.printer.samples import GOLDEN, RECEIPTS, device_settings

GS_V_0 = b"\x1dv0"


async def print_to_file(kind: str, tmp_path: Path) -> bytes:
    path = tmp_path / f"{kind}.bin"
    printer = EscposPrinter(device_settings(path))
    await printer.print(RECEIPTS[kind]())
    await printer.close()
    return path.read_bytes()


def first_difference(a: bytes, b: bytes) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


@pytest.mark.parametrize("kind", sorted(RECEIPTS))
async def test_bytes_sent_match_the_golden_file(kind: str, tmp_path: Path) -> None:
    sent = await print_to_file(kind, tmp_path)
    golden = (GOLDEN / f"{kind}.bin").read_bytes()
    if sent != golden:
        at = first_difference(sent, golden)
        pytest.fail(
            f"{kind}: {len(sent)} bytes sent, golden has {len(golden)}; first difference at byte {at}: "
            f"sent {sent[at : at + 16]!r}, golden {golden[at : at + 16]!r} (bytes left in {tmp_path})"
        )


def texts_in(data: bytes) -> list[tuple[int, bytes]]:
    """(code page, text bytes) for every text run, as a printer would read them."""
    page, runs = 0, []
    for event in StreamParser().feed(data):
        if isinstance(event, Command) and event.name == "code_page":
            page = event.value
        elif isinstance(event, Command) and event.name == "init":
            page = 0
        elif isinstance(event, Text):
            runs.append((page, event.data))
    return runs


def test_loan_golden_has_nordic_text_cyrillic_in_cp866_and_sami_as_raster() -> None:
    data = (GOLDEN / "loan.bin").read_bytes()
    runs = texts_in(data)
    assert (5, b"Sofies verden") in runs  # ESC t 5 = PC865 Nordic on a TM-T88V
    assert (5, "Máhcat: 2025-04-04".encode("cp865")) in runs
    assert (17, "Сказки народов Севера".encode("cp866")) in runs  # ESC t 17 = PC866 Cyrillic
    text = b"".join(run for _, run in runs)
    for sami in ("ŋ", "ŧ", "đ", "ǥ", "ǩ", "ʒ", "Kárášjoga"):
        assert sami.encode("utf-8") not in text
    events = StreamParser().feed(data)
    rasters = [e for e in events if isinstance(e, Raster)]
    # logo, library name (š), two Sámi titles, the header street (š), two opening-hours lines (–), QR
    assert len(rasters) >= 7
    assert all(r.width_bytes * 8 == 512 for r in rasters)
    assert isinstance(events[-1], Cut) and events[-1].partial


def test_transit_slip_routes_in_triple_size_text() -> None:
    data = (GOLDEN / "transit_slip.bin").read_bytes()
    # GS ! 0x22: 3x width and height; 512 dots / 36 = 14 characters a line, wrapped between words.
    assert b"\x1d!\x22\x1bE\x01\x1bM\x00\x1ba\x01Harstad\nbibliotek\n" in data
    assert ("Sádde".encode("cp865") + b"\n") in data
    assert GS_V_0 in data  # the library name has š


def test_hold_slip_shows_the_patron_only_as_the_library_allows() -> None:
    lines = [line.text for line in RECEIPTS["hold_slip"]().layout()]
    assert "Geasa: Á. Ŋ. …5678" in lines
    assert not any("Ŋuolja" in line or "23900012345678" in line for line in lines)


@pytest.mark.parametrize(("profile", "dots"), [("TM-T20II", 384), ("TM-T88V", 512), ("TM-T20II", 576)])
async def test_raster_lines_fill_the_printers_dots_per_line(profile: str, dots: int, tmp_path: Path) -> None:
    path = tmp_path / "out.bin"
    settings = PrinterSettings(connection="device", device=str(path), profile=profile, dots_per_line=dots)  # type: ignore[arg-type]
    printer = EscposPrinter(settings)
    await printer.print(RECEIPTS["hold_slip"]())
    await printer.close()
    rasters = [e for e in StreamParser().feed(path.read_bytes()) if isinstance(e, Raster)]
    assert rasters and {r.width_bytes * 8 for r in rasters} == {dots}
    texts = [run for _, run in texts_in(path.read_bytes())]
    assert b"03011234567891" in texts  # 14 digits fit a line on every width
