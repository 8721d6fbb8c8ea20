"""`Sip2Settings`: everything one SIP2 connection needs, checked when made (a setting that cannot work is a
`Sip2ConfigError` naming it, before anything connects). `for_profile` takes a vendor profile's defaults."""

from __future__ import annotations

import codecs
import math
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from .conversation import ScConversation
from .profiles import NB_DUE_DATE_CHOICES, get_profile

CHARSETS = ("utf-8", "cp850", "iso-8859-1", "ascii")  # tested; any Python codec name is accepted


class Sip2ConfigError(ValueError):
    """Settings that cannot work (unknown charset, client key without certificate, ...)."""


@dataclass(frozen=True)
class Sip2Settings:
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    location: str = ""  # CP at login, AP on checkin; also "here" for routing
    institution: str = ""  # AO
    charset: str = "utf-8"
    # Text fields that are not valid in `charset` are read in this one ("" = replacement marks only).
    fallback_charset: str = "iso-8859-1"
    timeout: float = 5.0  # seconds to wait for a reply (and to connect)
    error_detection: bool = True  # AY/AZ sequence numbers and checksums
    terminal_password: str = field(default="", repr=False)  # AC
    transcript: bool = False  # log every frame at DEBUG, secrets masked
    # Library/branch id (as the ILS sends it in CT) -> human name, for transit slips and screens.
    library_names: Mapping[str, str] = field(default_factory=dict)
    max_message_size: int = 512 * 1024  # a 64 of a patron with 5,000 loans is ~90 KB
    profile: str = "generic"  # a key of profiles.PROFILES
    terminator: str = "\r"  # sent after each frame ("\r" per the standard, "\r\n" for odd servers)
    strict: bool = False  # decode replies strictly (tests); real servers need the lenient default
    keepalive_interval: float | None = None  # seconds of silence before a 99; None = no keep-alive
    pool_size: int = 2  # at most this many connections per account (pool / Sip2Circulation)
    pool_min_size: int = 1  # a pool keeps at least this many when the server allows them
    pool_retry_interval: float = 60.0  # seconds before a pool tries a connection the server did not serve
    # Seconds a connection above pool_min_size may sit idle before the pool closes it: a stack grows the
    # pool (to 10 for Koha: a server process each), and 40 kiosks must not hold 400 of them all night.
    pool_idle_close: float = 300.0
    # nb due date of online 11/29: "blank" (18 spaces) or "transaction" (its own timestamp); "" = profile's.
    nb_due_date: str = ""
    tls: bool = False
    tls_ca_file: str | None = None  # pin this CA (PEM) instead of the system's CAs
    tls_cert_file: str | None = None  # client certificate (PEM), if the server wants one
    tls_key_file: str | None = None  # its key (PEM); may be inside tls_cert_file
    tls_server_name: str | None = None  # name to verify in the certificate (default: host)

    def __post_init__(self) -> None:
        try:
            codecs.lookup(self.charset)
        except LookupError:
            raise Sip2ConfigError(
                f"SIP2 charset {self.charset!r} is unknown (use one of {', '.join(CHARSETS)})"
            ) from None
        get_profile(self.profile)  # raises UnknownProfile with the list of known names
        if self.terminator not in ("\r", "\r\n", "\n"):
            raise Sip2ConfigError(f"SIP2 terminator must be CR, CRLF or LF, got {self.terminator!r}")
        if self.tls_key_file and not self.tls_cert_file:
            raise Sip2ConfigError("SIP2 tls_key_file given without tls_cert_file")
        if self.fallback_charset:
            try:
                codecs.lookup(self.fallback_charset)
            except LookupError:
                raise Sip2ConfigError(f"SIP2 fallback charset {self.fallback_charset!r} is unknown") from None
        for name in ("timeout", "pool_retry_interval", "pool_idle_close", "keepalive_interval"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise Sip2ConfigError(f"SIP2 {name} must be a positive number of seconds, got {value}")
        if self.pool_size < 1:
            raise Sip2ConfigError(f"SIP2 pool_size must be at least 1, got {self.pool_size}")
        if not 1 <= self.pool_min_size <= self.pool_size:
            raise Sip2ConfigError(
                f"SIP2 pool_min_size must be between 1 and pool_size ({self.pool_size}),"
                f" got {self.pool_min_size}"
            )
        if self.nb_due_date and self.nb_due_date not in NB_DUE_DATE_CHOICES:
            raise Sip2ConfigError(
                f"SIP2 nb_due_date must be one of {', '.join(NB_DUE_DATE_CHOICES)}, got {self.nb_due_date!r}"
            )

    @classmethod
    def for_profile(
        cls, profile: str, host: str, port: int, user: str, password: str, **kw: object
    ) -> Sip2Settings:
        """Settings with the vendor profile's charset, terminator, error detection and pool sizes as
        defaults."""
        p = get_profile(profile)
        size = kw.get("pool_size", p.pool_size)
        base: dict[str, object] = {
            "charset": p.charset,
            "fallback_charset": p.fallback_charset,
            "terminator": p.terminator,
            "error_detection": p.error_detection,
            "pool_size": p.pool_size,
            "pool_min_size": min(p.pool_min_size, size) if isinstance(size, int) else p.pool_min_size,
        }
        base.update(kw)
        return cls(host, port, user, password, profile=p.name, **base)  # type: ignore[arg-type]

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context: system CAs, or only `tls_ca_file` when pinned; optional client certificate."""
        if not self.tls:
            return None
        try:
            context = ssl.create_default_context(cafile=self.tls_ca_file)
            if self.tls_cert_file:
                context.load_cert_chain(self.tls_cert_file, self.tls_key_file)
        except (OSError, ssl.SSLError) as exc:
            raise Sip2ConfigError(f"SIP2 TLS files cannot be loaded: {exc}") from exc
        return context

    def with_(self, **changes: object) -> Sip2Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def online_nb_due_date(self) -> str:
        """What online checkouts and renewals send as nb due date: "blank" or "transaction"."""
        return self.nb_due_date or get_profile(self.profile).nb_due_date

    def conversation(self) -> ScConversation:
        """The sans-IO conversation rules for one connection with these settings."""
        return ScConversation(
            charset=self.charset,
            fallback_charset=self.fallback_charset,
            error_detection=self.error_detection,
            strict=self.strict,
            terminator=self.terminator,
            max_frame=self.max_message_size,
            patron_echoed_in_info=get_profile(self.profile).patron_echoed_in_info,
        )


__all__ = ["CHARSETS", "Sip2ConfigError", "Sip2Settings"]
