"""What each value may be: its type, its choices, its range, and what keys must agree on.

Every number has a range (`RANGES`): a value outside it either breaks the station (a port of 99999, a
loan of 3,000,000 days that overflows the date), disables it (0 security attempts: the AFI is never
written), burns the CPU (a poll interval of 0) or makes it useless to a patron (an idle timeout of a
day). Floats must be finite (TOML allows `inf` and `nan`). Each message names the file, the key, the value
and the range, so the technician knows what to write instead.
"""

from __future__ import annotations

import codecs
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from drivers.printer.layout import HoldPatronShown
from drivers.printer.settings import BAUD_RATES, DOTS_PER_LINE, Connection, FlowControl
from kiosk.config.errors import ConfigError, problem
from kiosk.core import CheckDigit
from kiosk.credentials import CredentialKind, hash_problem
from kiosk.i18n import COMPLETE_LANGUAGES, DRAFT_LANGUAGES, LANGUAGES
from server_api.sip2.client import CHARSETS
from server_api.sip2.profiles import NB_DUE_DATE_CHOICES, PROFILES

if TYPE_CHECKING:
    from kiosk.config.sections import StationConfig


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    unit: str = ""
    why: str = ""  # what goes wrong outside it, when that is not obvious
    zero_means: str = ""  # 0 is allowed below `low` and means this ("off")

    def accepts(self, value: float) -> bool:
        return (self.zero_means != "" and value == 0) or self.low <= value <= self.high

    def words(self, whole: bool) -> str:
        kind = "a whole number" if whole else "a number"
        unit = f" {self.unit}" if self.unit else ""
        text = f"use {kind} from {_num(self.low)} to {_num(self.high)}{unit}"
        if self.zero_means:
            text += f", or 0 for {self.zero_means}"
        return text + (f" ({self.why})" if self.why else "")


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


RANGES: dict[tuple[str, str], Range] = {
    ("sip2", "port"): Range(1, 65535),
    ("sip2", "timeout"): Range(0.5, 120, "seconds", "how long a patron waits for one answer"),
    ("sip2", "pool_size"): Range(1, 16, "connections"),
    ("sip2", "keepalive"): Range(5, 3600, "seconds", zero_means="no keep-alive"),
    ("sip2", "pool_min_size"): Range(1, 16, "connections"),
    ("sip2", "pool_retry_interval"): Range(
        1, 3600, "seconds", "how soon a pool asks an unserved server again"
    ),
    ("receipts", "hold_patron_digits"): Range(1, 8, "digits", "of the hold patron's card on a slip"),
    ("printer", "port"): Range(1, 65535),
    ("printer", "timeout"): Range(0.1, 60, "seconds", "each status answer and connection attempt"),
    ("printer", "usb_vendor_id"): Range(0, 0xFFFF, "", "as lsusb shows it, e.g. 0x04b8"),
    ("printer", "usb_product_id"): Range(0, 0xFFFF, "", "as lsusb shows it, e.g. 0x0202"),
    ("gateway", "timeout"): Range(
        1, 300, "seconds", "a stack waits on the library system behind the gateway"
    ),
    ("gateway", "connect_timeout"): Range(0.5, 60, "seconds"),
    ("gateway", "heartbeat_interval"): Range(5, 3600, "seconds"),
    ("session", "idle_timeout"): Range(
        10, 1800, "seconds", "the next patron must not find the last one's session"
    ),
    ("session", "idle_warning"): Range(0, 600, "seconds"),
    ("session", "goodbye_time"): Range(0, 120, "seconds"),
    ("session", "max_pin_attempts"): Range(1, 10),
    ("session", "pin_cooldown"): Range(60, 86400, "seconds", zero_means="no rest after wrong PINs"),
    ("session", "pin_cooldown_max"): Range(60, 7 * 86400, "seconds"),
    ("rfid", "security_attempts"): Range(1, 10, "", "with 0 the security bit would never be written"),
    ("rfid", "poll_interval"): Range(0.05, 5.0, "seconds", "shorter keeps a CPU core busy for nothing"),
    ("rfid", "feig_address"): Range(0, 255, "", "255 = broadcast"),
    ("rfid", "leave_after"): Range(1, 20, "inventory rounds"),
    ("offline", "max_items_per_session"): Range(1, 100, "items", "set borrowing = false for none"),
    ("offline", "max_items_per_patron"): Range(1, 1000, "items"),
    ("offline", "loan_days"): Range(1, 365, "days"),
    ("offline", "known_for_days"): Range(1, 365, "days"),
    ("offline", "card_min_length"): Range(1, 20, "characters"),
    ("offline", "card_max_length"): Range(1, 20, "characters"),
    ("network", "failure_budget"): Range(1, 100, "failed requests"),
    ("network", "probe_interval"): Range(1, 3600, "seconds"),
    ("ui", "diagonal_in"): Range(5, 65, "inches", "the panel's visible diagonal"),
    ("ui", "dpi"): Range(50, 600, "pixels per inch", zero_means="from diagonal_in"),
    ("ui", "viewing_distance_mm"): Range(250, 1500, "mm", "from a patron's eyes to the screen"),
    ("journal", "purge_after_days"): Range(1, 365, "days", "finished entries are patrons' reading history"),
}

