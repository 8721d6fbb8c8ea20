"""The sections of the station's file, as frozen dataclasses with the defaults a kiosk uses, and what the
rest of the station makes of them (`StationConfig.policy`, `.sip2_settings`). Ranges and checks:
`kiosk.config.checks`; reading a file: `kiosk.config.loading`."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from drivers.printer import PrinterSettings
from drivers.printer.layout import LibraryLayout
from kiosk.config.checks import check_sip2
from kiosk.config.errors import ConfigError
from kiosk.config.paths import read_secret
from kiosk.core import CardFormat, CheckDigit, OfflinePolicy, SecurityFailurePolicy, SessionPolicy
from kiosk.i18n import DRAFT_LANGUAGES
from server_api.sip2.client import Sip2ConfigError, Sip2Settings
from server_api.sip2.profiles import UnknownProfile

if TYPE_CHECKING:  # httpx and the gateway's wire models: loaded only in gateway mode (issue 15)
    from server_api.client import GatewaySettings


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
    pool_size: int = 0  # logged-in connections for a stack at once; 0 = the vendor profile's ceiling
    keepalive: float = 30.0  # seconds without traffic before a status request (99); 0 = off
    tls: bool = False  # TLS with the system's CAs, or only ca_file when that is set
    ca_file: str = ""  # pin this CA certificate (PEM)
    client_cert: str = ""  # client certificate (PEM), when the server asks for one
    client_key: str = ""  # its key (PEM), unless it is inside client_cert
    tls_server_name: str = ""  # name to verify in the server's certificate ("" = host)
    nb_due_date: str = ""  # "" = the profile's; "blank" (18 spaces) or "transaction" (its timestamp)
    fallback_charset: str = (
        ""  # text not valid in charset is read in this; "" = the profile's, "none" = marks
    )
    pool_min_size: int = 0  # connections opened at start, when the server serves them; 0 = the profile's
    pool_retry_interval: float = 60.0  # seconds before a connection the server did not serve is tried again


@dataclass(frozen=True)
class GatewaySection:
    """The consortium's gateway (docs/GATEWAY.md): set `url` and the station talks HTTPS to it instead of
    SIP2 to the library system, and holds no SIP2 password. `kiosk enroll URL CODE` writes this section."""

    url: str = ""  # "" = SIP2 straight to the library system ([sip2])
    token_file: str = ""  # the device token from `kiosk enroll`, mode 0600
    ca_file: str = ""  # trust only this CA (PEM) for the gateway's certificate; "" = the system's CAs
    client_cert: str = ""  # client certificate (PEM), if the gateway asks for one
    client_key: str = ""  # its key (PEM), unless it is inside client_cert
    timeout: float = 15.0  # seconds for one answer: a stack waits on the library system behind it
    connect_timeout: float = 3.0
    heartbeat_interval: float = 60.0  # seconds between the kiosk's reports to the gateway
    insecure_http: bool = False  # allow http:// to a host other than this machine (a lab, never a library)

    @property
    def enabled(self) -> bool:
        return bool(self.url)


@dataclass(frozen=True)
class SessionSection:
    idle_timeout: int = 60
    idle_warning: int = 20
    goodbye_time: int = 5
    max_pin_attempts: int = 3  # wrong PINs in a row for one card (across visits) before it rests
    pin_cooldown: int = 300  # seconds the card rests then; doubled with each further wrong PIN (0 = off)
    pin_cooldown_max: int = 86400  # the longest rest
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
    physical_card: bool = True  # a loan needs a card read from the pad or a scanner, not a typed number
    known_card: bool = True  # ... and one this station saw accepted online within known_for_days
    known_for_days: int = 30
    card_prefixes: str = ""  # the library's card numbers start with one of these ("" = any), e.g. "2190 N"
    card_min_length: int = 1
    card_max_length: int = 20
    card_check_digit: str = "none"  # none, luhn, mod11-2, mod11-10, verhoeff, damm


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
    """The receipt printer: `drivers.printer.PrinterSettings` under the same names (docs/PRINTERS.md)."""

    connection: str = "file"  # file (PNG + text, no paper), usb, serial, network or device
    kind: str = ""  # the old name of `connection` (only "file"), so older files still load
    directory: str = "var/receipts"  # file
    device: str = ""  # serial: /dev/serial/by-id/...; device: /dev/usb/lp0
    host: str = ""  # network
    port: int = 9100  # network
    usb_vendor_id: int = 0  # usb, as lsusb shows it: 0x04b8
    usb_product_id: int = 0  # usb: 0x0202
    baudrate: int = 38400  # serial
    flow_control: str = "rtscts"  # serial
    profile: str = "TM-T88V"  # python-escpos printer profile: its code pages and width
    code_pages: tuple[str, ...] = ("CP865",)  # for text, best first; other lines print as images
    dots_per_line: int = 512
    timeout: float = 3.0
    cut: str = "partial"
    status: bool = True  # the printer answers real-time status (DLE EOT)

    def __post_init__(self) -> None:
        object.__setattr__(self, "code_pages", tuple(self.code_pages))  # TOML gives a list

    def settings(self, source: str = "<printer>") -> PrinterSettings:
        """The one way [printer] becomes the driver's settings; `ConfigError` says what to fix."""
        values: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "kind"}
        if self.kind:
            values["connection"] = self.kind
        if not all(isinstance(page, str) for page in self.code_pages):
            raise ConfigError(f'{source}: [printer] code_pages: names in quotes, e.g. ["CP865", "CP1252"]')
        try:
            return PrinterSettings.from_mapping(values)
        except ValueError as error:
            raise ConfigError(f"{source}: [printer] {error}") from None


