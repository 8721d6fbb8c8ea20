"""`kiosk doctor` against the simulators: the demo ILS over TCP, the simulated pad, the ESC/POS simulator on
a pty. All green first; then each failure gives its own line, with what to do, and the exit code 1."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import tomllib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from drivers.printer.escpos_sim import SimulatedEscposPrinter
from kiosk.cli import main
from kiosk.clock import kernel_clock_synchronised
from kiosk.config import StationConfig, from_mapping
from kiosk.doctor import check_clock, kernel_clock_estimate
from kiosk.journal import Journal
from server_api.demo_ils import data as demo_data
from server_api.demo_ils.server import DemoIls


@dataclass
class Kiosk:
    folder: Path
    ils_port: int
    printer: SimulatedEscposPrinter
    rfid: str = 'reader = "sim"'
    gateway: str = ""  # a [gateway] section: then no SIP2 password (the gateway logs in)

    @property
    def journal(self) -> Path:
        return self.folder / "data" / "journal.sqlite3"

    def config(self) -> Path:
        user, password = demo_data.KIOSK_LOGIN
        secret = self.folder / "sip2-password"
        secret.write_text(password + "\n", encoding="utf-8")
        secret.chmod(0o600)
        path = self.folder / "kiosk.toml"
        sip2 = f'[sip2]\nport = {self.ils_port}\nuser = "{user}"\npassword_file = "{secret}"\n'
        path.write_text(
            (self.gateway or sip2) + f'location = "{demo_data.KIOSK_LIBRARY.number}"\n'
            f'[journal]\npath = "{self.journal}"\n'
            f'[rfid]\n{self.rfid}\n[clock]\ntrust = "always"\n'
            f'[printer]\nconnection = "serial"\ndevice = "{self.printer.path}"\nflow_control = "none"\n',
            encoding="utf-8",
        )
        return path


@pytest.fixture
def printer() -> Iterator[SimulatedEscposPrinter]:
    with SimulatedEscposPrinter(tcp_port=None) as sim:
        yield sim


@pytest.fixture
async def kiosk(tmp_path: Path, printer: SimulatedEscposPrinter) -> AsyncIterator[Kiosk]:
    async with DemoIls(db_path=tmp_path / "ils.sqlite3") as ils:
        made = Kiosk(tmp_path, ils.port, printer)
        made.journal.parent.mkdir(mode=0o700)
        Journal(made.journal).close()  # as the station leaves it: owner-only
        yield made


async def run(kiosk: Kiosk, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, dict[str, str]]]:
    code = await asyncio.to_thread(main, ["doctor", "--config", str(kiosk.config()), "--json"])
    record = json.loads(capsys.readouterr().out)
    assert record["healthy"] is (code == 0)
    return code, {check["check"]: check for check in record["checks"]}


def failed(checks: dict[str, dict[str, str]]) -> list[str]:
    return [name for name, check in checks.items() if check["verdict"] == "fail"]


async def test_against_the_simulators_every_check_is_green(
    kiosk: Kiosk, capsys: pytest.CaptureFixture[str]
) -> None:
    code, checks = await run(kiosk, capsys)
    assert code == 0, checks
    assert {name: c["verdict"] for name, c in checks.items()} == {
        "reader": "ok", "printer": "ok", "network": "ok", "library": "ok",
        "clock": "ok", "disk": "ok", "journal": "ok", "files": "ok",
    }  # fmt: skip
    assert checks["reader"]["said"] == "simulated pad answers; 0 tag(s) on the pad now"
    assert "login and status ok, round trip" in checks["library"]["said"]
    assert "integrity ok" in checks["journal"]["said"]


async def test_the_plain_report_is_one_line_per_check(
    kiosk: Kiosk, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await asyncio.to_thread(main, ["doctor", "--config", str(kiosk.config())])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0 and len(lines) == 8
    assert lines[0].startswith("OK   reader   simulated pad answers")


async def test_a_reader_that_is_gone_fails_with_what_to_check(
    kiosk: Kiosk, capsys: pytest.CaptureFixture[str]
) -> None:
    kiosk.rfid = f'reader = "feig"\ndevice = "{kiosk.folder / "ttyUSB-gone"}"'
    code, checks = await run(kiosk, capsys)
    assert code == 1 and failed(checks) == ["reader"]
    assert "FEIG reader on" in checks["reader"]["said"] and "does not exist" in checks["reader"]["said"]
    assert "USB cable and power" in checks["reader"]["advice"]


async def test_a_printer_out_of_paper_fails_with_put_in_a_new_roll(
    kiosk: Kiosk, printer: SimulatedEscposPrinter, capsys: pytest.CaptureFixture[str]
) -> None:
    printer.paper_left(0)
    code, checks = await run(kiosk, capsys)
    assert code == 1 and failed(checks) == ["printer"]
    assert "paper out" in checks["printer"]["said"] and "new roll" in checks["printer"]["advice"]


async def test_a_library_system_that_is_down_fails_and_says_the_kiosk_works_offline(
    kiosk: Kiosk, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        kiosk.ils_port = unused.getsockname()[1]  # bound, not listening: nothing answers there
        code, checks = await run(kiosk, capsys)
    assert code == 1 and failed(checks) == ["library"]
    assert checks["network"]["verdict"] == "ok"
    assert f"SIP2 127.0.0.1:{kiosk.ils_port}" in checks["library"]["said"]
    assert "down" in checks["library"]["advice"] and "works offline" in checks["library"]["advice"]


async def test_a_journal_open_to_others_fails_naming_the_file_and_the_mode(
    kiosk: Kiosk, capsys: pytest.CaptureFixture[str]
) -> None:
    kiosk.journal.chmod(0o644)
    kiosk.journal.parent.chmod(0o755)
    code, checks = await run(kiosk, capsys)
    assert code == 1 and failed(checks) == ["files"]
    assert f"{kiosk.journal} is 0644 (should be 0600)" in checks["files"]["said"]
    assert f"{kiosk.journal.parent} is 0755 (should be 0700)" in checks["files"]["said"]
    assert "chmod 600" in checks["files"]["advice"]


async def test_a_corrupt_journal_fails_and_says_to_keep_a_copy(
    kiosk: Kiosk, capsys: pytest.CaptureFixture[str]
) -> None:
    data = bytearray(kiosk.journal.read_bytes())
    data[4096 : 4096 + 512] = b"\xff" * 512  # a damaged page (the second): the header still says SQLite
    kiosk.journal.write_bytes(bytes(data))
    code, checks = await run(kiosk, capsys)
    assert code == 1 and failed(checks) == ["journal"]
    assert (
        "is damaged" in checks["journal"]["said"] and "copy the journal aside" in checks["journal"]["advice"]
    )


def test_a_configuration_that_cannot_be_read_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["doctor", "--config", str(tmp_path / "missing.toml")]) == 2
    assert capsys.readouterr().err.startswith("doctor: ")


async def test_through_a_gateway_that_is_down_the_network_line_says_nothing_listens(
    kiosk: Kiosk, capsys: pytest.CaptureFixture[str]
) -> None:
    token = kiosk.folder / "device-token"
    token.write_text("a-device-token\n", encoding="utf-8")
    token.chmod(0o600)
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
        kiosk.gateway = f'[gateway]\nurl = "http://127.0.0.1:{port}"\ntoken_file = "{token}"\n[sip2]\n'
        code, checks = await run(kiosk, capsys)
    assert code == 1 and failed(checks) == ["network"]
    assert checks["network"]["said"] == f"127.0.0.1:{port}: nothing listens there"
    assert "gateway is down" in checks["network"]["advice"]
    assert checks["gateway"]["verdict"] == checks["library"]["verdict"] == "skip"


async def test_while_a_station_runs_reader_and_printer_are_taken_as_the_station_reports_them(
    kiosk: Kiosk, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = kiosk.folder / "run"
    run_dir.mkdir()
    state = {"patron_session": False, "idle": True, "online": True, "reader_ok": False, "pid": os.getpid(),
             "printer": "paper_near_end", "at": datetime.now(UTC).isoformat()}  # fmt: skip
    (run_dir / "station-state.json").write_text(json.dumps(state))
    argv = ["doctor", "--config", str(kiosk.config()), "--json", "--run-dir", str(run_dir)]
    code = await asyncio.to_thread(main, argv)
    checks = {check["check"]: check for check in json.loads(capsys.readouterr().out)["checks"]}
    assert code == 1 and failed(checks) == ["reader"]
    assert (
        checks["reader"]["said"] == f"simulated pad: the running station (pid {os.getpid()}) gets no answer"
    )


def test_the_clock_line_follows_the_kernels_ntp_state_with_its_offset_and_error() -> None:
    config = load_config_text("[clock]\ntrust = 'kernel'\n")
    finding = check_clock(config)
    estimate = kernel_clock_estimate()
    assert estimate is not None and estimate[1] >= 0  # ntp_adjtime answers on Linux, read-only
    if kernel_clock_synchronised():
        assert "synchronised with network time (offset" in finding.said
    else:
        assert finding.verdict.value == "warn" and "timedatectl timesync-status" in finding.advice


def load_config_text(text: str) -> StationConfig:
    return from_mapping(tomllib.loads(text))
