"""Kiosk to gateway over TLS with a CA made by the test: pinned CA accepted, system CAs refuse it, and a
gateway that asks for client certificates accepts only kiosks that present one from its CA."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from server_api.circulation import CirculationError
from server_api.client import GatewayNoReply, GatewaySettings, GatewayUnreachable, HttpCirculation, enroll
from tests.gateway.conftest import TROMSO
from tests.gateway.servers import GatewayProcess, ThreadedIls, enrollment_code, make_gateway_config
from tests.pki import make_cert, write_pem

CA = "Demo consortium gateway CA"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("gateway-pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    server_key, client_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    server = make_cert("localhost", server_key, (CA, ca_key), server=True)
    return {
        "ca": write_pem(folder / "ca.pem", make_cert(CA, ca_key, None, ca=True)),
        "server": write_pem(folder / "server.pem", server, server_key),
        "client": write_pem(
            folder / "client.pem", make_cert("Tromsø 1", client_key, (CA, ca_key)), client_key
        ),
    }


@contextlib.contextmanager
def tls_gateway(folder: Path, pki: dict[str, str], *, mutual: bool) -> Iterator[GatewayProcess]:
    lines = [f'tls_cert_file = "{pki["server"]}"', f'tls_key_file = "{pki["server"]}"']
    if mutual:
        lines.append(f'tls_client_ca_file = "{pki["ca"]}"')
    verify = ssl.create_default_context(cafile=pki["ca"])
    if mutual:
        verify.load_cert_chain(pki["client"])
    with ThreadedIls(folder / "ils.sqlite") as ils:
        gateway = "\n".join(lines)
        config = make_gateway_config(
            folder / "gw", ils.port, "sqlite:///gateway.sqlite", extra_gateway=gateway
        )
        process = GatewayProcess(config).start(verify=verify)
        try:
            yield process
        finally:
            process.stop()


async def test_a_pinned_ca_is_trusted_and_the_system_cas_are_not(tmp_path: Path, pki: dict[str, str]) -> None:
    with tls_gateway(tmp_path, pki, mutual=False) as process:
        assert process.url.startswith("https://")
        code = enrollment_code(process.config_path, TROMSO, "Tromsø TLS")
        with pytest.raises(GatewayUnreachable, match=r"(?i)certificate verify failed"):
            await enroll(process.url, code)
        token = (await enroll(process.url, code, ca_file=pki["ca"])).token
        pinned = HttpCirculation(GatewaySettings(process.url, token=token, ca_file=pki["ca"]))
        system = HttpCirculation(GatewaySettings(process.url, token=token, retries=0))
        try:
            await pinned.ping()
            with pytest.raises(GatewayUnreachable, match=r"(?i)certificate verify failed"):
                await system.ping()
        finally:
            await pinned.close()
            await system.close()


async def test_a_gateway_that_asks_for_client_certificates_serves_only_kiosks_with_one(
    tmp_path: Path, pki: dict[str, str]
) -> None:
    with tls_gateway(tmp_path, pki, mutual=True) as process:
        code = enrollment_code(process.config_path, TROMSO, "Tromsø mTLS")
        answer = await enroll(process.url, code, ca_file=pki["ca"], client_cert=pki["client"])
        kiosk = HttpCirculation(
            GatewaySettings(process.url, token=answer.token, ca_file=pki["ca"], client_cert=pki["client"])
        )
        anonymous = HttpCirculation(
            GatewaySettings(process.url, token=answer.token, ca_file=pki["ca"], retries=0)
        )
        try:
            await kiosk.ping()
            with pytest.raises(CirculationError) as refused:
                await anonymous.ping()
        finally:
            await kiosk.close()
            await anonymous.close()
    # TLS 1.3 refuses a missing client certificate after the handshake: the kiosk sees the connection
    # closed without an answer (no reply), as it would for any gateway that hangs up on it.
    assert isinstance(refused.value, GatewayUnreachable | GatewayNoReply)
