"""The gateway's configuration: one TOML file, validated by Pydantic with a range for every number.

Rules:
- An unknown key is an error (a typo never falls back to a default); every message names the file, the
  key and what is wrong, in words a technician can act on.
- Secrets never sit in the configuration file: each SIP2 password, the database password and the
  consortium's HMAC key are read from their own file, which must be owned by the gateway's user and
  readable by nobody else (mode 0600 or 0400). `check-config` refuses everything `serve` would.
- Each library (branch, school library, bookmobile) has its own SIP2 account: the library system takes the
  transaction's branch from the login, so a kiosk's transactions go through its library's account.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from server_api.card_rules import compile_card_patterns
from server_api.gateway.mail import MailSettings
from server_api.sip2 import Sip2ConfigError, Sip2Settings
from server_api.sip2.profiles import PROFILES

DEFAULT_CONFIG = Path("/etc/kiosk-gateway/gateway.toml")
CONFIG_ENV = "KIOSK_GATEWAY_CONFIG"
LIBRARY_NUMBER = re.compile(r"^[0-9A-Za-z_-]{1,32}$")


class GatewayConfigError(Exception):
    """The configuration cannot be used; the message says where and why."""


def read_secret(path: str | Path, what: str) -> str:
    """The first line of a secret file that only its owner may read."""
    secret = Path(path)
    try:
        info = secret.stat()
    except OSError as exc:
        raise GatewayConfigError(f"{what}: cannot read {secret}: {exc.strerror}") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise GatewayConfigError(
            f"{what}: {secret} is readable by others (mode {stat.S_IMODE(info.st_mode):04o}); "
            f"run: chmod 600 {secret}"
        )
    if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
        raise GatewayConfigError(f"{what}: {secret} belongs to another user; chown it to the gateway's user")
    value = secret.read_text(encoding="utf-8").strip()
    if not value:
        raise GatewayConfigError(f"{what}: {secret} is empty")
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sip2Account(_Section):
    host: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)
    user: str = Field(min_length=1)
    password_file: str = Field(min_length=1)
    terminal_password_file: str = ""
    location: str = ""
    institution: str = ""
    profile: str = "generic"
    charset: str = ""
    timeout: float = Field(default=5.0, gt=0, le=120)
    pool_size: int = Field(default=4, ge=1, le=64)
    tls: bool = False
    ca_file: str = ""
    client_cert: str = ""
    client_key: str = ""

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str) -> str:
        if value not in PROFILES:
            raise ValueError(f"unknown profile {value!r}; known: {', '.join(sorted(PROFILES))}")
        return value


class OfflinePolicyConfig(_Section):
    """What the library allows a kiosk to do while it cannot reach the gateway (the kiosk's [offline])."""

    borrowing: bool = True
    max_items_per_session: int = Field(default=5, ge=0, le=100)
    max_items_per_patron: int = Field(default=10, ge=0, le=200)
    loan_days: int = Field(default=14, ge=1, le=120)


class CardRules(_Section):
    """What a valid card number looks like at this library: a card that matches none is refused offline."""

    patterns: tuple[str, ...] = (r"^\d{8,14}$",)
    min_length: int = Field(default=4, ge=1, le=64)
    max_length: int = Field(default=20, ge=1, le=64)

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        """Each must be one a kiosk can use, or every kiosk would refuse the rules (server_api.card_rules)."""
        compile_card_patterns(patterns)  # a CardRuleError is a ValueError: pydantic names the field
        return patterns


class LibraryConfig(_Section):
    number: str
    name: str = Field(min_length=1)
    sip2: Sip2Account
    offline: OfflinePolicyConfig = OfflinePolicyConfig()
    cards: CardRules = CardRules()
    email_receipts: bool = False  # kiosks offer receipts by e-mail ([mail] must be set)

    @field_validator("number")
    @classmethod
    def _number(cls, value: str) -> str:
        if not LIBRARY_NUMBER.match(value):
            raise ValueError("a library number is 1-32 letters, digits, '-' or '_' (e.g. 2190000)")
        return value


class Limits(_Section):
    device_requests_per_minute: int = Field(default=1200, ge=10, le=100_000)
    card_lookups_per_minute: int = Field(default=20, ge=1, le=10_000)
    enrollments_per_minute: int = Field(
        default=30, ge=1, le=10_000
    )  # per client address; also staff sign-ins
    pin_failures: int = Field(
        default=5, ge=1, le=100
    )  # wrong PINs per card, across all kiosks, before a cool-down
    pin_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    pin_cooldown_minutes: int = Field(default=15, ge=1, le=24 * 60)
    max_stack: int = Field(default=50, ge=1, le=500)  # items in one checkout or checkin request


class GatewaySection(_Section):
    listen: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    database: str = "sqlite:///gateway.sqlite"  # relative paths are relative to the configuration file
    database_password_file: str = ""  # PostgreSQL: the password, kept out of the URL
    consortium: str = Field(default="consortium", min_length=1)
    consortium_key_file: str = Field(min_length=1)  # the HMAC key that pseudonymises card numbers
    tls_cert_file: str = ""
    tls_key_file: str = ""
    tls_client_ca_file: str = ""  # set: kiosks must present a client certificate signed by this CA
    in_flight_wait: float = Field(
        default=20.0, ge=0.5, le=600
    )  # seconds a repeat waits for the first to finish
    instance_beat: float = Field(default=2.0, ge=0.2, le=60)  # seconds between a gateway process's heartbeats
    enrollment_code_hours: int = Field(default=72, ge=1, le=24 * 90)
    card_retention_days: int = Field(
        default=180, ge=1, le=3650
    )  # a card unseen this long leaves the offline lists
    statistics_days: int = Field(default=400, ge=1, le=3650)
    # Settled idempotency keys are forgotten after this many days (docs/GATEWAY.md: longer than a kiosk
    # stays away with an unconfirmed action; a kiosk that reports one older keeps all its keys).
    ledger_days: int = Field(default=90, ge=7, le=3650)
    # /metrics: with a token file, scrapers send 'Authorization: Bearer <token>' (from anywhere); without
    # one, only loopback clients may read it, unless metrics_loopback_only = false (a private network).
    metrics_token_file: str = ""
    metrics_loopback_only: bool = True

    @model_validator(mode="after")
    def _tls_pair(self) -> GatewaySection:
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            raise ValueError("tls_cert_file and tls_key_file go together")
        if self.tls_client_ca_file and not self.tls_cert_file:
            raise ValueError(
                "tls_client_ca_file needs tls_cert_file and tls_key_file (client certificates need TLS)"
            )
        return self


class GatewayConfig(_Section):
    gateway: GatewaySection
    limits: Limits = Limits()
    library: Annotated[tuple[LibraryConfig, ...], Field(min_length=1)]
    mail: MailSettings | None = None  # SMTP for e-mail receipts (server_api.gateway.mail)
    base_dir: Path = Path(".")  # the configuration file's folder (set by `load`)

    @model_validator(mode="after")
    def _unique_libraries(self) -> GatewayConfig:
        numbers = [lib.number for lib in self.library]
        doubles = sorted({n for n in numbers if numbers.count(n) > 1})
        if doubles:
            raise ValueError(f"library numbers must be unique: {', '.join(doubles)} appear twice")
        mailing = [lib.number for lib in self.library if lib.email_receipts]
        if mailing and self.mail is None:
            raise ValueError(
                f"libraries {', '.join(mailing)} have email_receipts but there is no [mail] section"
            )
        return self

    # -- derived ----------------------------------------------------------------------------------------

    def path(self, value: str) -> Path:
        candidate = Path(value)
        return candidate if candidate.is_absolute() else self.base_dir / candidate

    def libraries(self) -> dict[str, LibraryConfig]:
        return {lib.number: lib for lib in self.library}

    @cached_property
    def library_names(self) -> dict[str, str]:
        return {lib.number: lib.name for lib in self.library}

    def database_url(self) -> str:
        """The SQLAlchemy URL: SQLite paths made absolute, the PostgreSQL password read from its file."""
        from sqlalchemy.engine import make_url

        url = make_url(self.gateway.database)
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            url = url.set(database=str(self.path(url.database)))
        if self.gateway.database_password_file:
            password = read_secret(self.path(self.gateway.database_password_file), "database_password_file")
            url = url.set(password=password)
        return url.render_as_string(hide_password=False)

    def consortium_key(self) -> bytes:
        key = read_secret(self.path(self.gateway.consortium_key_file), "consortium_key_file").encode()
        if len(key) < 32:
            raise GatewayConfigError("consortium_key_file: the key must be at least 32 characters")
        return key

    def metrics_token(self) -> str | None:
        if not self.gateway.metrics_token_file:
            return None
        token = read_secret(self.path(self.gateway.metrics_token_file), "[gateway] metrics_token_file")
        if len(token) < 16:
            raise GatewayConfigError("[gateway] metrics_token_file: the token must be at least 16 characters")
        return token

    def sip2_settings(self, number: str) -> Sip2Settings:
        lib = self.libraries()[number]
        account = lib.sip2
        extra: dict[str, Any] = {}
        if account.charset:
            extra["charset"] = account.charset
        try:
            return Sip2Settings.for_profile(
                account.profile,
                account.host,
                account.port,
                account.user,
                read_secret(self.path(account.password_file), f"[library {number}] sip2.password_file"),
                location=account.location or lib.number,
                institution=account.institution or lib.number,
                terminal_password=read_secret(
                    self.path(account.terminal_password_file), "terminal_password_file"
                )
                if account.terminal_password_file
                else "",
                timeout=account.timeout,
                pool_size=account.pool_size,
                library_names=self.library_names,
                tls=account.tls,
                tls_ca_file=str(self.path(account.ca_file)) if account.ca_file else None,
                tls_cert_file=str(self.path(account.client_cert)) if account.client_cert else None,
                tls_key_file=str(self.path(account.client_key)) if account.client_key else None,
                **extra,
            )
        except Sip2ConfigError as exc:
            raise GatewayConfigError(f"[library {number}] sip2: {exc}") from None

    def check(self) -> list[str]:
        """Everything `serve` would refuse, as messages (empty: fine). Reads every secret file."""
        problems: list[str] = []
        for action in (self.consortium_key, self.database_url, self.metrics_token, *self._library_checks()):
            try:
                action()
            except GatewayConfigError as exc:
                problems.append(str(exc))
        for name in ("tls_cert_file", "tls_key_file", "tls_client_ca_file"):
            value = getattr(self.gateway, name)
            if value and not self.path(value).is_file():
                problems.append(f"[gateway] {name}: {self.path(value)} does not exist")
        return problems + self._mail_problems()

    def _mail_problems(self) -> list[str]:
        if self.mail is None:
            return []
        problems = []
        if self.mail.password_file:
            try:
                self.mail_password()
            except GatewayConfigError as exc:
                problems.append(str(exc))
        if self.mail.ca_file and not self.path(self.mail.ca_file).is_file():
            problems.append(f"[mail] ca_file: {self.path(self.mail.ca_file)} does not exist")
        return problems

    def mail_password(self) -> str:
        assert self.mail is not None
        if not self.mail.password_file:
            return ""
        return read_secret(self.path(self.mail.password_file), "[mail] password_file")

    def _library_checks(self) -> list[Any]:
        return [lambda n=lib.number: self.sip2_settings(n) for lib in self.library]


def _where(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc]
    if len(parts) >= 2 and parts[0] == "library" and parts[1].isdigit():
        parts[1] = f"#{int(parts[1]) + 1}"
        head = f"[library {parts[1]}]"
        rest = parts[2:]
    else:
        head, rest = f"[{parts[0]}]" if parts else "", parts[1:]
    return f"{head} {'.'.join(rest)}".strip()


def load(path: str | Path) -> GatewayConfig:
    """Read and validate a configuration file; `GatewayConfigError` says what is wrong and where."""
    source = Path(path)
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise GatewayConfigError(f"{source}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise GatewayConfigError(f"{source}: not valid TOML: {exc}") from None
    try:
        return GatewayConfig.model_validate({**data, "base_dir": source.resolve().parent})
    except ValidationError as exc:
        lines = [f"{source}: {_where(err['loc'])}: {err['msg']}" for err in exc.errors()]
        raise GatewayConfigError("\n".join(lines)) from None


def default_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


__all__ = [
    "CardRules",
    "GatewayConfig",
    "GatewayConfigError",
    "LibraryConfig",
    "Limits",
    "OfflinePolicyConfig",
    "Sip2Account",
    "default_path",
    "load",
    "read_secret",
]
