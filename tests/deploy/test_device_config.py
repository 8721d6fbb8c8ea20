"""The device configuration: what a technician may write, and the clear error for each mistake."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from deploy.flash.device_config import DeviceConfigError, from_mapping, hostname_from, load, to_toml
from tests.deploy.conftest import DEVICE_TOML, SSH_KEY


def good() -> dict[str, dict[str, object]]:
    return tomllib.loads(DEVICE_TOML)


def test_the_example_file_shipped_in_the_image_is_valid() -> None:
    config = load(Path(__file__).parents[2] / "deploy" / "flash" / "device-example.toml")
    assert config.hostname == "tromso-hoved-1"


def test_a_good_file_gives_every_setting(device_config: Path) -> None:
    config = load(device_config)
    assert config.library == "Tromsø bibliotek"
    assert config.hostname == "hovedbiblioteket-1-etasje"
    assert config.wifi is not None and config.wifi.country == "NO"
    assert config.ssh_keys == (SSH_KEY,)
    assert "correct horse" not in config.describe() and "ABCDE" not in config.describe()


def test_what_is_written_to_the_boot_partition_reads_back_as_the_same_configuration(
    device_config: Path,
) -> None:
    config = load(device_config)
    assert from_mapping(tomllib.loads(to_toml(config))) == config


def test_host_names_are_made_from_the_kiosk_name_with_norwegian_letters_folded() -> None:
    assert hostname_from("Tromsø, Ærøy & Åsane 2") == "tromso-aeroy-asane-2"
    assert hostname_from("!!!") == "kiosk"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["kiosk"].pop("library"), r"\[kiosk\] library is missing"),
        (lambda d: d.pop("gateway"), r"the \[gateway\] section is missing"),
        (lambda d: d["kiosk"].update(hostname="Bad_Name"), "hostname 'Bad_Name'"),
        (
            lambda d: d["kiosk"].update(langauge="nb"),
            "unknown key in \\[kiosk\\] langauge; did you mean language",
        ),
        (lambda d: d.update(wlan={}), r"unknown section \[wlan\]"),
        (lambda d: d["gateway"].update(url="ftp://x"), "give https://HOST"),
        (lambda d: d["gateway"].update(url="http://gw.example.org"), "not encrypted"),
        (lambda d: d["gateway"].update(url="https://user:pw@gw.example.org"), "no user, password"),
        (lambda d: d["gateway"].update(enrollment_code="12"), "enrollment_code is missing or malformed"),
        (lambda d: d["gateway"].update(enroll_command=["kiosk", "enroll"]), "absolute program path"),
        (lambda d: d["gateway"].update(enroll_command=["/bin/x", "{code}"]), "use {code_file}, not {code}"),
        (lambda d: d["gateway"].update(enroll_command=["/bin/x", "{token}"]), "unknown {token}"),
        (lambda d: d["wifi"].update(psk="short"), "psk must be the WPA passphrase"),
        (lambda d: d["wifi"].update(country="no"), "two-letter country code"),
        (lambda d: d["wifi"].update(ssid="x" * 33), "ssid must be"),
        (
            lambda d: d["ssh"].update(authorized_keys=["-----BEGIN OPENSSH PRIVATE KEY-----"]),
            "never the private",
        ),
        (lambda d: d["ssh"].update(authorized_keys="ssh-ed25519 AAAA"), "must be a list"),
        (lambda d: d.update(display={"renderer": "opengl"}), r"\[display\] renderer 'opengl'"),
        (lambda d: d.update(display={"watchdog_seconds": 5}), r"watchdog_seconds 5: seconds from 30 to 900"),
    ],
)
def test_each_mistake_names_the_key_and_what_would_be_right(
    change: Callable[[dict[str, dict[str, object]]], object], expected: str
) -> None:
    data = good()
    change(data)
    with pytest.raises(DeviceConfigError, match=expected):
        from_mapping(data, "kiosk.toml")


def test_a_test_gateway_over_http_needs_insecure_http() -> None:
    data = good()
    data["gateway"].update(url="http://10.0.2.2:8080", insecure_http=True)
    assert from_mapping(data).gateway_url == "http://10.0.2.2:8080"


def test_a_64_hex_digit_wifi_key_is_accepted() -> None:
    data = good()
    data["wifi"]["psk"] = "ab" * 32
    assert from_mapping(data).wifi is not None


def test_files_that_are_not_toml_or_not_utf8_are_reported(
    write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    with pytest.raises(DeviceConfigError, match="not valid TOML"):
        load(write_config("[kiosk\nname = 1"))
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes('[kiosk]\nname = "Troms\xf8"\n'.encode("latin-1"))
    with pytest.raises(DeviceConfigError, match="not UTF-8"):
        load(latin1)
    with pytest.raises(DeviceConfigError, match="cannot read"):
        load(tmp_path / "missing.toml")
