"""First boot's enrollment against the real gateway (kiosk-gateway under uvicorn on 127.0.0.1, SQLite, in
front of the demo ILS): the one-time code becomes a device token the gateway accepts, and a used code is
refused as final."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy.firstboot.cli import EXIT_REFUSED, run
from deploy.firstboot.files import Layout
from deploy.firstboot.gateway_enroll import EXIT_REFUSED as ENROLL_REFUSED
from deploy.firstboot.gateway_enroll import main as kiosk_enroll
from tests.gateway.conftest import TROMSO, Site, running_site
from tests.gateway.servers import enrollment_code


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with running_site(tmp_path_factory.mktemp("gateway"), "sqlite:///gateway.sqlite") as site:
        yield site


def kiosk_on(tmp_path: Path, url: str, code: str) -> Layout:
    layout = Layout(boot=tmp_path / "boot", data=tmp_path / "data", run=tmp_path / "run",
                    etc_machine_id=tmp_path / "machine-id", station_user="no-such-user-here")  # fmt: skip
    (layout.boot / "kiosk").mkdir(parents=True)
    command = json.dumps([sys.executable, "-m", "deploy.firstboot.gateway_enroll", "{gateway_url}",
                          "--code-file", "{code_file}"])  # fmt: skip
    layout.device_file.write_text(
        f'[kiosk]\nlibrary = "Tromsø bibliotek"\nname = "Test kiosk"\n'
        f'[gateway]\nurl = "{url}"\ninsecure_http = true\nenrollment_code = "{code}"\n'
        f"enroll_command = {command}\n"
    )
    return layout


def test_first_boot_enrolls_with_the_gateway_and_the_token_is_accepted(gateway: Site, tmp_path: Path) -> None:
    url = gateway.url
    layout = kiosk_on(tmp_path, url, enrollment_code(gateway.config, TROMSO, "Test kiosk"))
    assert run(layout, grow_data=False, services=False) == 0
    token = layout.token_file.read_text().strip()
    assert token.startswith("kgw1.")
    answer = httpx.get(f"{url}/v1/device", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert answer.status_code == 200 and answer.json()["kiosk_name"] == "Test kiosk"


def test_a_used_code_is_refused_as_final(
    gateway: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = enrollment_code(gateway.config, TROMSO, "Used once")
    code_file = tmp_path / "code"
    code_file.write_text(code + "\n")
    assert kiosk_enroll([gateway.url, "--code-file", str(code_file)]) == 0
    capsys.readouterr()
    assert kiosk_enroll([gateway.url, "--code-file", str(code_file)]) == ENROLL_REFUSED
    assert "403" in capsys.readouterr().err
    layout = kiosk_on(tmp_path / "kiosk", gateway.url, code)
    assert run(layout, grow_data=False, services=False) == EXIT_REFUSED
    assert "new code" in json.loads(layout.status_file.read_text())["message"]
