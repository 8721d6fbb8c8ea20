"""`kiosk-gateway` and its configuration: every mistake named with file, key and what to do; secrets only
from owner-only files; the commands a technician runs, through the real console script's module."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from server_api.gateway.cli import main
from server_api.gateway.config import GatewayConfigError, load, read_secret
from server_api.gateway.demo import write_demo_config
from server_api.gateway.storage import head_revision
from tests.gateway.servers import ROOT


def console_script(*args: str) -> subprocess.CompletedProcess[str]:
    """The command as installed, in its own process."""
    return subprocess.run(
        [sys.executable, "-m", "server_api.gateway", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The same command's `main`, in this process (quicker: no interpreter start per call)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_demo_config(tmp_path, ils_port=6001)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_the_demo_configuration_is_valid(config: Path) -> None:
    loaded = load(config)
    assert loaded.check() == []
    assert len(loaded.library) == 5 and loaded.sip2_settings("2190000").password == "demo-tromso"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("port = 8080", "port = 80800", "[gateway] port: Input should be less than or equal to 65535"),
        ("port = 8080", "prot = 8080", "[gateway] prot: Extra inputs are not permitted"),
        (
            "pool_size = 4",
            "pool_size = 0",
            "[library #1] sip2.pool_size: Input should be greater than or equal to 1",
        ),
        ('number = "2190100"', 'number = "2190000"', "library numbers must be unique: 2190000"),
        ('number = "2190000"', 'number = "21 90"', "[library #1] number"),
        ("timeout = 5.0", 'timeout = "slow"', "sip2.timeout: Input should be a valid number"),
        ('"^\\\\d{12}$"]', '"^(\\\\d{12}$"]', "is not a regular expression"),
    ],
)
def test_a_wrong_value_is_named_with_file_and_key(config: Path, old: str, new: str, message: str) -> None:
    edit(config, old, new)
    with pytest.raises(GatewayConfigError) as caught:
        load(config)
    assert str(config) in str(caught.value) and message in str(caught.value)


def test_a_secret_readable_by_others_is_refused_with_the_fix(config: Path) -> None:
    secret = config.parent / "secrets" / "sip2-2190000.password"
    os.chmod(secret, 0o644)
    problems = load(config).check()
    assert any(f"chmod 600 {secret}" in p for p in problems)
    with pytest.raises(GatewayConfigError, match="empty"):
        empty = config.parent / "empty"
        empty.write_text("\n")
        os.chmod(empty, 0o600)
        read_secret(empty, "x")


def test_check_config_exits_2_on_a_problem_and_0_when_fine(config: Path) -> None:
    fine = console_script("--config", str(config), "check-config")
    assert fine.returncode == 0 and "fine (5 libraries)" in fine.stdout
    os.chmod(config.parent / "secrets" / "consortium.key", 0o640)
    broken = cli("--config", str(config), "check-config")
    assert (
        broken.returncode == 2 and "consortium_key_file" in broken.stderr and "Traceback" not in broken.stderr
    )
    missing = cli("--config", str(config.parent / "nope.toml"), "check-config")
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_serve_refuses_a_database_that_is_not_migrated(config: Path) -> None:
    refused = cli("--config", str(config), "serve", "--port", "1")
    assert refused.returncode == 2 and "kiosk-gateway migrate" in refused.stderr


def test_migrate_enroll_code_user_add_devices_and_revoke(config: Path, tmp_path: Path) -> None:
    migrated = cli("--config", str(config), "migrate")
    head = head_revision()  # other parts of the gateway (the staff console) add their own revisions
    assert migrated.returncode == 0 and f"empty -> {head}" in migrated.stdout
    assert f"{head} -> {head}" in cli("--config", str(config), "migrate").stdout
    code = cli("--config", str(config), "enroll-code", "--library", "2190000", "--kiosk", "Tromsø 1")
    assert code.returncode == 0 and len(code.stdout.strip()) == 23 and "Tromsø 1" in code.stderr
    unknown = cli("--config", str(config), "enroll-code", "--library", "9999999", "--kiosk", "x")
    assert unknown.returncode == 2 and "not in the configuration" in unknown.stderr
    password = tmp_path / "pw"
    password.write_text("a long staff password\n")
    os.chmod(password, 0o600)
    added = cli(
        "--config",
        str(config),
        "user",
        "add",
        "kari",
        "--library",
        "2190000",
        "--password-file",
        str(password),
    )
    assert added.returncode == 0 and "library 2190000" in added.stdout
    twice = cli("--config", str(config), "user", "add", "kari", "--password-file", str(password))
    assert twice.returncode == 2 and "exists already" in twice.stderr
    assert cli("--config", str(config), "devices").stdout == ""
    assert cli("--config", str(config), "revoke", "nope").returncode == 2
