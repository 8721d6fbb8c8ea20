"""One gateway with its console under uvicorn (`kiosk-gateway serve`, in a subprocess) in front of the demo
ILS, a local SMTP server (aiosmtpd) for the alerts, staff accounts of every role, and enrolled kiosks in
two libraries. Session-wide: the console's tests share it (each test makes what it changes itself)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from server_api.console.accounts import add_account
from server_api.gateway.config import load
from server_api.gateway.storage import open_engine
from tests.gateway.servers import GatewayProcess, ThreadedIls, enroll, free_port, make_gateway_config

TROMSO, HARSTAD = "2190000", "2190100"
PASSWORD = "correct horse battery"
# user -> (role, libraries)
ACCOUNTS: dict[str, tuple[str, list[str]]] = {
    "ada": ("admin", []),
    "tove": ("staff", [TROMSO]),
    "hanna": ("staff", [HARSTAD]),
    "tor": ("technician", [TROMSO]),
    "teo": ("technician", []),  # the consortium's technician: every library's kiosks
    "mia": ("staff", [TROMSO, HARSTAD]),
}


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's hook
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@dataclass
class ConsoleSite:
    url: str
    config: Path
    mailbox: Mailbox
    tokens: dict[str, str] = field(default_factory=dict)  # kiosk name -> device token
    ids: dict[str, str] = field(default_factory=dict)  # kiosk name -> device id
    signed_in: dict[str, Staff] = field(default_factory=dict)

    def staff(self, username: str) -> Staff:
        """A signed-in session of `username`, shared by the tests (argon2 checks take their time)."""
        if username not in self.signed_in:
            self.signed_in[username] = Staff(self.url, username)
        return self.signed_in[username]

    def kiosk(self, name: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.tokens[name]}"}, timeout=30
        )

    def enroll(self, library: str, name: str) -> str:
        token = enroll(self.url, self.config, library, name)
        self.tokens[name], self.ids[name] = token, token.split(".")[1]
        return token

    def heartbeat(self, name: str, **report: Any) -> None:
        beat = {"sent_at": datetime.now(UTC).isoformat(), "online": True, "version": "1.4.0", **report}
        with self.kiosk(name) as client:
            client.post("/v1/heartbeats", json=beat).raise_for_status()

    def engine(self) -> Any:
        return open_engine(load(self.config).database_url())


def _cookie(response: httpx.Response, name: str) -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return header.split(";", 1)[0].split("=", 1)[1]
    raise AssertionError(f"no {name} cookie in {response.headers.get_list('set-cookie')}")


class Staff:
    """A signed-in person over httpx. The session cookie is Secure, so httpx (rightly) keeps it from plain
    HTTP: the tests send it themselves."""

    def __init__(self, url: str, username: str, password: str = PASSWORD) -> None:
        self.http = httpx.Client(base_url=url, timeout=30, follow_redirects=False)
        form = self.http.get("/console/login")
        token = re.search(r'name="login_token" value="([^"]+)"', form.text)
        assert token is not None
        self.login_answer = self.http.post(
            "/console/login",
            data={"username": username, "password": password, "login_token": token.group(1)},
            headers={"Cookie": f"console_login={_cookie(form, 'console_login')}"},
        )
        self.session = (
            _cookie(self.login_answer, "console_session") if self.login_answer.status_code == 303 else ""
        )
        self.csrf = ""
        if self.session:
            found = re.search(r'name="csrf" value="([^"]+)"', self.get("/console/").text)
            assert found is not None
            self.csrf = found.group(1)

    def get(self, path: str) -> httpx.Response:
        return self.http.get(path, headers={"Cookie": f"console_session={self.session}"})

    def post(self, path: str, data: dict[str, str] | None = None, csrf: bool = True) -> httpx.Response:
        body = {**({"csrf": self.csrf} if csrf else {}), **(data or {})}
        return self.http.post(path, data=body, headers={"Cookie": f"console_session={self.session}"})


@pytest.fixture(scope="session")
def console_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleSite]:
    folder = tmp_path_factory.mktemp("console")
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        with ThreadedIls(folder / "ils.sqlite") as ils:
            path = make_gateway_config(
                folder / "gw", ils.port, "sqlite:///gateway.sqlite",
                extra_gateway="instance_beat = 0.5", extra_limits="enrollments_per_minute = 5000",
            )  # fmt: skip
            (path.parent / "console.toml").write_text(
                "idle_minutes = 5\noffline_after_seconds = 60\n[alerts]\n"
                f'smtp_host = "127.0.0.1"\nsmtp_port = {smtp.port}\nsender = "kiosks@test.invalid"\n'
                'offline_minutes = 1\ncheck_seconds = 0.5\nconsortium = ["drift@test.invalid"]\n'
                f'[alerts.libraries]\n"{TROMSO}" = ["tromso@test.invalid"]\n'
            )
            engine = open_engine(load(path).database_url())
            for name, (role, libraries) in ACCOUNTS.items():
                add_account(engine, name, PASSWORD, role=role, libraries=libraries, actor="test")
            engine.dispose()
            process = GatewayProcess(path).start()
            try:
                site = ConsoleSite(process.url, path, mailbox)
                site.enroll(TROMSO, "Tromsø 1")
                site.enroll(HARSTAD, "Harstad 1")
                site.heartbeat("Tromsø 1")
                site.heartbeat("Harstad 1")
                yield site
            finally:
                process.stop()
    finally:
        smtp.stop()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"
