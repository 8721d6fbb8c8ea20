"""A wrong configuration says where and what is wrong; it never falls back silently."""

from __future__ import annotations

from datetime import datetime, timedelta
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
    secret.chmod(0o600)
    config = load(write(tmp_path, f'[sip2]\npassword_file = "{secret}"\n'))
    assert config.sip2_password() == "s3cret"
    missing = load(write(tmp_path, f'[sip2]\npassword_file = "{tmp_path / "nope"}"\n'))
    with pytest.raises(ConfigError, match=r"password_file: .*No such file or directory: create it"):
        missing.sip2_password()


def test_config_check_command_exits_non_zero_with_a_one_line_reason(tmp_path, capsys):
    path = write(tmp_path, "[session]\nidle_timout = 5\n")
    assert main(["config", "check", str(path)]) == 1
    err = capsys.readouterr().err
    assert "did you mean 'idle_timeout'" in err
    # A file without the SIP2 password is one `kiosk run` would refuse: so does check (a good file passes:
    # tests/cli/test_config_bad_files.py).
    no_password = write(tmp_path, "[station]\nname = 'Alta'\n")
    assert main(["config", "check", str(no_password)]) == 1
    assert "[sip2] password_file: not set" in capsys.readouterr().err


# --- [sip2]: the keys a technician needs, validated before anything connects -------------------------


def sip2_file(tmp_path: Path, lines: str) -> Path:
    secret = tmp_path / "sip2-password"
    secret.write_text("s3cret-pw\n", encoding="utf-8")
    secret.chmod(0o600)
    return write(tmp_path, f'[sip2]\npassword_file = "{secret}"\n{lines}')


def test_the_profile_gives_defaults_and_the_file_overrides_them(tmp_path):
    folio = load(sip2_file(tmp_path, 'profile = "folio"\npool_size = 4\nkeepalive = 30\n')).sip2_settings()
    assert (folio.profile, folio.charset, folio.error_detection) == ("folio", "cp850", False)
    assert (folio.pool_size, folio.keepalive_interval, folio.password) == (4, 30.0, "s3cret-pw")
    overridden = load(
        sip2_file(tmp_path, 'profile = "folio"\ncharset = "utf-8"\nerror_detection = true\n')
    ).sip2_settings()
    assert (overridden.charset, overridden.error_detection) == ("utf-8", True)
    plain = load(sip2_file(tmp_path, "")).sip2_settings()
    assert (plain.profile, plain.charset, plain.keepalive_interval) == ("generic", "utf-8", 30.0)
    assert not plain.tls and plain.pool_size == 2
    assert "s3cret-pw" not in repr(folio) and "s3cret-pw" not in repr(load(sip2_file(tmp_path, "")))


def test_an_unknown_profile_lists_the_known_ones(tmp_path):
    with pytest.raises(
        ConfigError,
        match=r"\[sip2\] profile: 'sirsi' is not one of bibliofil, evergreen, folio, generic, koha, mik",
    ):
        load(write(tmp_path, '[sip2]\nprofile = "sirsi"\n'))


@pytest.mark.parametrize(
    ("lines", "words"),
    [
        ('charset = "latin-99"', r"charset: 'latin-99' is not a known character set \(tested: utf-8, cp850"),
        ("pool_size = 0", r"pool_size: 0 is out of range: use a whole number from 1 to 16"),
        ("timeout = 0", r"timeout: 0 is out of range: use a number from 0.5 to 120 seconds"),
        ('client_key = "k.pem"', r"client_key is set without client_cert"),
        ('tls = true\nca_file = "/nonexistent/ca.pem"', r"ca_file '/nonexistent/ca.pem': no such file"),
        (
            'tls = true\nclient_cert = "/nonexistent/kiosk.pem"',
            r"client_cert '/nonexistent/kiosk.pem': no such file",
        ),
        ('ca_file = "ca.pem"', r"ca_file set but tls = false: set tls = true \(the connection would be"),
        ("keepalive = -5", r"keepalive: -5 is out of range: use a number from 5 to 3600 seconds, or 0 for"),
    ],
    ids=["charset", "pool-size", "timeout", "key-no-cert", "ca-missing", "cert-missing", "tls-off", "ka"],
)
def test_sip2_mistakes_are_named_with_file_and_key(tmp_path, lines, words):
    with pytest.raises(ConfigError, match=r"kiosk.toml: \[sip2\] " + words):
        load(write(tmp_path, f"[sip2]\n{lines}\n"))


def test_any_python_codec_is_accepted_as_charset(tmp_path):
    assert load(sip2_file(tmp_path, 'charset = "cp865"\n')).sip2_settings().charset == "cp865"


def test_tls_files_are_loaded_before_the_station_starts(tmp_path):
    garbage = tmp_path / "ca.pem"
    garbage.write_text("not a certificate\n", encoding="utf-8")
    config = load(sip2_file(tmp_path, f'tls = true\nca_file = "{garbage}"\n'))
    with pytest.raises(ConfigError, match=r"kiosk.toml: \[sip2\] SIP2 TLS files cannot be loaded"):
        config.sip2_settings()
    system = load(sip2_file(tmp_path, 'tls = true\ntls_server_name = "sip2.example.org"\n')).sip2_settings()
    assert system.tls and system.tls_ca_file is None and system.tls_server_name == "sip2.example.org"


def test_sip2_settings_need_the_password_file(tmp_path):
    with pytest.raises(ConfigError, match=r"\[sip2\] password_file: not set: name the file that holds it"):
        load(write(tmp_path, '[sip2]\nprofile = "koha"\n')).sip2_settings()


def test_library_names_for_staff_slips_come_from_the_file(tmp_path):
    path = sip2_file(tmp_path, "")
    path.write_text(path.read_text() + '\n[libraries]\n1902000 = "Harstad bibliotek"\n', encoding="utf-8")
    assert load(path).sip2_settings().library_names == {"1902000": "Harstad bibliotek"}
    path.write_text(path.read_text().replace('"Harstad bibliotek"', "1902"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[libraries\] 1902000 must be the library's name"):
        load(path)


async def test_a_transit_slip_names_the_library_the_file_names(tmp_path):
    """End to end: the return of another library's item, routed by the demo library system, comes
    back with the destination's name from [libraries], not the bare code."""
    from server_api.circulation import RouteKind, Transaction
    from server_api.demo_ils import data as demo_data
    from server_api.demo_ils.server import DemoIls
    from server_api.sip2.circulation import Sip2Circulation

    async with DemoIls(db_path=tmp_path / "ils.sqlite3") as ils:
        user, password = demo_data.KIOSK_LOGIN
        secret = tmp_path / "pw"
        secret.write_text(password, encoding="utf-8")
        secret.chmod(0o600)
        home = next(it.home for it in demo_data.ITEMS if it.item_id == demo_data.OTHER_LIBRARY_ITEM)
        path = write(
            tmp_path,
            f'[sip2]\nport = {ils.port}\nuser = "{user}"\npassword_file = "{secret}"\n'
            f'location = "{demo_data.KIOSK_LIBRARY.number}"\n'
            f'[libraries]\n{home} = "Biblioteket i nord (fra konfigurasjonen)"\n',
        )
        circulation = Sip2Circulation(load(path).sip2_settings())
        try:
            outcome = await circulation.checkin(demo_data.OTHER_LIBRARY_ITEM, Transaction.new(datetime.now()))
        finally:
            await circulation.close()
    assert outcome.route.kind is RouteKind.TRANSIT
    assert outcome.route.destination_name == "Biblioteket i nord (fra konfigurasjonen)"