@dataclass(frozen=True)
class ReceiptsSection:
    """What the library prints around receipts and how much of a hold patron a slip shows
    (`drivers.printer.layout.LibraryLayout`, docs/PRINTERS.md#layouts-per-library)."""

    header: tuple[str, ...] = ()  # lines under the library's name: address, phone
    opening_hours: tuple[str, ...] = ()
    footer: tuple[str, ...] = ()  # "" = the catalogue's thank-you line
    logo: str = ""  # an image file printed on top, scaled to the paper
    account_url: str = ""  # the patron's account page, printed as a QR code on patron receipts
    hold_patron: str = "initials_and_last_digits"  # slips lie on open shelves
    hold_patron_digits: int = 4

    def layout(self, library_name: str, source: str = "<receipts>") -> LibraryLayout:
        values: dict[str, object] = {
            "library_name": library_name or "Library",
            "header": self.header,
            "opening_hours": self.opening_hours,
            "footer": self.footer,
            "account_url": self.account_url,
            "hold_patron": self.hold_patron,
            "hold_patron_digits": self.hold_patron_digits,
        }
        if self.logo:
            values["logo"] = self.logo
        try:
            return LibraryLayout.from_mapping(values)
        except ValueError as error:
            raise ConfigError(f"{source}: [receipts] {error}") from None


@dataclass(frozen=True)
class StaffSection:
    """The staff screen's credential, only ever as its argon2id hash (`kiosk staff set-credential`)."""

    kind: str = "passphrase"  # "passphrase", or "card_pin": a staff card and a PIN together
    credential: str = ""  # "" = no credential: the staff screen cannot be opened


@dataclass(frozen=True)
class UiSection:
    """The patron screen's panel: text and touch targets are sized in mm on it (EN 301 549 5.1.4 asks a
    capital H of 0.7° at the viewing distance in large-text mode), so a 10" and a 21.5" panel differ."""

    diagonal_in: float = 15.6  # the panel's visible diagonal, inches (the full-screen window's)
    dpi: float = 0.0  # pixels per inch of the panel, instead of diagonal_in; 0 = from diagonal_in
    viewing_distance_mm: float = 500.0  # a standing patron's eyes to the screen
    large_text: bool = False  # every session starts in large-text mode (a patron can still switch)


@dataclass(frozen=True)
class SpeechSection:
    """Speech output (EN 301 549 5.1.3): espeak-ng through ALSA, on the loudspeaker or, with a headset
    plugged in, on the headset; how the plug is sensed (`drivers.speech.jack`)."""

    enabled: bool = True
    device: str = ""  # ALSA output for the loudspeaker, e.g. "plughw:CARD=Device"; "" = ALSA's default
    headset_device: str = ""  # ALSA output with a headset plugged in; "" = the same as device
    jack: str = "none"  # how a headset plug is sensed: none, alsa (a jack control), evdev (a switch)
    jack_card: str = ""  # alsa: the sound card, as `aplay -l` or /proc/asound/cards names it
    jack_control: str = ""  # alsa: the control, e.g. "Headphone Jack"; "" = the card's headphone jack
    jack_device: str = ""  # evdev: the input device with SW_HEADPHONE_INSERT, /dev/input/by-path/...
    speak_on_headset: bool = True  # plugging a headset in starts reading the screen aloud


