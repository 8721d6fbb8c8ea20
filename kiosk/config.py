"""The station's configuration: one TOML file, validated with messages a technician can act on.

Every problem names the file, the key and what is wrong ("kiosk.toml: [sip2] port: expected a whole
number, got 'abc'"), and an unknown key suggests the nearest known one: a typo must never silently fall
back to a default. Secrets (the SIP2 password) live in their own file, readable only by the kiosk user,
so the configuration can be shown and shared without leaking them.
"""

from __future__ import annotations

import codecs
import dataclasses
import difflib
import tomllib
import types
import typing
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from kiosk.core import OfflinePolicy, SecurityFailurePolicy, SessionPolicy
from kiosk.i18n import COMPLETE_LANGUAGES, DRAFT_LANGUAGES, LANGUAGES
from server_api.sip2.client import CHARSETS, Sip2ConfigError, Sip2Settings
from server_api.sip2.profiles import PROFILES, UnknownProfile


class ConfigError(Exception):
    """The configuration cannot be used; the message says where and why."""


@dataclass(frozen=True)
class StationSection:
    name: str = "Kiosk"
    library_name: str = ""
    language: str = "nb"
    staff_language: str = "nb"
    # draft catalogues this library offers too (kiosk.i18n.DRAFT_LANGUAGES), e.g. "se smj"
    extra_languages: str = ""

    def extra_language_codes(self) -> tuple[str, ...]:
        """The drafts to enable: those listed, and the starting language when it is a draft."""
        listed = self.extra_languages.replace(",", " ").split()
        starting = [self.language] if self.language in DRAFT_LANGUAGES else []
        return tuple(dict.fromkeys([*listed, *starting]))


@dataclass(frozen=True)
class Sip2Section:
    host: str = "127.0.0.1"
    port: int = 6001
    user: str = ""
    password_file: str = ""
    institution: str = ""
    location: str = ""
    profile: str = "generic"  # vendor profile (server_api.sip2.profiles): defaults and how routing is read
    charset: str = ""  # "" = the profile's; any Python codec name (utf-8, cp850, iso-8859-1, ascii tested)
    timeout: float = 5.0
    error_detection: bool | None = None  # None = the profile's (on for all but FOLIO)
    pool_size: int = 2  # logged-in connections, so a stack of items is handled in parallel
    keepalive: float = 0.0  # seconds without traffic before a status request (99); 0 = off
    tls: bool = False  # TLS with the system's CAs, or only ca_file when that is set
    ca_file: str = ""  # pin this CA certificate (PEM)
    client_cert: str = ""  # client certificate (PEM), when the server asks for one
    client_key: str = ""  # its key (PEM), unless it is inside client_cert
    tls_server_name: str = ""  # name to verify in the server's certificate ("" = host)


@dataclass(frozen=True)
class SessionSection:
    idle_timeout: int = 60
    idle_warning: int = 20
    goodbye_time: int = 5
    max_pin_attempts: int = 3
    pin_required: bool = True
    print_staff_slips: bool = True


@dataclass(frozen=True)
class RfidSection:
    reader: str = "sim"  # "sim", "feig" (serial, a pad for stacks) or "pcsc" (one tag at a time)
    security_attempts: int = 3
    poll_interval: float = 0.1
    device: str = ""  # feig: the serial device, best a stable /dev/serial/by-id/... path
    baudrate: int = 38400  # feig
    feig_address: int = 255  # feig: bus address, 255 = broadcast
    reversed_blocks: bool = False  # feig: the reader is configured to send each block byte-reversed
    pcsc_reader: str = ""  # pcsc: part of the PC/SC reader name ("" = the first reader)
    pcsc_model: str = "generic"  # pcsc: command set (see drivers.rfid.pcsc.READER_MODELS)
    security_failure: str = "flag"  # loan whose AFI cannot be set: "flag" (keep, tell staff) or "undo"
    leave_after: int = 2  # inventory rounds a tag must be missing before it counts as lifted off


@dataclass(frozen=True)
class OfflineSection:
    borrowing: bool = True
    max_items_per_session: int = 5
    max_items_per_patron: int = 10
    loan_days: int = 14


@dataclass(frozen=True)
class NetworkSection:
    failure_budget: int = 2  # consecutive failures before the station works offline
    probe_interval: float = 15.0  # seconds between tries while offline


@dataclass(frozen=True)
class JournalSection:
    path: str = "var/journal.sqlite3"
    purge_after_days: int = 30  # finished entries name patrons: keep them no longer than this


