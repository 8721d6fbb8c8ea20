"""First boot against a fake kiosk (a boot folder and a data folder): the secrets move to the data partition
owner-only and leave no trace on the boot partition, enrollment keeps the token and wipes the code, and a
missing network, a refused code or a broken enroll command each leave a plain message for the technician."""

from __future__ import annotations

import json
import shutil
import socket
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.firstboot import grow
from deploy.firstboot.cli import EXIT_REFUSED, EXIT_WAITING, run
from deploy.firstboot.enroll import NetworkMissing, reach_gateway
from deploy.firstboot.files import Layout
from deploy.firstboot.settings import wpa_supplicant_text
from deploy.flash.device_config import Wifi
from tests.deploy.conftest import DEVICE_TOML, SSH_KEY, make_image

TOKEN = "kgw1.dev-123.c2VjcmV0LXNlY3JldC1zZWNyZXQ"


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that accepts connections: the 'gateway is reachable' case."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server.getsockname()[1]
    server.close()


def fake_kiosk(tmp_path: Path, gateway: str, enroll_script: str) -> Layout:
    layout = Layout(
        boot=tmp_path / "boot",
        data=tmp_path / "data",
        run=tmp_path / "run",
        etc_machine_id=tmp_path / "machine-id",
        station_user="no-such-user-here",
    )
    (layout.boot / "kiosk").mkdir(parents=True)
    (layout.data / "kiosk").mkdir(parents=True)
    layout.etc_machine_id.write_text("0123456789abcdef0123456789abcdef\n")
    script = tmp_path / "enroll.py"
    script.write_text(textwrap.dedent(enroll_script))
    command = json.dumps([sys.executable, str(script), "{gateway_url}", "{code_file}"])
    text = DEVICE_TOML.replace(
        'url = "https://gateway.example.org"', f'url = "{gateway}"\ninsecure_http = true'
    )
    layout.device_file.write_text(text.replace("[wifi]", f"enroll_command = {command}\n\n[wifi]"))
    return layout


GOOD_ENROLL = f"""
    import sys
    code = open(sys.argv[2]).read().strip()
    assert code == "ABCDE-FGHJK-MNPQR-STVWX", code
    print("{TOKEN}")
"""


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def status_of(layout: Layout) -> dict[str, str]:
    return dict(json.loads(layout.status_file.read_text()))


def test_first_boot_moves_the_secrets_enrolls_and_leaves_nothing_on_the_boot_partition(
    tmp_path: Path, listener: int
) -> None:
    layout = fake_kiosk(tmp_path, f"http://127.0.0.1:{listener}", GOOD_ENROLL)
    assert run(layout, grow_data=False, services=False) == 0
    assert not layout.device_file.exists()
    assert layout.token_file.read_text().strip() == TOKEN and mode(layout.token_file) == 0o600
    assert not layout.code_file.exists()
    wifi = layout.wifi_file.read_text()
    assert mode(layout.wifi_file) == 0o600 and "correct horse" not in wifi
    assert layout.ssh_keys_file.read_text().strip() == SSH_KEY
    assert (layout.data / "machine-id").read_text().strip() == "0123456789abcdef0123456789abcdef"
    assert 'library_name = "Tromsø bibliotek"' in layout.station_config.read_text()
    assert mode(layout.station_config) == 0o600 and mode(layout.kiosk / "device.toml") == 0o600
    assert status_of(layout)["state"] == "done" and layout.done_file.exists()
    assert not (layout.kiosk / "display.env").exists()  # the GPU draws unless the settings say otherwise


def test_the_station_configuration_from_first_boot_talks_to_the_gateway_with_the_stored_token(
    tmp_path: Path, listener: int
) -> None:
    from kiosk.config import load

    layout = fake_kiosk(tmp_path, f"http://127.0.0.1:{listener}", GOOD_ENROLL)
    assert run(layout, grow_data=False, services=False) == 0
    station = load(layout.station_config)  # the station's own loader and checks
    settings = station.gateway_settings()  # the token file: there, the station user's, not empty
    assert settings.url == f"http://127.0.0.1:{listener}" and settings.bearer() == TOKEN
    assert not station.sip2.password_file  # a kiosk in gateway mode holds no SIP2 password


def test_software_drawing_from_the_settings_reaches_the_station_unit(tmp_path: Path, listener: int) -> None:
    layout = fake_kiosk(tmp_path, f"http://127.0.0.1:{listener}", GOOD_ENROLL)
    layout.device_file.write_text(layout.device_file.read_text() + '\n[display]\nrenderer = "pixman"\n')
    assert run(layout, grow_data=False, services=False) == 0
    assert (layout.kiosk / "display.env").read_text() == "WLR_RENDERER=pixman\n"


def test_a_longer_watchdog_for_slow_software_drawing_reaches_the_station(
    tmp_path: Path, listener: int
) -> None:
    layout = fake_kiosk(tmp_path, f"http://127.0.0.1:{listener}", GOOD_ENROLL)
    extra = '\n[display]\nrenderer = "pixman"\nwatchdog_seconds = 300\n'
    layout.device_file.write_text(layout.device_file.read_text() + extra)
    assert run(layout, grow_data=False, services=False) == 0
    assert (layout.kiosk / "display.env").read_text() == "WLR_RENDERER=pixman\nKIOSK_WATCHDOG_SEC=300\n"


