"""`kiosk doctor` in gateway mode, against the real gateway (kiosk-gateway under uvicorn on 127.0.0.1, SQLite,
in front of the demo ILS): the name, the connection, the token and a round trip; a refused token and a
library system the gateway cannot reach each give their own line."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.cli import main
from tests.gateway.conftest import Site, running_site


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    # A FaultyLink (1 ms per reply) between gateway and demo ILS, so a test can cut the library system off
    with running_site(
        tmp_path_factory.mktemp("gateway"), "sqlite:///gateway.sqlite", ils_delay=0.001
    ) as site:
        yield site


def kiosk_file(tmp_path: Path, url: str, token: str) -> Path:
    token_file = tmp_path / "device-token"
    token_file.write_text(token + "\n", encoding="utf-8")
    token_file.chmod(0o600)
    path = tmp_path / "kiosk.toml"
    path.write_text(
        f'[gateway]\nurl = "{url}"\ntoken_file = "{token_file}"\n[clock]\ntrust = "always"\n'
        f'[journal]\npath = "{tmp_path}/journal.sqlite3"\n[printer]\ndirectory = "{tmp_path}/receipts"\n',
        encoding="utf-8",
    )
    return path


async def doctor(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, dict[str, str]]]:
    code = await asyncio.to_thread(main, ["doctor", "--config", str(path), "--json"])
    return code, {check["check"]: check for check in json.loads(capsys.readouterr().out)["checks"]}


async def test_an_enrolled_kiosk_reaches_the_gateway_and_the_library_system_behind_it(
    gateway: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, checks = await doctor(kiosk_file(tmp_path, gateway.url, gateway.token()), capsys)
    assert code == 0, checks
    assert checks["network"]["verdict"] == "ok" and "reached" in checks["network"]["said"]
    assert checks["gateway"]["verdict"] == "ok" and "token accepted, round trip" in checks["gateway"]["said"]
    assert checks["library"]["verdict"] == "ok"
    assert checks["library"]["said"] == "the library system answers through the gateway"


async def test_a_token_the_gateway_does_not_know_says_enroll_again(
    gateway: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, checks = await doctor(kiosk_file(tmp_path, gateway.url, "kgw1.not.known"), capsys)
    assert code == 1 and checks["gateway"]["verdict"] == "fail"
    assert "refused this kiosk's token (401)" in checks["gateway"]["said"]
    assert "kiosk enroll" in checks["gateway"]["advice"] and checks["library"]["verdict"] == "skip"


async def test_a_library_system_the_gateway_cannot_reach_is_the_library_line(
    gateway: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = kiosk_file(tmp_path, gateway.url, gateway.token())
    gateway.ils.set_cut(True)
    try:
        code, checks = await doctor(path, capsys)
    finally:
        gateway.ils.set_cut(False)
    assert code == 1 and checks["gateway"]["verdict"] == "ok", checks
    assert checks["library"]["verdict"] == "fail" and "works offline" in checks["library"]["advice"]
