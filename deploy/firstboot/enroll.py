"""Enrollment at first boot: is the gateway reachable, then run the enroll command and keep its token.

The enroll command comes from the device configuration (by default ``kiosk enroll URL --code-file FILE``,
which talks to the gateway's ``POST /v1/enroll``). Its contract: it reads the one-time code from the file,
prints the device token on standard output (one line) and exits 0; it exits 65 when the gateway refused
the code (no point retrying) and anything else on a failure worth retrying.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from deploy.firstboot.files import Layout, atomic_write, wipe
from deploy.firstboot.settings import code_digest
from deploy.flash.device_config import DeviceConfig

__all__ = ["CODE_REFUSED", "EnrollFailed", "NetworkMissing", "enroll", "reach_gateway"]

CODE_REFUSED = 65
Resolver = Callable[[str, int], list[tuple[str, int]]]


class NetworkMissing(RuntimeError):
    """The gateway cannot be reached; the message is for the technician standing at the kiosk."""


class EnrollFailed(RuntimeError):
    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


def reach_gateway(
    url: str,
    *,
    resolver: Resolver | None = None,
    route_table: Path = Path("/proc/net/route"),
    timeout: float = 5.0,
    patience: float = 0.0,
) -> None:
    """Raise NetworkMissing with the likeliest cause in plain words when the gateway cannot be reached."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    resolve = resolver or _resolve
    deadline = time.monotonic() + patience  # DHCP may still be on its way just after boot
    while not _has_default_route(route_table) and time.monotonic() < deadline:
        time.sleep(1)
    if not _has_default_route(route_table) and not _is_local(host):
        raise NetworkMissing(
            "No network: this kiosk has no connection (no cable, or the Wi-Fi network is out of reach or its "
            "passphrase is wrong). Check the cable or the Wi-Fi settings; the kiosk tries again by itself."
        )
    try:
        addresses = resolve(host, port)
    except OSError as error:
        raise NetworkMissing(
            f"The network is up but the gateway's name {host} cannot be looked up (DNS: {error}). Check the "
            "gateway address in the device configuration and the library network's DNS."
        ) from error
    last_error: OSError | None = None
    for address in addresses:
        try:
            with socket.create_connection(address, timeout=timeout):
                return
        except OSError as error:
            last_error = error
    raise NetworkMissing(
        f"The gateway {host} port {port} does not answer ({last_error}). "
        "The library's firewall may block it, or the gateway is down: ask the consortium's IT."
    )


def enroll(layout: Layout, config: DeviceConfig, *, timeout: float = 120.0) -> None:
    """Run the enroll command; keep the token (0600, the station's) and wipe the code."""
    command = [
        part.replace("{gateway_url}", config.gateway_url)
        .replace("{code_file}", str(layout.code_file))
        .replace("{kiosk_name}", config.name)
        .replace("{library}", config.library)
        for part in config.enroll_command
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError as error:
        raise EnrollFailed(
            f"the enroll command {command[0]} does not exist on this kiosk", permanent=True
        ) from error
    except subprocess.TimeoutExpired as error:
        raise EnrollFailed(
            f"enrollment took longer than {timeout:.0f} s; trying again", permanent=False
        ) from error
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
        if done.returncode == CODE_REFUSED:
            raise EnrollFailed(
                f"The gateway refused the enrollment code ({reason}). "
                "Ask staff for a new code in the console and write it to the card with kiosk-flash.",
                permanent=True,
            )
        raise EnrollFailed(f"enrollment failed ({reason}); trying again", permanent=False)
    token = next((line.strip() for line in done.stdout.splitlines() if line.strip()), "")
    if not 16 <= len(token) <= 4096 or not token.isprintable() or " " in token:
        raise EnrollFailed("the enroll command printed no device token; trying again", permanent=False)
    code = layout.code_file.read_text().strip()
    atomic_write(layout.token_file, token.encode() + b"\n", mode=0o600, owner=layout.station_owner())
    atomic_write(layout.kiosk / "enrolled-code.sha256", code_digest(code).encode() + b"\n", mode=0o600)
    wipe(layout.code_file)


def _resolve(host: str, port: int) -> list[tuple[str, int]]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [(str(info[4][0]), int(info[4][1])) for info in infos]


def _has_default_route(route_table: Path) -> bool:
    """IPv4 default route in /proc/net/route (destination 00000000), or any IPv6 default route."""
    try:
        rows = route_table.read_text().splitlines()[1:]
    except OSError:
        return True  # cannot tell: let the connection attempt decide
    if any(row.split()[1] == "00000000" for row in rows if len(row.split()) > 1):
        return True
    ipv6 = route_table.parent / "ipv6_route"
    try:
        return any(
            line.startswith("0" * 32 + " 00 ") and " lo" not in line for line in ipv6.read_text().splitlines()
        )
    except OSError:
        return False


def _is_local(host: str) -> bool:
    return host in ("localhost", "127.0.0.1", "::1")