@dataclass(frozen=True)
class StationConfig:
    station: StationSection = field(default_factory=StationSection)
    sip2: Sip2Section = field(default_factory=Sip2Section)
    gateway: GatewaySection = field(default_factory=GatewaySection)
    session: SessionSection = field(default_factory=SessionSection)
    rfid: RfidSection = field(default_factory=RfidSection)
    printer: PrinterSection = field(default_factory=PrinterSection)
    offline: OfflineSection = field(default_factory=OfflineSection)
    network: NetworkSection = field(default_factory=NetworkSection)
    journal: JournalSection = field(default_factory=JournalSection)
    clock: ClockSection = field(default_factory=ClockSection)
    staff: StaffSection = field(default_factory=StaffSection)
    receipts: ReceiptsSection = field(default_factory=ReceiptsSection)
    ui: UiSection = field(default_factory=UiSection)
    speech: SpeechSection = field(default_factory=SpeechSection)
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
            pin_cooldown=timedelta(seconds=s.pin_cooldown),
            pin_cooldown_max=timedelta(seconds=s.pin_cooldown_max),
            pin_required=s.pin_required,
            print_staff_slips=s.print_staff_slips,
            offline=self.offline_policy(),
            security_failure=SecurityFailurePolicy(self.rfid.security_failure),
        )

    def offline_policy(self) -> OfflinePolicy:
        o = self.offline
        return OfflinePolicy(
            borrowing=o.borrowing,
            max_items_per_session=o.max_items_per_session,
            max_items_per_patron=o.max_items_per_patron,
            loan_days=o.loan_days,
            physical_card=o.physical_card,
            known_card=o.known_card,
            known_for=timedelta(days=o.known_for_days),
            card_format=CardFormat(
                prefixes=tuple(o.card_prefixes.replace(",", " ").split()),
                min_length=o.card_min_length,
                max_length=o.card_max_length,
                check_digit=CheckDigit(o.card_check_digit),
            ),
        )

    def sip2_password(self) -> str:
        """The password from `[sip2] password_file`, which must be set, non-empty and the kiosk user's
        alone (`kiosk.config.paths`)."""
        return read_secret(self.source, "sip2", "password_file", self.sip2.password_file)

    def gateway_settings(self) -> GatewaySettings:
        """The one way [gateway] becomes an `HttpCirculation`'s settings: the token file must be the kiosk
        user's alone and not empty, and the TLS files load (a bad certificate is reported now)."""
        g = self.gateway
        if not g.enabled:
            raise ConfigError(f"{self.source}: [gateway] url: not set (this station talks SIP2: see [sip2])")
        read_secret(self.source, "gateway", "token_file", g.token_file)
        if g.client_key:
            read_secret(self.source, "gateway", "client_key", g.client_key)
        from server_api.client import GatewaySettings

        settings = GatewaySettings(
            g.url,
            token_file=g.token_file,
            ca_file=g.ca_file,
            client_cert=g.client_cert,
            client_key=g.client_key,
            connect_timeout=g.connect_timeout,
            timeout=g.timeout,
        )
        if g.url.startswith("https://"):
            try:
                settings.ssl_context()
            except (OSError, ssl.SSLError, ValueError) as error:
                raise ConfigError(
                    f"{self.source}: [gateway] ca_file/client_cert/client_key: cannot be loaded: {error}"
                ) from error
        return settings

    def sip2_settings(self) -> Sip2Settings:
        """The one way [sip2] becomes a SIP2 connection (station, probe): the vendor profile's defaults,
        overridden by what the file sets; the password read from password_file; TLS files loaded now, so
        a bad certificate is reported before the first connection."""
        s = self.sip2
        check_sip2(s, self.source)
        options: dict[str, Any] = {
            "location": s.location,
            "institution": s.institution,
            "timeout": s.timeout,
            "pool_retry_interval": s.pool_retry_interval,
            "nb_due_date": s.nb_due_date,
            "keepalive_interval": s.keepalive or None,
            "tls": s.tls,
            "tls_ca_file": s.ca_file or None,
            "tls_cert_file": s.client_cert or None,
            "tls_key_file": s.client_key or None,
            "tls_server_name": s.tls_server_name or None,
            "library_names": dict(self.libraries),
        }
        if s.pool_size:
            options["pool_size"] = s.pool_size
        if s.pool_min_size:
            options["pool_min_size"] = s.pool_min_size
        if s.charset:
            options["charset"] = s.charset
        if s.fallback_charset:
            options["fallback_charset"] = "" if s.fallback_charset == "none" else s.fallback_charset
        if s.error_detection is not None:
            options["error_detection"] = s.error_detection
        password = self.sip2_password()
        try:
            settings = Sip2Settings.for_profile(s.profile, s.host, s.port, s.user, password, **options)
            settings.ssl_context()
        except (Sip2ConfigError, UnknownProfile) as error:
            raise ConfigError(f"{self.source}: [sip2] {error}") from error
        return settings
