"""systemd's side for the service tests: the receiving end of $NOTIFY_SOCKET, and a station file for a
`kiosk run` against the demo ILS."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path

from server_api.demo_ils import data as demo_data


def station_config(tmp_path: Path, port: int) -> Path:
    user, password = demo_data.KIOSK_LOGIN
    secret = tmp_path / "sip2-password"
    secret.write_text(password + "\n", encoding="utf-8")
    secret.chmod(0o600)
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'[sip2]\nport = {port}\nuser = "{user}"\npassword_file = "{secret}"\n'
        f'location = "{demo_data.KIOSK_LIBRARY.number}"\n'
        f'[journal]\npath = "{tmp_path / "journal.sqlite3"}"\n[printer]\ndirectory = "{tmp_path / "r"}"\n'
        '[clock]\ntrust = "always"\n',
        encoding="utf-8",
    )
    return config


class FakeSystemd:
    """The receiving end of $NOTIFY_SOCKET: every message with the monotonic time it arrived."""

    def __init__(self) -> None:
        self.name = f"@kiosk-test-{os.getpid()}-{time.monotonic_ns()}"
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind("\0" + self.name[1:])
        self.socket.setblocking(False)
        self.messages: list[tuple[float, dict[str, str]]] = []

    def drain(self) -> None:
        while True:
            try:
                data = self.socket.recv(4096)
            except BlockingIOError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().splitlines())
            self.messages.append((time.monotonic(), fields))

    async def until(self, key: str, seconds: float) -> dict[str, str]:
        deadline = time.monotonic() + seconds
        seen = len(self.messages)
        while time.monotonic() < deadline:
            self.drain()
            for _, fields in self.messages[seen:]:
                if key in fields:
                    return fields
            await asyncio.sleep(0.02)
        raise AssertionError(f"no {key} within {seconds} s; got {self.messages[-5:]}")

    def pings(self, since: float = 0.0) -> list[float]:
        return [at for at, fields in self.messages if "WATCHDOG" in fields and at >= since]
