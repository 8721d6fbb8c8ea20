"""Gateway mode: `[gateway]` in the station's file, checked like every section, and `kiosk enroll`
against the real gateway (kiosk-gateway under uvicorn on 127.0.0.1, SQLite, in front of the demo ILS)."""

from __future__ import annotations

import ipaddress
import os
import ssl
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kiosk.cli import build_station, main
from kiosk.config import ConfigError, check_for_run, load
from kiosk.station import GatewayLink
from server_api.sip2.circulation import Sip2Circulation
from tests.gateway.conftest import TROMSO, Site, running_site
from tests.gateway.servers import GatewayProcess, ThreadedIls, enrollment_code, free_port, make_gateway_config


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with running_site(tmp_path_factory.mktemp("gateway"), "sqlite:///gateway.sqlite") as site:
        yield site


def secret(path: Path, text: str = "kgw1.x.y", mode: int = 0o600) -> Path:
    path.write_text(text + "\n")
    os.chmod(path, mode)
    return path


def station_file(tmp_path: Path, body: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "kiosk.toml"
    path.write_text(
        f'[journal]\npath = "{tmp_path}/journal.sqlite3"\n[printer]\ndirectory = "{tmp_path}/receipts"\n'
        + body,
        encoding="utf-8",
    )
    return path


def test_a_gateway_section_makes_the_station_talk_https_to_the_gateway(tmp_path: Path) -> None:
    token = secret(tmp_path / "token")
    config = load(station_file(tmp_path, f'[gateway]\nurl = "http://127.0.0.1:1"\ntoken_file = "{token}"\n'))
    check_for_run(config)
    station = build_station(config)
    try:
        assert isinstance(station.circulation, GatewayLink)
    finally:
        station.journal.close()


def test_without_a_gateway_section_the_station_talks_sip2(tmp_path: Path) -> None:
    password = secret(tmp_path / "sip2.password", "demo")
    config = load(station_file(tmp_path, f'[sip2]\nuser = "kiosk"\npassword_file = "{password}"\n'))
    station = build_station(config)
    try:
        assert isinstance(station.circulation, Sip2Circulation)
    finally:
        station.journal.close()


def test_a_sip2_password_beside_a_gateway_is_refused(tmp_path: Path) -> None:
    password = secret(tmp_path / "sip2.password", "demo")
    body = (
        f'[sip2]\npassword_file = "{password}"\n'
        f'[gateway]\nurl = "https://gw.example.net"\ntoken_file = "{tmp_path}/token"\n'
    )
    with pytest.raises(ConfigError, match=r"holds no SIP2 password"):
        load(station_file(tmp_path, body))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('url = "gw.example.net"\ntoken_file = "t"', r"\[gateway\] url: 'gw.example.net' is not an address"),
        ('url = "http://gw.example.net"\ntoken_file = "t"', r"is not encrypted.*use https://"),
        ('url = "https://gw.example.net"', r"\[gateway\] token_file: not set"),
        ('url = "https://gw.example.net"\ntoken_file = "t"\ntimeout = 0', r"timeout: 0 is out of range"),
        ('url = "https://gw.example.net"\ntoken_file = "t"\nheartbeat_interval = 1', r"from 5 to 3600"),
        ('url = "https://gw.example.net"\ntoken_file = "t"\nca_file = "/no/such.pem"', r"no such file"),
        ('url = "https://gw.example.net"\ntoken_file = "t"\nclient_key = "k"', r"without client_cert"),
        ('url = "https://gw.example.net"\ntoken_fiel = "t"', r"did you mean 'token_file'"),
    ],
)
def test_a_wrong_gateway_value_is_refused_naming_the_key(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(station_file(tmp_path, f"[gateway]\n{body}\n"))


def test_config_check_refuses_a_token_file_others_can_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = secret(tmp_path / "token", mode=0o644)
    path = station_file(tmp_path, f'[gateway]\nurl = "https://gw.example.net"\ntoken_file = "{token}"\n')
    assert main(["config", "check", str(path)]) == 1
    assert f"chmod 600 {token}" in capsys.readouterr().err
    os.chmod(token, 0o600)
    assert main(["config", "check", str(path)]) == 0
    assert "OK (station 'Kiosk', gateway https://gw.example.net)" in capsys.readouterr().out


def test_config_check_refuses_a_missing_token_and_says_to_enroll(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = station_file(tmp_path, f'[gateway]\nurl = "https://gw.example.net"\ntoken_file = "{tmp_path}/t"\n')
    assert main(["config", "check", str(path)]) == 1
    assert "token_file" in capsys.readouterr().err


# ------------------------------------------------------------ kiosk enroll, against the real gateway


def test_enroll_stores_the_token_owner_only_and_writes_the_gateway_section(
    gateway: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = station_file(tmp_path, '[station]\nname = "Tromsø 1"  # the lobby\n')
    code = enrollment_code(gateway.config, TROMSO, "Tromsø 1")
    assert main(["enroll", gateway.url, code, "--config", str(path)]) == 0
    said = capsys.readouterr().out
    token_file = tmp_path / "device-token"
    assert "Enrolled as 'Tromsø 1'" in said and str(token_file) in said
    assert "kgw1." not in said  # the token is never printed
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    config = load(path)
    assert config.gateway.url == gateway.url and config.gateway.token_file == str(token_file)
    assert config.station.name == "Tromsø 1" and "# the lobby" in path.read_text()
    check_for_run(config)
    token = token_file.read_text().strip()
    answer = httpx.get(f"{gateway.url}/v1/device", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert answer.status_code == 200 and answer.json()["kiosk_name"] == "Tromsø 1"


def test_enroll_with_a_used_code_says_so_and_changes_nothing(
    gateway: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = enrollment_code(gateway.config, TROMSO, "Used once")
    first = station_file(tmp_path, "")
    assert main(["enroll", gateway.url, code, "--config", str(first)]) == 0
    second_dir = tmp_path / "second"
    second_dir.mkdir()
    second = station_file(second_dir, "")
    before = second.read_text()
    capsys.readouterr()
    assert main(["enroll", gateway.url, code, "--config", str(second)]) == 65
    assert "already used: ask staff for a new one" in capsys.readouterr().err
    assert second.read_text() == before and not (second_dir / "device-token").exists()


def test_enroll_to_a_gateway_that_is_not_there_says_it_cannot_be_reached(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["enroll", url, "AAAAA-BBBBB-CCCCC-DDDDD", "--config", str(station_file(tmp_path, ""))]) == 75
    assert f"the gateway at {url} cannot be reached" in capsys.readouterr().err


def test_enroll_refuses_a_configuration_holding_a_sip2_password_before_spending_the_code(
    gateway: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    password = secret(tmp_path / "sip2.password", "demo")
    path = station_file(tmp_path, f'[sip2]\npassword_file = "{password}"\n')
    code = enrollment_code(gateway.config, TROMSO, "Not yet")
    assert main(["enroll", gateway.url, code, "--config", str(path)]) == 2
    assert "holds no SIP2 password" in capsys.readouterr().err
    assert main(["enroll", gateway.url, code, "--config", str(station_file(tmp_path / "ok", ""))]) == 0


# ------------------------------------------------------------ kiosk enroll over TLS, with a CA the test makes


def _certificate(
    name: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[str, ec.EllipticCurvePrivateKey] | None
) -> x509.Certificate:
    now = datetime.now(UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer[0])]) if issuer else subject
    builder = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )  # fmt: skip
    if issuer is None:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
    return builder.sign(issuer[1] if issuer else key, hashes.SHA256())


def _pem(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey | None = None) -> Path:
    data = cert.public_bytes(serialization.Encoding.PEM)
    if key is not None:
        data += key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    path.write_bytes(data)
    os.chmod(path, 0o600)
    return path


@pytest.fixture(scope="module")
def tls_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GatewayProcess, Path]]:
    folder = tmp_path_factory.mktemp("tls-gateway")
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _pem(folder / "ca.pem", _certificate("Test consortium CA", ca_key, None))
    server = _pem(
        folder / "server.pem", _certificate("gateway", server_key, ("Test consortium CA", ca_key)), server_key
    )
    with ThreadedIls(folder / "ils.sqlite") as ils:
        tls = f'tls_cert_file = "{server}"\ntls_key_file = "{server}"'
        config = make_gateway_config(folder / "gw", ils.port, "sqlite:///gateway.sqlite", extra_gateway=tls)
        process = GatewayProcess(config).start(verify=ssl.create_default_context(cafile=str(ca)))
        try:
            yield process, ca
        finally:
            process.stop()


def test_enroll_over_tls_needs_the_consortiums_ca_and_says_so(
    tls_gateway: tuple[GatewayProcess, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    process, ca = tls_gateway
    assert process.url.startswith("https://")
    code = enrollment_code(process.config_path, TROMSO, "Tromsø TLS")
    path = station_file(tmp_path, "")
    assert main(["enroll", process.url, code, "--config", str(path)]) == 75
    said = capsys.readouterr().err
    assert "certificate" in said and "not trusted by the system's CAs" in said and "--ca FILE" in said
    assert main(["enroll", process.url, code, "--ca", str(ca), "--config", str(path)]) == 0  # not spent
    config = load(path)
    assert config.gateway.ca_file == str(ca) and config.gateway.url == process.url
    check_for_run(config)  # the pinned CA loads as the station will load it
