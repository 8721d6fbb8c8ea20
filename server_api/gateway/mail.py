"""E-mail from the gateway: the SMTP settings (`[mail]` in gateway.toml), one sender (smtplib, blocking:
callers run it in a worker thread), and the e-mail receipt a kiosk asks the gateway to send.

    [mail]
    host = "smtp.example.org"
    port = 587
    tls = "starttls"           # "starttls" (port 587), "tls" (implicit TLS, port 465) or "none" (port 25,
                               # a relay on the gateway's own network)
    sender = "Biblioteket <bibliotek@example.org>"
    username = "kiosk-gateway" # optional: SMTP AUTH, with the password in its own file (mode 0600)
    password_file = "smtp-password"
    ca_file = ""               # optional: trust this CA for the server's certificate (else the system's)
    timeout = 10

    [[library]]
    number = "2190000"
    email_receipts = true      # this library's kiosks offer "receipt by e-mail"

A receipt names the patron by card only; the gateway looks the address up in the library system (SIP2
BE) when it sends, and keeps neither the address nor the receipt afterwards.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import replace
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from server_api.circulation import PatronAccount, masked_email

__all__ = ["MailSettings", "ReceiptMail", "address_shown", "send_mail", "valid_address"]


class MailSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    tls: Literal["starttls", "tls", "none"] = "starttls"
    sender: str = Field(min_length=3)
    username: str = ""
    password_file: str = ""  # relative to the configuration file; read when a mail is sent
    ca_file: str = ""  # relative to the configuration file; "" = the system's CAs
    timeout: float = Field(default=10, gt=0, le=120)

    @field_validator("sender")
    @classmethod
    def _sender_is_an_address(cls, value: str) -> str:
        if not valid_address(parseaddr(value)[1], local_domain=True):
            raise ValueError(
                f"sender must be an e-mail address (e.g. 'Library <library@example.org>'), got {value!r}"
            )
        return value


def valid_address(address: str, *, local_domain: bool = False) -> bool:
    """One plain address (no display name, no list, no header tricks); with `local_domain` the domain
    may be a bare host name (a sender such as kiosk-gateway@localhost)."""
    if not address or len(address) > 254 or any(c.isspace() or c in "<>,;\"'\\" for c in address):
        return False
    try:
        Address(addr_spec=address)
    except (ValueError, IndexError):
        return False
    local, _, domain = address.rpartition("@")
    return bool(local) and bool(domain) and (local_domain or "." in domain.strip("."))


def address_shown(account: PatronAccount, email_receipts: bool) -> PatronAccount:
    """The account as it leaves the gateway: the address masked where the library sends receipts by
    e-mail (the kiosk shows it, so the patron knows where the receipt goes), else none at all."""
    if not account.email:
        return account
    return replace(account, email=masked_email(account.email) if email_receipts else "")


Language = Annotated[str, Field(min_length=2, max_length=16, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]


class ReceiptMail(BaseModel):
    """What a kiosk sends: whose receipt (the card, for the address in the library system), in which
    language, and the receipt as the kiosk wrote it. No name, no address."""

    model_config = ConfigDict(extra="forbid")

    patron_id: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f|]+$")]
    library: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    language: Language
    subject: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")]
    body: Annotated[str, Field(min_length=1, max_length=20_000)]

    def message(self, sender: str, to: str) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = sender
        mail["To"] = to
        mail["Subject"] = self.subject
        mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
        mail.set_content(self.body)
        mail["Content-Language"] = self.language  # after set_content, which replaces the Content-* headers
        return mail


def send_mail(
    settings: MailSettings, message: EmailMessage, *, password: str = "", ca_file: str = ""
) -> None:
    """Send one message (blocking). Raises `OSError` (no connection, timeout, TLS) or
    `smtplib.SMTPException` (the server refused: sender, recipient, login)."""
    context = ssl.create_default_context(cafile=ca_file or None)
    smtp: smtplib.SMTP
    if settings.tls == "tls":
        smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout, context=context)
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    with smtp:
        if settings.tls == "starttls":
            smtp.starttls(context=context)
        if settings.username:
            smtp.login(settings.username, password)
        smtp.send_message(message)
