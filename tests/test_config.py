"""A wrong configuration says where and what is wrong; it never falls back silently."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.config import ConfigError, load


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_file_becomes_a_session_policy(tmp_path):
    config = load(
        write(tmp_path, '[station]\nlanguage = "se"\n[session]\nidle_timeout = 90\nidle_warning = 30\n')
    )
    policy = config.policy()
    assert policy.language == "se"
    assert policy.idle_timeout == timedelta(seconds=90)
    assert config.sip2.port == 6001  # untouched defaults stay


def test_a_misspelt_key_names_the_nearest_known_one(tmp_path):
    with pytest.raises(
        ConfigError, match=r"kiosk.toml: unknown key in \[sip2\]: 'hots' \(did you mean 'host'\?\)"
    ):
        load(write(tmp_path, '[sip2]\nhots = "ils.example.org"\n'))


def test_an_unknown_section_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown section '\[sip\]'"):
        load(write(tmp_path, "[sip]\nport = 1\n"))


def test_a_wrong_type_names_key_and_value(tmp_path):
    with pytest.raises(ConfigError, match=r"\[sip2\] port: expected a whole number, got 'abc'"):
        load(write(tmp_path, '[sip2]\nport = "abc"\n'))


def test_a_language_the_station_does_not_have_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"\[station\] language: 'de' is not one of nb, nn, se"):
        load(write(tmp_path, '[station]\nlanguage = "de"\n'))


def test_broken_toml_is_reported_with_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"kiosk.toml: not valid TOML"):
        load(write(tmp_path, "[sip2\n"))


def test_the_warning_must_come_before_the_timeout(tmp_path):
    with pytest.raises(ConfigError, match="idle_warning must be shorter"):
        load(write(tmp_path, "[session]\nidle_timeout = 10\nidle_warning = 10\n"))


def test_the_password_comes_from_its_own_file(tmp_path):
    secret = tmp_path / "sip2-password"
    secret.write_text("s3cret\n", encoding="utf-8")
    config = load(write(tmp_path, f'[sip2]\npassword_file = "{secret}"\n'))
    assert config.sip2_password() == "s3cret"
    missing = load(write(tmp_path, f'[sip2]\npassword_file = "{tmp_path / "nope"}"\n'))
    with pytest.raises(ConfigError, match=r"password_file .*No such file"):
        missing.sip2_password()


def test_config_check_command_exits_non_zero_with_a_one_line_reason(tmp_path, capsys):
    path = write(tmp_path, "[session]\nidle_timout = 5\n")
    assert main(["config", "check", str(path)]) == 1
    err = capsys.readouterr().err
    assert "did you mean 'idle_timeout'" in err
    ok = write(tmp_path, "[station]\nname = 'Alta'\n")
    assert main(["config", "check", str(ok)]) == 0
