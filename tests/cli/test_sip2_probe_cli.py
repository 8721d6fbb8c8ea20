"""`kiosk sip2 probe --test-patron CARD [--json]` against the demo library system configured as a Latin-1
server with one worker: the command says the server's charset, the pool size that works, what to set and
which refusal texts no rule maps. Real loopback TCP; the password never reaches the output."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from kiosk.cli import main
from server_api.demo_ils import (
    DEMO_PATRON_ID,
    KIOSK_INSTITUTION,
    KIOSK_LOCATION,
    KIOSK_LOGIN,
    DemoIls,
    ServerQuirks,
)


def station_file(tmp_path: Path, port: int) -> Path:
    user, password = KIOSK_LOGIN
    secret = tmp_path / "sip2-password"
    secret.write_text(password + "\n", encoding="utf-8")
    secret.chmod(0o600)
    path = tmp_path / "kiosk.toml"
    path.write_text(
        f'[sip2]\nhost = "127.0.0.1"\nport = {port}\nuser = "{user}"\npassword_file = "{secret}"\n'
        f'location = "{KIOSK_LOCATION}"\ninstitution = "{KIOSK_INSTITUTION}"\ncharset = "utf-8"\n'
        "pool_size = 2\ntimeout = 0.5\n",
        encoding="utf-8",
    )
    return path


async def test_the_probe_command_reports_a_latin1_one_worker_server_and_what_to_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    quirks = ServerQuirks(workers=1)
    async with DemoIls(tmp_path / "ils.sqlite", charset="iso-8859-1", quirks=quirks) as ils:
        path = station_file(tmp_path, ils.port)
        argv = ["sip2", "probe", "--config", str(path), "--test-patron", DEMO_PATRON_ID]
        code = await asyncio.to_thread(main, argv)
        out, err = capsys.readouterr()
        assert code == 0, err
        assert "Charset of the server: iso-8859-1" in out and "Connections served: 1 of 2" in out
        assert "Hint: charset = iso-8859-1" in out and "Hint: pool_size = 1" in out
        assert "WARNING: the server writes iso-8859-1, the connection is set to utf-8" in out

        code = await asyncio.to_thread(main, [*argv, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert KIOSK_LOGIN[1] not in out + err
    record = json.loads(out)
    assert record["ok"] and record["charset"]["found"] == "iso-8859-1" and not record["charset"]["matches"]
    assert (record["pool"]["working"], record["pool"]["max_size"]) == (1, 2)
    assert "pool_size = 1" in record["hints"] and "charset = iso-8859-1" in record["hints"]
    assert record["unmapped_refusals"] == []  # the demo's "Ukjent eksemplar" maps to item not found
    assert any("iso-8859-1" in warning for warning in record["warnings"])


async def test_the_probe_command_in_json_exits_1_with_the_reason_when_nobody_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await asyncio.to_thread(
        main, ["sip2", "probe", "--config", str(station_file(tmp_path, 1)), "--json"]
    )
    record = json.loads(capsys.readouterr().out)
    assert code == 1 and not record["ok"] and "connect" in record["reason"]
