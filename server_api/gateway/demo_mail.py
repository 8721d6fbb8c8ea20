"""The demo's mail server: SMTP on 127.0.0.1 (aiosmtpd) that writes every message it is given to a file,
`mail-1.eml`, `mail-2.eml`, ... (owner-only: receipts name loans), so `kiosk demo` shows the e-mail
receipts the gateway sends without mailing anyone. Not for production: it accepts mail for any address
and delivers none.

    with DemoMailbox(folder) as mailbox:
        settings = mailbox.settings()      # a `[mail]` section for the demo gateway
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["DemoMailbox"]


class DemoMailbox:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.port = 0
        self.saved: list[Path] = []
        self._lock = threading.Lock()
        self._controller: Any = None

    def start(self) -> DemoMailbox:
        from aiosmtpd.controller import Controller  # a test/demo dependency: only the demo imports it

        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> DemoMailbox:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def settings(self, sender: str = "Demo bibliotek <bibliotek@example.org>") -> str:
        """The gateway's `[mail]` section for this server (plain SMTP on loopback)."""
        return f'[mail]\nhost = "127.0.0.1"\nport = {self.port}\ntls = "none"\nsender = "{sender}"\n'

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's hook
        with self._lock:
            path = self.folder / f"mail-{len(self.saved) + 1}.eml"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(envelope.content)
            self.saved.append(path)
        return "250 OK"
