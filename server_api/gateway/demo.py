"""A gateway configuration for the demo consortium (server_api.demo_ils): every demo library with its own
SIP2 account, secrets in 0600 files, SQLite next to it. Used by `kiosk-gateway demo-config`, `make demo`
and the tests."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from pathlib import Path
from typing import Any

from server_api.demo_ils.data import ACCOUNTS, BOOKMOBILE, LIBRARIES

from .demo_mail import DemoMailbox


def _secret_file(path: Path, value: str) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    os.chmod(path, 0o600)
    return path


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_demo_config(
    folder: str | Path,
    *,
    ils_host: str = "127.0.0.1",
    ils_port: int = 6001,
    port: int = 8080,
    database: str = "sqlite:///gateway.sqlite",
    sip2_timeout: float = 5.0,
    pool_size: int = 4,
    extra_gateway: str = "",
    extra_limits: str = "",
    mail: str = "",
) -> Path:
    """Write `gateway.toml` and its secret files into `folder`; returns the configuration's path. With
    `mail` (a `[mail]` section) every demo library sends e-mail receipts."""
    base = Path(folder)
    base.mkdir(parents=True, exist_ok=True)
    secrets_dir = base / "secrets"
    secrets_dir.mkdir(mode=0o700, exist_ok=True)
    key = secrets_dir / "consortium.key"
    if not key.exists():
        _secret_file(key, secrets.token_urlsafe(48))
    lines = [
        "[gateway]",
        'listen = "127.0.0.1"',
        f"port = {port}",
        f"database = {_toml_string(database)}",
        'consortium = "Troms og Finnmark (demo)"',
        'consortium_key_file = "secrets/consortium.key"',
        extra_gateway,
        "",
        "[limits]",
        extra_limits,
    ]
    users = {number: (user, password) for user, password, number in ACCOUNTS}
    for library in LIBRARIES:
        user, password = users[library.number]
        _secret_file(secrets_dir / f"sip2-{library.number}.password", password)
        lines += [
            "",
            "[[library]]",
            f'number = "{library.number}"',
            f"name = {_toml_string(library.name)}",
            *(["email_receipts = true"] if mail else []),
            "[library.sip2]",
            f"host = {_toml_string(ils_host)}",
            f"port = {ils_port}",
            f'user = "{user}"',
            f'password_file = "secrets/sip2-{library.number}.password"',
            f"timeout = {sip2_timeout}",
            f"pool_size = {pool_size}",
            "[library.cards]",
            f'patterns = ["^{library.number[:4]}\\\\d{{8}}$", "^\\\\d{{12}}$"]',
            # A bookmobile's patrons come once a fortnight and borrow for the whole interval.
            *(BOOKMOBILE_OFFLINE if library.number == BOOKMOBILE else []),
        ]
    lines += ["", mail] if mail else []
    path = base / "gateway.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


BOOKMOBILE_OFFLINE = ["[library.offline]", "max_items_per_patron = 200", "loan_days = 28"]


class DemoGateway:
    """The gateway on the embedded defaults, in this process's event loop (for `kiosk demo`):

        async with DemoGateway(folder, ils_port=ils.port) as gateway:
            token = gateway.enroll("2190000", "Demo kiosk")
            circulation = HttpCirculation(GatewaySettings(gateway.url, token=token))

    Writes the demo configuration into `folder`, migrates its SQLite database, serves the gateway with its
    staff console (`console_url`, the demo's staff accounts in `staff_logins`) under uvicorn on 127.0.0.1
    (`port` 0: a free one) and enrolls kiosks through a real one-time code. With `mail_folder` it sends
    e-mail receipts to a local mail server that saves them there (`DemoMailbox`), if aiosmtpd is
    installed."""

    def __init__(
        self,
        folder: str | Path,
        *,
        ils_port: int,
        ils_host: str = "127.0.0.1",
        port: int = 0,
        sip2_timeout: float = 5.0,
        mail_folder: Path | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.mail_folder = mail_folder
        self.mailbox: DemoMailbox | None = None
        self.ils = (ils_host, ils_port)
        self.port = port
        self.sip2_timeout = sip2_timeout
        self.url = ""
        self.staff_logins: list[str] = []  # "staff console login: user / password (role)", to print
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> DemoGateway:
        import uvicorn

        from server_api.console.app import create_console_app  # the gateway with its staff console
        from server_api.console.demo import ensure_demo_staff

        from .config import load
        from .storage import migrate, open_engine

        if not self.port:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                self.port = probe.getsockname()[1]
        if self.mail_folder is not None:
            try:
                self.mailbox = DemoMailbox(self.mail_folder).start()
            except ImportError:  # aiosmtpd comes with the dev extras
                self.mailbox = None
        path = write_demo_config(
            self.folder,
            ils_host=self.ils[0],
            ils_port=self.ils[1],
            port=self.port,
            sip2_timeout=self.sip2_timeout,
            mail=self.mailbox.settings() if self.mailbox else "",
        )
        self.config = load(path)
        self.engine = open_engine(self.config.database_url())
        await asyncio.to_thread(migrate, self.engine)
        self.staff_logins = await asyncio.to_thread(ensure_demo_staff, self.engine)
        config = uvicorn.Config(
            create_console_app(self.config, self.engine),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
                raise RuntimeError("the demo gateway stopped before it started")
            await asyncio.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    @property
    def console_url(self) -> str:
        return f"{self.url}/console/"

    def enroll(self, library: str, kiosk: str) -> str:
        """A device token for a new kiosk, through a one-time code as staff would make it."""
        from .devices import create_enrollment_code, enroll

        code, _ = create_enrollment_code(self.engine, library, kiosk, hours=1, actor="demo")
        _, token = enroll(self.engine, code)
        return token

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            await self._task
        self.engine.dispose()
        if self.mailbox is not None:
            self.mailbox.stop()


__all__ = ["DemoGateway", "write_demo_config"]
