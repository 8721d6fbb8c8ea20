"""[sip2] of the station file becomes a SIP2 connection one way (`StationConfig.sip2_settings`): the
station uses it, and `kiosk sip2 probe --config FILE` uses it with the flags given on top. Real loopback
sockets (the scripted ACS of test_sip2_faults.py); the password never reaches the output."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from kiosk.cli import build_station, main
from kiosk.config import load
from server_api.sip2.circulation import Sip2Circulation
from server_api.sip2.codec import decode_frame
from server_api.sip2.messages import LoginRequest
from tests.sip2.peers import misbehaving_acs

PASSWORD = "login-SECRET"  # a password the scripted ACS accepts


def station_file(tmp_path: Path, sip2: str) -> Path:
    secret = tmp_path / "sip2-password"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    secret.chmod(0o600)
    path = tmp_path / "kiosk.toml"
    path.write_text(
        f'[sip2]\nuser = "kiosk-tromso"\npassword_file = "{secret}"\nlocation = "2190000"\n{sip2}\n'
        f'[journal]\npath = "{tmp_path / "journal.sqlite3"}"\npurge_after_days = 9\n'
        f'[printer]\ndirectory = "{tmp_path / "receipts"}"\n'
        '[clock]\ntrust = "always"\n',
        encoding="utf-8",
    )
    return path


def test_the_station_builds_its_connection_from_the_file(tmp_path: Path) -> None:
    config = load(station_file(tmp_path, 'profile = "folio"\npool_size = 3\nkeepalive = 20\ntimeout = 4'))
    station = build_station(config)
    try:
        circulation = station.circulation
        assert isinstance(circulation, Sip2Circulation)
        settings = circulation.settings
        assert settings == config.sip2_settings()  # the one way config becomes a connection
        assert (settings.charset, settings.error_detection, settings.pool_size) == ("cp850", False, 3)
        assert (settings.keepalive_interval, settings.timeout, settings.user) == (20.0, 4.0, "kiosk-tromso")
        assert circulation.profile.name == "folio" and circulation.pool is not None
        assert circulation.pool.size == 3
        assert station.upkeep.purge_after == timedelta(days=9)  # [journal] reaches the station too
    finally:
        station.journal.close()


async def test_probe_reads_the_station_file_and_flags_override_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with misbehaving_acs(lambda d, g, a: [g]) as acs:
        path = station_file(tmp_path, f'host = "127.0.0.1"\nport = {acs.port}\nprofile = "koha"\ntimeout = 2')
        code = await asyncio.to_thread(main, ["sip2", "probe", "--config", str(path)])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert PASSWORD not in out + err
        assert f"OK kiosk-tromso@127.0.0.1:{acs.port}" in out and "Profile koha" in out
        assert "Return routing read from: CV (alert type), CT (destination), CY (hold patron id: card" in out
        login = decode_frame(acs.received[0]).message
        assert isinstance(login, LoginRequest) and login.location_code == "2190000"

        code = await asyncio.to_thread(
            main, ["sip2", "probe", "--config", str(path), "--profile", "bibliofil", "--user", "other"]
        )
        out, err = capsys.readouterr()
        assert code == 0 and "OK other@" in out and "Profile bibliofil" in out
        assert "Charset iso-8859-1: cannot send" in out  # the profile's charset, not the file's default
        assert "CY (hold patron id: meaning unverified, not shown)" in out
        assert PASSWORD not in out + err
    with_secret = station_file(tmp_path, 'host = "127.0.0.1"\nport = 1\n')
    (tmp_path / "sip2-password").write_text("very-SECRET-pw\n", encoding="utf-8")
    (tmp_path / "sip2-password").chmod(0o600)
    code = await asyncio.to_thread(main, ["sip2", "probe", "--config", str(with_secret), "--timeout", "1"])
    out, err = capsys.readouterr()
    assert code == 1 and err.count("\n") == 1 and "cannot connect" in err
    assert "very-SECRET-pw" not in out + err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--host", "127.0.0.1", "--port", "6001"], "give --config FILE, or --user, --password-file"),
        (["--config", "/nonexistent/kiosk.toml"], "cannot read the configuration"),
    ],
)
def test_probe_argument_problems_exit_2_with_one_line(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sip2", "probe", *argv]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1


def test_probe_refuses_a_bad_config_before_connecting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = station_file(tmp_path, 'tls = true\nca_file = "/nonexistent/ca.pem"')
    assert main(["sip2", "probe", "--config", str(path)]) == 2
    assert "ca_file '/nonexistent/ca.pem': no such file" in capsys.readouterr().err
    # a CA given on the command line implies TLS, as before
    ok = station_file(tmp_path, "")
    assert main(["sip2", "probe", "--config", str(ok), "--ca-file", "/nonexistent/ca.pem"]) == 2
    assert "ca_file '/nonexistent/ca.pem': no such file" in capsys.readouterr().err
