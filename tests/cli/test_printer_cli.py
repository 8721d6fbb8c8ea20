"""`kiosk printer test --config FILE`: the test page through the real ESC/POS driver on a pty to the
simulated printer, the status before and after, and the exit code a technician's script can use."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.printer.escpos_sim import SimulatedEscposPrinter
from kiosk.cli import main


@pytest.fixture
def sim() -> Iterator[SimulatedEscposPrinter]:
    with SimulatedEscposPrinter(tcp_port=None) as printer:
        yield printer


def printer_file(tmp_path: Path, printer: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(f'[station]\nlibrary_name = "Tromsø bibliotek"\n[printer]\n{printer}\n', encoding="utf-8")
    return path


def serial(sim: SimulatedEscposPrinter) -> str:
    return f'connection = "serial"\ndevice = "{sim.path}"\nflow_control = "none"\ncode_pages = ["CP865"]'


async def test_the_test_page_prints_and_the_report_says_ok(
    sim: SimulatedEscposPrinter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await asyncio.to_thread(
        main, ["printer", "test", "--config", str(printer_file(tmp_path, serial(sim)))]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"printer: serial {sim.path} at 38400 baud" in out
    assert "status before: ok" in out and "test page: printed" in out and "status after: ok" in out
    printed = "\n".join(sim.text_lines)
    assert "Tromsø bibliotek" in printed and "Norsk: Æ Ø Å æ ø å" in printed  # CP865 text; Sámi as raster


async def test_out_of_paper_the_page_is_not_printed_and_the_exit_code_is_1(
    sim: SimulatedEscposPrinter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.paper_left(0)
    path = printer_file(tmp_path, serial(sim))
    code = await asyncio.to_thread(main, ["printer", "test", "--config", str(path), "--json"])
    record = json.loads(capsys.readouterr().out)
    assert code == 1 and not record["ok"]
    assert record["before"] == "paper_out" and "out of paper" in record["error"]
    assert any(line.startswith("test page: NOT printed") for line in record["lines"])


def test_a_printer_setting_the_driver_refuses_exits_2_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["printer", "test", "--config", str(printer_file(tmp_path, 'connection = "network"'))]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "[printer] printer connection network needs host" in err
