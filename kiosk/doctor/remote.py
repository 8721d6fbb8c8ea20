"""The network, the gateway and the library system: looked up, connected, asked, timed.

With `[gateway]`: the gateway's name (DNS), its certificate (TLS), the device token and a round trip
(`GET /v1/ping`, which the gateway answers only when it reaches the library system: a 503 says the
gateway is fine and the library system behind it is not). Without: SIP2 straight to the library system,
the login and an SC status (99) through the station's own `Sip2Circulation`.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from kiosk.config import ConfigError, StationConfig
from kiosk.doctor.result import Finding, Verdict, fail, ok
from server_api.circulation import Circulation, CirculationError
from server_api.sip2 import Sip2Circulation, Sip2ConnectFailed, Sip2LoginRefused, Sip2TlsError

if TYPE_CHECKING:  # httpx and pydantic: loaded for a gateway check only (every `kiosk` command imports us)
    from server_api.client import GatewayRefused

CONNECT_WITHIN = 5.0
_ENROLL = "enroll the kiosk again with a new code from the staff console (`kiosk enroll`)"


async def check_gateway(config: StationConfig) -> list[Finding]:
    """network (DNS, TLS), gateway (token, round trip) and library (through the gateway)."""
    from server_api.client import GatewayRefused, HttpCirculation

    url = urlsplit(config.gateway.url)
    host, port = url.hostname or "", url.port or (443 if url.scheme == "https" else 80)
    network = await _reach(host, port, tls=url.scheme == "https", context=_gateway_tls(config))
    if network.verdict is Verdict.FAIL:
        return [network, _skipped("gateway"), _skipped("library")]
    try:
        circulation: Circulation = HttpCirculation(config.gateway_settings())
    except (ConfigError, CirculationError, OSError) as error:
        return [network, fail("gateway", f"device token: {error}", _ENROLL), _skipped("library")]
    try:
        seconds = await _ping(circulation)
    except GatewayRefused as error:
        return [network, *_refused(error)]
    except CirculationError as error:
        said = f"{config.gateway.url} does not answer: {error}"
        return [
            network,
            fail("gateway", said, "the gateway may be down: ask the consortium's IT"),
            _skipped("library"),
        ]
    return [
        network,
        ok("gateway", f"{config.gateway.url}: token accepted, round trip {seconds * 1000:.0f} ms"),
        ok("library", "the library system answers through the gateway"),
    ]


async def check_sip2(config: StationConfig) -> list[Finding]:
    """network (the library system's name) and library (connection, SIP2 login and SC status)."""
    host, port = config.sip2.host, config.sip2.port
    network = await _look_up(host, port)
    if network.verdict is Verdict.FAIL:
        return [network, _skipped("library")]
    try:
        circulation: Circulation = Sip2Circulation(config.sip2_settings())
    except ConfigError as error:
        return [network, fail("library", str(error), "fix [sip2] (`kiosk config check` says more)")]
    try:
        seconds = await _ping(circulation)
    except CirculationError as error:
        return [network, fail("library", f"SIP2 {host}:{port}: {error}", _sip2_advice(error))]
    return [
        network,
        ok("library", f"SIP2 {host}:{port}: login and status ok, round trip {seconds * 1000:.0f} ms"),
    ]


def _sip2_advice(error: CirculationError) -> str:
    if isinstance(error, Sip2TlsError):
        return "check [sip2] tls, ca_file and tls_server_name, and the kiosk's clock"
    if isinstance(error, Sip2LoginRefused):
        return (
            "check [sip2] user, password_file, location and institution with the library system's "
            "administrator; `kiosk sip2 probe` shows what the server says"
        )
    if isinstance(error, Sip2ConnectFailed):
        return (
            "the library system's SIP2 server is down, the host or port is wrong, or a firewall blocks it "
            "(the kiosk works offline meanwhile): ask the library system's administrator"
        )
    return "the library system answers oddly: `kiosk sip2 probe` shows what it says; report it"


async def _ping(circulation: Circulation) -> float:
    started = time.monotonic()
    try:
        async with asyncio.timeout(CONNECT_WITHIN * 3):
            await circulation.ping()
    except TimeoutError:
        raise CirculationError("no answer within 15 s") from None
    finally:
        await circulation.close()
    return time.monotonic() - started


def _refused(error: GatewayRefused) -> list[Finding]:
    if error.status in (401, 403):
        return [
            fail("gateway", f"the gateway refused this kiosk's token ({error.status})", _ENROLL),
            _skipped("library"),
        ]
    if error.status == 503:
        advice = (
            "the gateway cannot reach the library system: ask the consortium's IT (the kiosk works offline)"
        )
        return [
            ok("gateway", "the gateway answers and accepts the token"),
            fail("library", str(error), advice),
        ]
    return [
        fail("gateway", f"the gateway refused the ping: {error}", "read the gateway's log"),
        _skipped("library"),
    ]


async def _look_up(host: str, port: int) -> Finding:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(CONNECT_WITHIN):
            addresses = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError) as error:
        advice = "check the address in the configuration and the library network's DNS"
        return fail("network", f"the name {host} cannot be looked up ({error})", advice)
    return ok("network", f"{host} is {addresses[0][4][0]}")


async def _reach(host: str, port: int, *, tls: bool, context: ssl.SSLContext | None) -> Finding:
    looked_up = await _look_up(host, port)
    if looked_up.verdict is Verdict.FAIL:
        return looked_up
    try:
        async with asyncio.timeout(CONNECT_WITHIN):
            _reader, writer = await asyncio.open_connection(host, port, ssl=context if tls else None)
        writer.close()
        await writer.wait_closed()
    except ssl.SSLError as error:
        advice = "check [gateway] ca_file and the kiosk's clock (a wrong date fails every certificate)"
        return fail("network", f"{host}:{port}: the certificate is not trusted ({error.reason})", advice)
    except ConnectionRefusedError:
        advice = "the gateway is down or the port in [gateway] url is wrong: ask the consortium's IT"
        return fail("network", f"{host}:{port}: nothing listens there", advice)
    except (OSError, TimeoutError) as error:
        advice = "check the cable or Wi-Fi; the library's firewall may block the port"
        return fail("network", f"{host}:{port} does not answer ({error or 'no answer in time'})", advice)
    return ok(
        "network", f"{looked_up.said}; port {port} reached{' over TLS, certificate trusted' if tls else ''}"
    )


def _gateway_tls(config: StationConfig) -> ssl.SSLContext | None:
    try:
        return ssl.create_default_context(cafile=config.gateway.ca_file or None)
    except OSError:
        return None  # the token check below reports the configuration


def _skipped(check: str) -> Finding:
    return Finding(check, Verdict.SKIP, "not checked: the check above it failed")


__all__ = ["check_gateway", "check_sip2"]