@dataclass(frozen=True)
class ClockSection:
    trust: str = "kernel"  # kernel: ask ntp_adjtime whether NTP has synchronised; always: trust it


@dataclass(frozen=True)
class PrinterSection:
    kind: str = "file"
    directory: str = "var/receipts"


@dataclass(frozen=True)
class StationConfig:
    station: StationSection = field(default_factory=StationSection)
    sip2: Sip2Section = field(default_factory=Sip2Section)
    session: SessionSection = field(default_factory=SessionSection)
    rfid: RfidSection = field(default_factory=RfidSection)
    printer: PrinterSection = field(default_factory=PrinterSection)
    offline: OfflineSection = field(default_factory=OfflineSection)
    network: NetworkSection = field(default_factory=NetworkSection)
    journal: JournalSection = field(default_factory=JournalSection)
    clock: ClockSection = field(default_factory=ClockSection)
    # Library codes as the library system sends them in routing (CT, AQ) -> names for staff slips
    # ("send to Harstad bibliotek", not "send to 1902000"). Free-form: one line per library.
    libraries: dict[str, str] = field(default_factory=dict)
    source: str = "<defaults>"

    def policy(self) -> SessionPolicy:
        s = self.session
        return SessionPolicy(
            language=self.station.language,
            idle_timeout=timedelta(seconds=s.idle_timeout),
            idle_warning=timedelta(seconds=s.idle_warning),
            goodbye_time=timedelta(seconds=s.goodbye_time),
            max_pin_attempts=s.max_pin_attempts,
            pin_required=s.pin_required,
            print_staff_slips=s.print_staff_slips,
            offline=OfflinePolicy(
                borrowing=self.offline.borrowing,
                max_items_per_session=self.offline.max_items_per_session,
                max_items_per_patron=self.offline.max_items_per_patron,
                loan_days=self.offline.loan_days,
            ),
            security_failure=SecurityFailurePolicy(self.rfid.security_failure),
        )

    def sip2_password(self) -> str:
        path = self.sip2.password_file
        if not path:
            raise ConfigError(
                f"{self.source}: [sip2] password_file is not set: name the file holding the password"
            )
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ConfigError(f"{self.source}: [sip2] password_file {path!r}: {error.strerror}") from error

    def sip2_settings(self) -> Sip2Settings:
        """The one way [sip2] becomes a SIP2 connection (station, probe): the vendor profile's defaults,
        overridden by what the file sets; the password read from password_file; TLS files loaded now, so
        a bad certificate is reported before the first connection."""
        s = self.sip2
        _check_sip2(s, self.source)
        options: dict[str, Any] = {
            "location": s.location,
            "institution": s.institution,
            "timeout": s.timeout,
            "pool_size": s.pool_size,
            "keepalive_interval": s.keepalive or None,
            "tls": s.tls,
            "tls_ca_file": s.ca_file or None,
            "tls_cert_file": s.client_cert or None,
            "tls_key_file": s.client_key or None,
            "tls_server_name": s.tls_server_name or None,
            "library_names": dict(self.libraries),
        }
        if s.charset:
            options["charset"] = s.charset
        if s.error_detection is not None:
            options["error_detection"] = s.error_detection
        password = self.sip2_password()
        try:
            settings = Sip2Settings.for_profile(s.profile, s.host, s.port, s.user, password, **options)
            settings.ssl_context()
        except (Sip2ConfigError, UnknownProfile) as error:
            raise ConfigError(f"{self.source}: [sip2] {error}") from error
        return settings


_CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("station", "language"): tuple(LANGUAGES),
    ("station", "staff_language"): tuple(LANGUAGES),
    ("sip2", "profile"): tuple(sorted(PROFILES)),
    ("rfid", "reader"): ("sim", "feig", "pcsc"),
    ("rfid", "security_failure"): ("flag", "undo"),
    ("printer", "kind"): ("file",),
    ("clock", "trust"): ("kernel", "always"),
}

_TYPE_WORDS = {int: "a whole number", float: "a number", bool: "true or false", str: "text"}