CHOICES: dict[tuple[str, str], tuple[Any, ...]] = {
    ("station", "language"): tuple(LANGUAGES),
    ("station", "staff_language"): tuple(LANGUAGES),
    ("sip2", "profile"): tuple(sorted(PROFILES)),
    ("rfid", "reader"): ("sim", "feig", "pcsc"),
    ("rfid", "security_failure"): ("flag", "undo"),
    ("rfid", "baudrate"): (9600, 19200, 38400, 57600, 115200),
    ("offline", "card_check_digit"): tuple(c.value for c in CheckDigit),
    ("sip2", "nb_due_date"): ("", *NB_DUE_DATE_CHOICES),
    ("receipts", "hold_patron"): tuple(shown.value for shown in HoldPatronShown),
    ("printer", "kind"): ("file",),
    ("printer", "connection"): tuple(c.value for c in Connection),
    ("printer", "flow_control"): tuple(f.value for f in FlowControl),
    ("printer", "baudrate"): BAUD_RATES,
    ("printer", "dots_per_line"): DOTS_PER_LINE,
    ("printer", "cut"): ("partial", "full", "none"),
    ("clock", "trust"): ("kernel", "always"),
    ("staff", "kind"): tuple(kind.value for kind in CredentialKind),
    ("speech", "jack"): ("none", "alsa", "evdev"),
}

TYPE_WORDS = {
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    str: "text in quotes",
    list: 'a list in brackets, e.g. ["CP865"]',
}


def check_value(where: str, section: str, key: str, expected: Any, value: Any) -> Any:
    """`value` as `expected`, within its choices and range; raises `ConfigError` saying what to write."""
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if (expected is int and isinstance(value, bool)) or not isinstance(value, expected):
        wanted = TYPE_WORDS.get(expected, str(expected))
        raise ConfigError(problem(where, section, key, f"expected {wanted}, got {value!r}"))
    choices = CHOICES.get((section, key))
    if choices and value not in choices:
        listed = ", ".join(map(str, choices))
        raise ConfigError(problem(where, section, key, f"{value!r} is not one of {listed}"))
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(problem(where, section, key, f"{value!r} is not a finite number"))
    bounds = RANGES.get((section, key))
    if bounds is not None and not bounds.accepts(value):
        what = f"{_num(value)} is out of range: {bounds.words(expected is int)}"
        raise ConfigError(problem(where, section, key, what))
    if expected in (int, float) and value < 0:
        raise ConfigError(problem(where, section, key, f"must not be negative, got {value!r}"))
    return value


def check_together(config: StationConfig) -> None:
    """What keys must agree on, once every value is in its own range."""
    where, s, o = config.source, config.session, config.offline
    if s.idle_warning >= s.idle_timeout:
        raise ConfigError(
            f"{where}: [session] idle_warning must be shorter than idle_timeout "
            f"({s.idle_warning} >= {s.idle_timeout} seconds)"
        )
    if s.pin_cooldown > s.pin_cooldown_max:
        raise ConfigError(
            f"{where}: [session] pin_cooldown ({s.pin_cooldown}) is longer than pin_cooldown_max "
            f"({s.pin_cooldown_max}): make pin_cooldown_max at least as long"
        )
    if o.card_min_length > o.card_max_length:
        raise ConfigError(
            f"{where}: [offline] card_min_length ({o.card_min_length}) is more than card_max_length "
            f"({o.card_max_length})"
        )
    if config.staff.credential:
        weak = hash_problem(config.staff.credential)
        if weak:
            raise ConfigError(problem(where, "staff", "credential", weak))
    if config.gateway.enabled:
        check_gateway(config, where)
    else:
        check_sip2(config.sip2, where)
    check_languages(config, where)
    check_speech(config, where)
    config.printer.settings(where)  # the driver's own checks: profile, code pages, width, connection
    config.receipts.layout(config.station.library_name, where)  # the logo exists, the address is one


_LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def check_gateway(config: StationConfig, where: str) -> None:
    """[gateway]: an address the station can use, TLS files that exist, and no SIP2 password beside it:
    in gateway mode only the gateway holds the library system's passwords."""
    g = config.gateway
    url = urlsplit(g.url)
    if url.scheme not in ("https", "http") or not url.hostname:
        what = f"{g.url!r} is not an address like https://gateway.example.net:8443"
        raise ConfigError(problem(where, "gateway", "url", what))
    if url.scheme == "http" and url.hostname not in _LOOPBACK and not g.insecure_http:
        what = (
            f"{g.url!r} is not encrypted: the device token and patrons' card numbers would cross the "
            "network in clear; use https://"
        )
        raise ConfigError(problem(where, "gateway", "url", what))
    if config.sip2.password_file:
        raise ConfigError(
            f"{where}: [sip2] password_file is set beside [gateway] url: a kiosk in gateway mode holds no "
            "SIP2 password (the gateway logs in for it); remove password_file and delete the file"
        )
    if not g.token_file:
        what = "not set: name the file `kiosk enroll` writes the device token to (mode 0600)"
        raise ConfigError(problem(where, "gateway", "token_file", what))
    if g.client_key and not g.client_cert:
        raise ConfigError(f"{where}: [gateway] client_key is set without client_cert: set both, or neither")
    for key in ("ca_file", "client_cert"):
        path = getattr(g, key)
        if path and not Path(path).is_file():
            raise ConfigError(problem(where, "gateway", key, f"{path!r}: no such file"))


def check_sip2(s: Any, where: str) -> None:
    """What the per-key checks cannot see: codecs, TLS files, keys that only make sense together."""
    if s.profile not in PROFILES:
        known = ", ".join(sorted(PROFILES))
        raise ConfigError(f"{where}: [sip2] profile: {s.profile!r} is not one of {known}")
    if not s.host.strip():
        raise ConfigError(f"{where}: [sip2] host: empty: name the library system's host or address")
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
    if s.pool_size < 0:  # 0: the vendor profile's
        raise ConfigError(f"{where}: [sip2] pool_size: must be at least 1, got {s.pool_size!r}")
    size = s.pool_size or (PROFILES[s.profile].pool_size if s.profile in PROFILES else s.pool_min_size)
    if s.pool_min_size > size:
        raise ConfigError(
            f"{where}: [sip2] pool_min_size ({s.pool_min_size}) is more than pool_size ({size}): "
            "make pool_size at least as large"
        )
    if s.fallback_charset and s.fallback_charset != "none":
        try:
            codecs.lookup(s.fallback_charset)
        except LookupError:
            raise ConfigError(
                f"{where}: [sip2] fallback_charset: {s.fallback_charset!r} is not a known character set "
                '(e.g. iso-8859-1 or cp850; "none" for replacement marks; leave it out for the profile\'s)'
            ) from None
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


def check_languages(config: StationConfig, where: str) -> None:
    for code in config.station.extra_language_codes():
        if code not in DRAFT_LANGUAGES:
            raise ConfigError(
                f"{where}: [station] extra_languages: {code!r} is not a draft language "
                f"(drafts: {', '.join(DRAFT_LANGUAGES)}; {', '.join(COMPLETE_LANGUAGES)} are always offered)"
            )


def check_speech(config: StationConfig, where: str) -> None:
    """[speech] jack: each way of sensing a headset needs to know where to look."""
    s = config.speech
    if s.jack == "alsa" and not s.jack_card:
        what = 'jack = "alsa" needs the sound card: see `aplay -l`, e.g. jack_card = "Device"'
        raise ConfigError(problem(where, "speech", "jack_card", what))
    if s.jack == "evdev" and not s.jack_device.startswith("/dev/input/"):
        what = (
            f'{s.jack_device!r}: jack = "evdev" needs the input device with the headphone switch, '
            "e.g. /dev/input/by-path/platform-sound-event (`evtest` lists them)"
        )
        raise ConfigError(problem(where, "speech", "jack_device", what))


__all__ = ["CHOICES", "RANGES", "Range", "check_gateway", "check_sip2", "check_together", "check_value"]
