"""console.toml: optional, every key checked; `kiosk-gateway check-config` says what is wrong in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from server_api.gateway.cli import main
from server_api.gateway.demo import write_demo_config


def test_check_config_names_the_file_and_the_key_of_a_wrong_console_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_demo_config(tmp_path)
    assert main(["--config", str(path), "check-config"]) == 0
    (tmp_path / "console.toml").write_text("idle_minutes = 0\n[alerts]\nsmtp_port = 70000\nsmpt_host = 'x'\n")
    assert main(["--config", str(path), "check-config"]) == 2
    said = capsys.readouterr().err
    assert "console.toml: idle_minutes" in said and "alerts.smtp_port" in said and "alerts.smpt_host" in said