def _check_value(where: str, section: str, key: str, expected: Any, value: Any) -> Any:
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if (expected is int and isinstance(value, bool)) or not isinstance(value, expected):
        raise ConfigError(
            f"{where}: [{section}] {key}: expected {_TYPE_WORDS.get(expected, expected)}, got {value!r}"
        )
    choices = _CHOICES.get((section, key))
    if choices and value not in choices:
        raise ConfigError(f"{where}: [{section}] {key}: {value!r} is not one of {', '.join(choices)}")
    if expected in (int, float) and value < 0:
        raise ConfigError(f"{where}: [{section}] {key}: must not be negative, got {value!r}")
    return value


def _check_sip2(s: Sip2Section, where: str) -> None:
    """What the per-key checks cannot see: codecs, TLS files, keys that only make sense together."""
    if s.profile not in PROFILES:
        known = ", ".join(sorted(PROFILES))
        raise ConfigError(f"{where}: [sip2] profile: {s.profile!r} is not one of {known}")
    if s.charset:
        try:
            codecs.lookup(s.charset)
        except LookupError:
            raise ConfigError(
                f"{where}: [sip2] charset: {s.charset!r} is not a known character set "
                f"(tested: {', '.join(CHARSETS)}; leave it out to use the profile's)"
            ) from None
    if s.timeout <= 0:
        raise ConfigError(f"{where}: [sip2] timeout: must be more than 0 seconds, got {s.timeout!r}")
    if s.pool_size < 1:
        raise ConfigError(f"{where}: [sip2] pool_size: must be at least 1, got {s.pool_size!r}")
    if s.client_key and not s.client_cert:
        raise ConfigError(f"{where}: [sip2] client_key is set without client_cert: set both, or neither")
    tls_files = {"ca_file": s.ca_file, "client_cert": s.client_cert, "client_key": s.client_key}
    if not s.tls:
        given = [key for key, value in {**tls_files, "tls_server_name": s.tls_server_name}.items() if value]
        if given:
            raise ConfigError(
                f"{where}: [sip2] {', '.join(given)} set but tls = false: "
                "set tls = true (the connection would be unencrypted), or remove them"
            )
        return
    for key, path in tls_files.items():
        if path and not Path(path).is_file():
            raise ConfigError(f"{where}: [sip2] {key} {path!r}: no such file")


def _unknown(where: str, what: str, name: str, known: list[str]) -> ConfigError:
    near = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else f" (known: {', '.join(known)})"
    return ConfigError(f"{where}: unknown {what} {name!r}{hint}")


def from_mapping(data: dict[str, Any], source: str = "<mapping>") -> StationConfig:
    sections = {f.name: f for f in dataclasses.fields(StationConfig) if f.name != "source"}
    built: dict[str, Any] = {}
    for section_name, values in data.items():
        if section_name == "libraries" and isinstance(values, dict):
            built["libraries"] = _library_names(source, values)
            continue
        if section_name not in sections:
            raise _unknown(source, "section", f"[{section_name}]", [f"[{s}]" for s in sections])
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: {section_name} must be a [section] table")
        section_type = typing.get_type_hints(StationConfig)[section_name]
        hints = typing.get_type_hints(section_type)
        checked: dict[str, Any] = {}
        for key, value in values.items():
            if key not in hints:
                raise _unknown(source, f"key in [{section_name}]:", key, list(hints))
            expected = hints[key]
            if isinstance(expected, types.UnionType):
                expected = typing.get_args(expected)[0]
            checked[key] = _check_value(source, section_name, key, expected, value)
        built[section_name] = section_type(**checked)
    config = StationConfig(**built, source=source)
    _check_sip2(config.sip2, source)
    _check_languages(config.station, source)
    if config.session.idle_warning >= config.session.idle_timeout:
        raise ConfigError(f"{source}: [session] idle_warning must be shorter than idle_timeout")
    return config


def _check_languages(s: StationSection, where: str) -> None:
    for code in s.extra_language_codes():
        if code not in DRAFT_LANGUAGES:
            raise ConfigError(
                f"{where}: [station] extra_languages: {code!r} is not a draft language "
                f"(drafts: {', '.join(DRAFT_LANGUAGES)}; {', '.join(COMPLETE_LANGUAGES)} are always offered)"
            )


def _library_names(source: str, values: dict[str, Any]) -> dict[str, str]:
    for code, name in values.items():
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(
                f"{source}: [libraries] {code} must be the library's name in quotes, e.g."
                f' {code} = "Harstad bibliotek"; got {name!r}'
            )
    return {str(code): name.strip() for code, name in values.items()}


def load(path: Path) -> StationConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the configuration: {error.strerror}") from error
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from error
    return from_mapping(data, str(path))
