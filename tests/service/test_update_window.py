"""`kiosk update-window`: open when the station reports idle or no station reports; closed while a patron
is served, until the session ends within --wait."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.files import write_atomically


def report(run_dir: Path, *, idle: bool, pid: int | None = None, age: float = 0.0) -> None:
    run_dir.mkdir(exist_ok=True)
    at = datetime.now(UTC) - timedelta(seconds=age)
    state = {"patron_session": not idle, "idle": idle, "online": True, "reader_ok": True,
             "pid": pid or os.getpid(), "at": at.isoformat()}  # fmt: skip
    # as the station writes it (kiosk.service.reporter): the check polls it meanwhile, and a file caught
    # between its truncation and its text reads as no station at all
    write_atomically(run_dir / "station-state.json", json.dumps(state), mode=0o644)


def window(run_dir: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict[str, object]]:
    code = main(["update-window", "--run-dir", str(run_dir), "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_an_idle_station_opens_the_window(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report(tmp_path / "run", idle=True)
    code, answer = window(tmp_path / "run", capsys)
    assert code == 0 and answer == {
        "open": True,
        "reason": "the station is idle: no patron session, nothing in flight",
    }


def test_a_patron_session_keeps_it_closed_for_the_wait(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report(tmp_path / "run", idle=False)
    code, answer = window(tmp_path / "run", capsys, "--wait", "0.6")
    assert code == 1 and answer["open"] is False and "a patron is using the kiosk" in str(answer["reason"])


def test_the_window_opens_when_the_session_ends_within_the_wait(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    report(run_dir, idle=False)
    ends = threading.Timer(0.5, lambda: report(run_dir, idle=True))
    ends.start()
    try:
        code, answer = window(run_dir, capsys, "--wait", "10")
    finally:
        ends.cancel()
    assert code == 0 and "idle" in str(answer["reason"])


@pytest.mark.parametrize(
    "leftover",
    ["none", "dead process", "stale"],
)
def test_no_live_station_reporting_opens_the_window(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], leftover: str
) -> None:
    run_dir = tmp_path / "run"
    if leftover == "dead process":
        report(run_dir, idle=False, pid=dead_pid())
    elif leftover == "stale":
        report(run_dir, idle=False, age=60)
    code, answer = window(run_dir, capsys)
    assert code == 0 and "no station reports" in str(answer["reason"])


def dead_pid() -> int:
    async def spawn() -> int:
        process = await asyncio.create_subprocess_exec("true")
        await process.wait()
        return process.pid

    return asyncio.run(spawn())