def test_the_wifi_key_is_the_one_ieee_802_11i_derives_and_the_passphrase_is_not_kept() -> None:
    # IEEE 802.11i-2004 annex H.4.1, test vector 1: passphrase "password", SSID "IEEE".
    text = wpa_supplicant_text(Wifi("IEEE", "password", "NO"))
    assert "psk=f42c6fc52df0ebef9ebb4b90b38a5f902e83fe1b135a70e23aed762e9710a12e" in text
    assert "password" not in text
    assert "ssid=" + b"IEEE".hex() in text and "country=NO" in text


def test_without_a_network_the_technician_is_told_and_the_code_waits_on_the_data_partition(
    tmp_path: Path,
) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there
    layout = fake_kiosk(tmp_path, f"http://127.0.0.1:{port}", GOOD_ENROLL)
    assert run(layout, grow_data=False, services=False) == EXIT_WAITING
    status = status_of(layout)
    assert status["state"] == "no-network" and "does not answer" in status["message"]
    assert mode(layout.code_file) == 0o600 and not layout.device_file.exists()
    assert not layout.token_file.exists()


def test_the_network_message_names_the_likely_cause(tmp_path: Path) -> None:
    no_route = tmp_path / "route"
    no_route.write_text("Iface\tDestination\tGateway\neth0\t0002000A\t00000000\n")
    with pytest.raises(NetworkMissing, match="No network: this kiosk has no connection"):
        reach_gateway("https://gateway.example.org", route_table=no_route)

    def no_dns(host: str, port: int) -> list[tuple[str, int]]:
        raise socket.gaierror("Name or service not known")

    default = tmp_path / "default"
    default.write_text("Iface\tDestination\tGateway\neth0\t00000000\t0102000A\n")
    with pytest.raises(NetworkMissing, match="cannot be looked up"):
        reach_gateway("https://gateway.example.org", resolver=no_dns, route_table=default)


def test_a_refused_code_is_final_and_says_to_ask_for_a_new_one(tmp_path: Path, listener: int) -> None:
    refused = """
        import sys
        print("enrollment_refused: this code was already used", file=sys.stderr)
        sys.exit(65)
    """
    layout = fake_kiosk(tmp_path, f"http://127.0.0.1:{listener}", refused)
    assert run(layout, grow_data=False, services=False) == EXIT_REFUSED
    status = status_of(layout)
    assert status["state"] == "enroll-refused" and "already used" in status["message"]
    assert "new code" in status["message"]


def test_an_enroll_command_that_prints_no_token_is_retried_later(tmp_path: Path, listener: int) -> None:
    layout = fake_kiosk(tmp_path, f"http://127.0.0.1:{listener}", "print('')\n")
    assert run(layout, grow_data=False, services=False) == 1
    assert status_of(layout)["state"] == "enroll-failed" and layout.code_file.exists()


def test_a_new_device_file_after_enrollment_changes_the_wifi_without_enrolling_again(
    tmp_path: Path, listener: int
) -> None:
    layout = fake_kiosk(tmp_path, f"http://127.0.0.1:{listener}", GOOD_ENROLL)
    text = layout.device_file.read_text()
    assert run(layout, grow_data=False, services=False) == 0
    layout.device_file.write_text(text.replace("Bibliotek-Intern", "Bibliotek-Ny"))
    (tmp_path / "enroll.py").write_text("import sys; sys.exit(3)\n")  # enrolling again would fail
    assert run(layout, grow_data=False, services=False) == 0
    assert b"Bibliotek-Ny".hex() in layout.wifi_file.read_text()
    assert layout.token_file.read_text().strip() == TOKEN


def test_a_kiosk_without_settings_says_to_write_them(tmp_path: Path) -> None:
    layout = fake_kiosk(tmp_path, "http://127.0.0.1:9", GOOD_ENROLL)
    layout.device_file.unlink()
    assert run(layout, grow_data=False, services=False) == EXIT_REFUSED
    assert "kiosk-flash" in status_of(layout)["message"]


def test_a_broken_device_file_is_reported_not_a_traceback(tmp_path: Path) -> None:
    layout = fake_kiosk(tmp_path, "http://127.0.0.1:9", GOOD_ENROLL)
    layout.device_file.write_text("[kiosk]\nname = 3\n")
    assert run(layout, grow_data=False, services=False) == 1
    status = status_of(layout)
    assert status["state"] == "setup-failed" and "[gateway] section is missing" in status["message"]
    assert layout.device_file.exists()  # nothing is wiped that was not safely taken


def test_growpart_grows_the_data_partition_to_the_end_of_a_bigger_card(tmp_path: Path) -> None:
    if shutil.which("growpart") is None:
        pytest.fail("growpart is missing: `make system-packages` installs cloud-guest-utils")
    image = make_image(tmp_path)
    start, before = _last_partition(image)
    with image.open("r+b") as handle:
        handle.truncate(image.stat().st_size + 64 * 2**20)  # a bigger card
    partition = grow.Partition(disk=image, number=4, device=image)
    assert grow.grow(partition, resize_filesystem=False)
    start_after, after = _last_partition(image)
    assert start_after == start and after > before + 64 * 2048 - 64
    assert image.stat().st_size // 512 - (start + after) <= 34  # up to GPT's backup table at the end
    assert not grow.grow(partition, resize_filesystem=False)  # a second boot: nothing to do


def _last_partition(image: Path) -> tuple[int, int]:
    table = json.loads(
        subprocess.run(["sfdisk", "--json", str(image)], capture_output=True, check=True).stdout
    )
    last = table["partitiontable"]["partitions"][-1]
    return int(last["start"]), int(last["size"])
