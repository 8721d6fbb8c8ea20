"""A mail server for the tests: aiosmtpd on 127.0.0.1 that takes mail only after STARTTLS and a login
(its certificate from a CA the test makes), and the gateway's `[mail]` section that reaches it."""

from __future__ import annotations

import contextlib
import email
import email.policy
import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography.hazmat.primitives.asymmetric import ec

from tests.gateway.servers import ThreadedIls, free_port, make_gateway_config
from tests.pki import make_cert, write_pem

TROMSO = "2190000"
SMTP_USER, SMTP_PASSWORD = "kiosk-gateway", "s3cret-smtp-passphrase"


@dataclass
class Mailbox:
    messages: list[EmailMessage] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    refusing: bool = False  # a mail server that is full or greylists: 451 for every message

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's hook
        if not session.authenticated:
            return "530 Authentication required"
        if self.refusing:
            return "451 4.3.0 Try again later"
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            SMTP_USER.encode(),
            SMTP_PASSWORD.encode(),
        )
        self.logins.append(mechanism)
        return AuthResult(success=ok)


def tls_context(folder: Path) -> tuple[ssl.SSLContext, str]:
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = write_pem(folder / "mail-ca.pem", make_cert("Test mail CA", ca_key, None, ca=True))
    server = write_pem(
        folder / "mail.pem", make_cert("localhost", key, ("Test mail CA", ca_key), server=True), key
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(server)
    return context, ca


def tls_mail_server(mailbox: Mailbox, context: ssl.SSLContext) -> Controller:
    """A started SMTP server on 127.0.0.1 that takes mail only after STARTTLS and a login."""
    smtp = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=context,
        require_starttls=True,  # a plain-text attempt is refused
        authenticator=mailbox.authenticate,
        auth_require_tls=True,
    )
    smtp.start()
    return smtp


def mail_config(path: Path, smtp_port: int, ca_file: str) -> None:
    """The demo gateway's configuration with [mail] and e-mail receipts for Tromsø only."""
    password = path.parent / "secrets" / "smtp.password"
    password.write_text(SMTP_PASSWORD + "\n", encoding="utf-8")
    password.chmod(0o600)
    text = path.read_text(encoding="utf-8")
    text, found = re.subn(rf'(number = "{TROMSO}"\nname = [^\n]*\n)', r"\1email_receipts = true\n", text)
    assert found == 1
    text += (
        f'\n[mail]\nhost = "127.0.0.1"\nport = {smtp_port}\ntls = "starttls"\n'
        f'sender = "Tromsø bibliotek <bibliotek@example.org>"\nusername = "{SMTP_USER}"\n'
        f'password_file = "secrets/smtp.password"\nca_file = "{ca_file}"\ntimeout = 10\n'
    )
    path.write_text(text, encoding="utf-8")


@contextlib.contextmanager
def mail_gateway_config(folder: Path) -> Iterator[tuple[Path, Mailbox, ThreadedIls]]:
    """A demo library system on TCP, the STARTTLS-and-login mail server, and a gateway configuration
    (not started: the caller may add files beside it) whose `[mail]` reaches that server."""
    context, ca = tls_context(folder)
    mailbox = Mailbox()
    smtp = tls_mail_server(mailbox, context)
    try:
        with ThreadedIls(folder / "ils.sqlite") as ils:
            config = make_gateway_config(folder / "gw", ils.port, "sqlite:///gateway.sqlite")
            mail_config(config, smtp.port, ca)
            yield config, mailbox, ils
    finally:
        smtp.stop()
