"""`kiosk enroll` run by root (as a technician does) gives the device token to the station's user: the owner
of the station's data directory, or `--user`; 0600 either way. Against the gateway on loopback."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gateway.conftest import TROMSO, Site
from tests.gateway.servers import ROOT, enrollment_code

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
NOBODY = pwd.getpwnam("nobody")


def station(folder: Path) -> Path:
    """A station configuration whose journal lives in folder/data."""
    data = folder / "data"
    data.mkdir(parents=True)
    config = folder / "kiosk.toml"
    config.write_text(f'[journal]\npath = "{data / "journal.sqlite3"}"\n', encoding="utf-8")
    return config


def kiosk_enroll(site: Site, config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    code = enrollment_code(site.config, TROMSO, f"Enrolled by root {config.parent.name}")
    kiosk = str(Path(sys.executable).with_name("kiosk"))
    return subprocess.run(
        [kiosk, "enroll", site.url, code, "--config", str(config), *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_the_token_belongs_to_the_owner_of_the_data_directory_not_root(
    sqlite_site: Site, tmp_path: Path
) -> None:
    config = station(tmp_path)
    shutil.chown(tmp_path / "data", NOBODY.pw_uid, NOBODY.pw_gid)  # as the image gives it to `kiosk`
    done = kiosk_enroll(sqlite_site, config)
    assert done.returncode == 0, done.stderr
    token = tmp_path / "device-token"
    info = token.stat()
    assert (info.st_uid, info.st_gid) == (NOBODY.pw_uid, NOBODY.pw_gid)
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert "readable by nobody only" in done.stdout and token.read_text().strip() not in done.stdout


def test_user_names_the_station_s_user_and_an_unknown_one_spends_no_code(
    sqlite_site: Site, tmp_path: Path
) -> None:
    config = station(tmp_path)  # the data directory is root's: --user says whose the token is
    unknown = kiosk_enroll(sqlite_site, config, "--user", "no-such-kiosk-user")
    assert unknown.returncode == 2 and "no such user" in unknown.stderr and "Traceback" not in unknown.stderr
    assert not (tmp_path / "device-token").exists()
    done = kiosk_enroll(sqlite_site, config, "--user", "nobody")
    assert done.returncode == 0, done.stderr
    info = (tmp_path / "device-token").stat()
    assert info.st_uid == NOBODY.pw_uid and stat.S_IMODE(info.st_mode) == 0o600
