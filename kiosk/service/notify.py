"""sd_notify: tell systemd the station is ready, alive, what it is doing, and that it stops.

The protocol is one datagram per message to the unix socket systemd names in $NOTIFY_SOCKET (a path, or
`@name` for the abstract namespace), the payload `KEY=VALUE` lines (sd_notify(3)). Twenty lines of the
standard library do it, so the station needs neither libsystemd (`systemd-python` builds against it) nor
a package for so small a thing (docs/ARCHITECTURE.md, "The station under systemd").

Without $NOTIFY_SOCKET (a developer's terminal, the tests that do not ask for it) every call does nothing.
A message that cannot be sent is logged once and dropped: systemd's watchdog, not the station, decides
what a silent station means. READY and STOPPING are sent `reliably`: a queue that is full for a moment (a
busy service manager; the kernel queues only `net.unix.max_dgram_qlen` datagrams, 10 by default) is waited
for up to a second, since systemd would otherwise time the start out or not know the station is stopping.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)
RELIABLE_WAIT = 1.0  # seconds READY or STOPPING waits for room in systemd's queue


class Notifier:
    """Messages to the service manager; `enabled` only when $NOTIFY_SOCKET names a socket."""

    def __init__(self, address: str | None) -> None:
        self.address = _socket_address(address) if address else None
        self._socket: socket.socket | None = None
        self._warned = False

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        return cls((environ if environ is not None else os.environ).get("NOTIFY_SOCKET"))

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *, reliably: bool = False, **fields: str) -> bool:
        """One message, e.g. `send(READY="1", STATUS="online")`; True when systemd's socket took it.
        `reliably`: a full queue is waited for up to `RELIABLE_WAIT` seconds instead of dropping it."""
        if self.address is None:
            return False
        payload = "\n".join(f"{key}={value}" for key, value in fields.items()).encode()
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                # Never block the event loop: a full queue drops the message (the next ping comes soon).
                self._socket.setblocking(False)
            if reliably:
                self._socket.settimeout(RELIABLE_WAIT)  # blocks until the queue has room, at most this long
            try:
                self._socket.sendto(payload, self.address)
            finally:
                self._socket.setblocking(False)
        except OSError as error:
            if not self._warned:
                log.warning("cannot tell systemd (NOTIFY_SOCKET): %s", error)
                self._warned = True
            return False
        self._warned = False
        return True

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _socket_address(name: str) -> str:
    """`@name` is in the abstract namespace: its first byte is NUL on the wire."""
    return "\0" + name[1:] if name.startswith("@") else name


def watchdog_override(environ: Mapping[str, str] | None = None) -> int | None:
    """$KIOSK_WATCHDOG_SEC as microseconds, for systemd's WATCHDOG_USEC=: the station's watchdog where its
    frames are slow (software drawing; first boot writes it from the device settings), else None."""
    value = (environ if environ is not None else os.environ).get("KIOSK_WATCHDOG_SEC", "")
    return int(value) * 1_000_000 if value.isdigit() and int(value) > 0 else None


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """Seconds between WATCHDOG=1 pings: half of $WATCHDOG_USEC (sd_watchdog_enabled(3)), or None; half of
    the override when systemd set a watchdog and $KIOSK_WATCHDOG_SEC asks for another.

    $WATCHDOG_PID is not compared with our own process id: under cage the station is a child of the
    service's main process and pings with NotifyAccess=all (deploy/systemd/kiosk-station.service)."""
    value = (environ if environ is not None else os.environ).get("WATCHDOG_USEC", "")
    if not value.isdigit() or int(value) == 0:
        return None
    return (watchdog_override(environ) or int(value)) / 2_000_000


__all__ = ["Notifier", "watchdog_interval", "watchdog_override"]
