"""SIP2 over TLS against the demo ILS: a CA made in the test, pinned; system CAs refuse it; an optional
client certificate; and `kiosk sip2 probe` over TLS."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from server_api.circulation import CirculationUnavailable
from server_api.demo_ils import KIOSK_LOGIN, DemoIls
from server_api.sip2.client import Sip2Client, Sip2Settings
from server_api.sip2.errors import Sip2TlsError
from server_api.sip2.messages import ScStatus
from tests.pki import make_cert, write_pem


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = make_cert("Demo consortium SIP2 CA", ca_key, None, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = make_cert("localhost", server_key, ("Demo consortium SIP2 CA", ca_key), server=True)
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = make_cert("kiosk-tromso", client_key, ("Demo consortium SIP2 CA", ca_key))
    return {
        "ca": write_pem(d / "ca.pem", ca),
        "server": write_pem(d / "server.pem", server, server_key),
        "client": write_pem(d / "client.pem", client, client_key),
    }


def server_context(pki: dict[str, str], *, require_client_cert: bool = False) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki["server"])
    if require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki["ca"])
    return context


def tls_settings(port: int, **kw: object) -> Sip2Settings:
    return Sip2Settings("127.0.0.1", port, *KIOSK_LOGIN, timeout=2.0, tls=True, **kw)  # type: ignore[arg-type]


async def test_pinned_ca_connects_and_system_cas_refuse_a_private_ca(pki: dict[str, str]) -> None:
    async with DemoIls(ssl=server_context(pki)) as ils:
        client = Sip2Client(tls_settings(ils.port, tls_ca_file=pki["ca"]))
        assert client.settings.ssl_context() is not None
        reply = await client.request(ScStatus())
        assert client.acs_status is not None and client.acs_status.online_status and reply.CODE == "98"
        assert client._writer is not None and client._writer.get_extra_info("ssl_object") is not None
        await client.close()
        with pytest.raises(Sip2TlsError, match=r"TLS handshake .* failed"):
            await Sip2Client(tls_settings(ils.port)).request(ScStatus())  # system CAs do not know ours
        with pytest.raises(Sip2TlsError):  # the certificate names localhost/127.0.0.1, not this
            await Sip2Client(
                tls_settings(ils.port, tls_ca_file=pki["ca"], tls_server_name="sip.example.org")
            ).connect()


async def test_client_certificate_when_the_server_requires_one(pki: dict[str, str]) -> None:
    async with DemoIls(ssl=server_context(pki, require_client_cert=True)) as ils:
        with_cert = Sip2Client(tls_settings(ils.port, tls_ca_file=pki["ca"], tls_cert_file=pki["client"]))
        await with_cert.connect()
        assert with_cert.logins == 1
        await with_cert.close()
        without = Sip2Client(tls_settings(ils.port, tls_ca_file=pki["ca"]))
        # TLS 1.3 may finish the handshake before the server checks the certificate: then the refusal
        # shows at login. Either way nothing was sent and the kiosk sees "unavailable".
        with pytest.raises(CirculationUnavailable) as caught:
            await without.connect()
        assert not without.connected
        assert "SECRET" not in str(caught.value)


def test_probe_over_tls(pki: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    from kiosk.cli import main

    password = tmp_path / "pw"
    password.write_text(KIOSK_LOGIN[1] + "\n")
    password.chmod(0o600)  # the CLI refuses a password file others can read

    async def scenario() -> int:
        async with DemoIls(ssl=server_context(pki)) as ils:
            argv = [
                "sip2",
                "probe",
                "--host",
                "127.0.0.1",
                "--port",
                str(ils.port),
                "--user",
                KIOSK_LOGIN[0],
                "--password-file",
                str(password),
                "--ca-file",
                pki["ca"],
                "--profile",
                "koha",
            ]
            return await asyncio.to_thread(main, argv)

    assert asyncio.run(scenario()) == 0
    out = capsys.readouterr().out
    assert "OK kiosk-tromso@127.0.0.1" in out and "(TLS)" in out and KIOSK_LOGIN[1] not in out
