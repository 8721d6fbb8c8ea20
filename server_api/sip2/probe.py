"""`kiosk sip2 probe`: log in to a SIP2 server, ask for its status (99/98) and say in plain words what it
supports. For technicians commissioning a kiosk. Exit code 0 only when login and status both succeed.

`probe()` returns everything as data (`ProbeReport`), so a CLI can print it as it likes:
- `charset`: with a test patron (`test_patron`), the character set the server's 64 is written in, judged
  from its raw bytes (`charsets.detect_charset`), and whether that matches the connection's;
- `pool`: how many of the configured `pool_size` connections the server serves (`Sip2Pool.fill`);
- `hints`: settings the observations suggest (charset, pool size, error detection, institution), and
  the profile's quirks;
- `unmapped_refusals`: with a test patron, the refusal text of a checkout of an item that cannot exist,
  when no rule maps it to a reason (so a pattern can be added to the profile).

The password comes from a file (never the command line, where `ps` would show it) and is never printed.
"""

from __future__ import annotations

import asyncio
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TextIO

from server_api.circulation import CirculationError, Transaction

from .charsets import CharsetGuess, detect_charset, same_charset
from .circulation import Sip2Circulation
from .client import Sip2Client, Sip2ConfigError, Sip2Settings
from .messages import AcsStatus, PatronInformationRequest, supported_messages
from .pool import PoolReport, Sip2Pool
from .profiles import UnknownProfile, VendorProfile, get_profile

# Letters a Norwegian/Sámi/Kven/Russian consortium needs to send (patron names, titles).
CHARSET_SAMPLE = "æøå ÆØÅ äö áčđŋšŧž ÁČĐŊŠŦŽ ǥǧǩǯʒ АБВ абв"
MOJIBAKE_HINTS = ("Ã", "Â", "â€", "Ð", "\ufffd")  # UTF-8 read as Latin-1/cp850, or undecodable


PROBE_ITEM = "KIOSK-PROBE-NO-SUCH-ITEM"  # a checkout of it is refused everywhere: a sample refusal text


@dataclass(frozen=True)
class CharsetFinding:
    configured: str
    found: str | None  # None: the test patron's reply could not tell
    evidence: str  # the patron's text as read in `found`
    repaired_fields: tuple[str, ...] = ()  # fields that did not decode in the configured charset

    @property
    def matches(self) -> bool:
        return self.found is None or same_charset(self.found, self.configured)


@dataclass
class ProbeReport:
    ok: bool
    lines: list[str] = field(default_factory=list)
    reason: str = ""  # one line, when not ok
    status: AcsStatus | None = None
    charset: CharsetFinding | None = None  # with a test patron
    pool: PoolReport | None = None
    hints: list[str] = field(default_factory=list)  # settings to consider, in plain words
    unmapped_refusals: list[tuple[str, int]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def unencodable(text: str, charset: str) -> str:
    """The distinct characters of `text` that `charset` cannot carry."""
    bad = []
    for char in dict.fromkeys(text):
        try:
            char.encode(charset)
        except UnicodeEncodeError:
            bad.append(char)
    return "".join(bad)


def describe(status: AcsStatus, settings: Sip2Settings, *, now: datetime | None = None) -> list[str]:
    """The 98 in plain words, with the profile's caveats and the charset's limits."""
    profile = get_profile(settings.profile)
    lines = [
        f"Library system: {status.library_name or '(no name given)'}; institution {status.institution_id!r}"
        + (f"; terminal location {status.terminal_location!r}" if status.terminal_location else ""),
        f"Protocol version: {status.protocol_version}",
        f"On-line: {_yes(status.online_status)}; checkout allowed: {_yes(status.checkout_ok)}; "
        f"checkin allowed: {_yes(status.checkin_ok)}; "
        f"renewals by the kiosk: {_yes(status.acs_renewal_policy)}; "
        f"status update: {_yes(status.status_update_ok)}",
        f"Off-line transactions accepted later (no block replay): {_yes(status.offline_ok)}"
        + ("" if status.offline_ok else " -- offline loans cannot be recorded on this server"),
        "Timeout: "
        + (
            "not given"
            if status.timeout_period in (0, 999)
            else f"{status.timeout_period / 10:g} s (the kiosk waits at most {settings.timeout:g} s)"
        ),
        "Retries allowed: "
        + ("unknown (999)" if status.retries_allowed >= 999 else str(status.retries_allowed)),
    ]
    if status.date_time_sync is not None and status.date_time_sync.tzinfo is None:
        skew = ((now or datetime.now()) - status.date_time_sync).total_seconds()
        clock = f"Server clock: {status.date_time_sync:%Y-%m-%d %H:%M:%S}"
        if abs(skew) > 120:
            clock += f" -- differs from this machine by {skew:+.0f} s"
        lines.append(clock)
    supported = supported_messages(status.supported_messages)
    yes = [name for name, ok in supported.items() if ok]
    no = [name for name, ok in supported.items() if not ok]
    lines.append(f"Supported messages (BX {status.supported_messages!r}): " + (", ".join(yes) or "none"))
    lines.append("Not supported: " + (", ".join(no) or "none"))
    needed = ("checkout (11)", "checkin (09)", "patron information (63)", "item information (17)")
    missing = [name for name in needed if not supported.get(name)]
    if missing:
        lines.append("WARNING: the kiosk needs " + ", ".join(missing) + " -- the server says it lacks them")
    bad = unencodable(CHARSET_SAMPLE, settings.charset)
    if bad:
        lines.append(
            f"Charset {settings.charset}: cannot send {' '.join(bad)} -- names and titles with these letters "
            "will be refused with an encode error; use utf-8 if the server's login allows it"
        )
    else:
        lines.append(f"Charset {settings.charset}: carries Norwegian, Sámi, Kven and Russian letters")
    texts = [status.library_name or "", *status.screen_message]
    if any(hint in text for text in texts for hint in MOJIBAKE_HINTS):
        lines.append(
            f"WARNING: the server's text looks garbled in {settings.charset} "
            "-- the server probably uses another charset"
        )
    for line in status.screen_message:
        lines.append(f"Server says: {line}")
    lines.append(
        f"Profile {profile.name}: {profile.title}"
        + ("" if profile.verified else " (UNVERIFIED profile: confirm routing with a test checkin)")
    )
    lines.append("Return routing read from: " + routing_words(profile))
    return lines


def routing_words(profile: VendorProfile) -> str:
    """Which checkin (10) fields the profile takes the route from, in plain words."""
    cy = {
        "card": "card number, on the staff slip",
        "internal": "an internal id, not shown",
        "unknown": "meaning unverified, not shown",
    }[profile.cy_is]
    roles = (
        (profile.alert_type_field, "alert type"),
        (profile.destination_field, "destination"),
        (profile.hold_patron_id_field, f"hold patron id: {cy}"),
        (profile.hold_patron_name_field, "hold patron name, on the staff slip"),
    )
    words = [f"{code} ({what})" for code, what in roles if code]
    return ", ".join(words) if words else "nothing: every return with an alert goes to staff"


async def probe(settings: Sip2Settings, *, test_patron: str | None = None) -> ProbeReport:
    """Log in, read the status; with `test_patron` also find the server's charset and a sample refusal
    text; then open the pool to see how many connections the server serves."""
    client = Sip2Client(settings)
    try:
        await client.connect()  # 93 login, then 99/98
        status = client.acs_status
        if status is None:
            return ProbeReport(False, reason="the server sent no status (98) after login")
        report = ProbeReport(True, describe(status, settings), status=status)
        if test_patron:
            try:
                await _probe_patron(client, settings, test_patron, report)
            except CirculationError as exc:
                report.warnings.append(f"the test patron could not be checked: {exc}")
    except CirculationError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if settings.error_detection and "checksum still missing" in reason:
            reason += " -- the server sends no checksums: set error_detection = false"
        return ProbeReport(False, reason=reason)
    finally:
        await client.close()  # before the pool: a server with one worker must be free for it
    pool = Sip2Pool(settings)
    try:
        report.pool = await pool.fill()
    finally:
        await pool.close()
    _conclude(report, settings)
    return report


async def _probe_patron(client: Sip2Client, settings: Sip2Settings, patron: str, report: ProbeReport) -> None:
    info = await client.exchange(
        PatronInformationRequest(
            transaction_date=datetime.now(),
            institution_id=settings.institution,
            patron_identifier=patron,
            terminal_password=settings.terminal_password or None,
        )
    )
    guess: CharsetGuess = detect_charset(_text_bytes(info.raw))
    report.charset = CharsetFinding(settings.charset, guess.charset, guess.evidence, info.repaired)
    circulation = Sip2Circulation(settings, client=client)
    refusal = await circulation.checkout(patron, PROBE_ITEM, Transaction.new(datetime.now()))
    if refusal.ok:
        report.warnings.append(
            f"the server lent {PROBE_ITEM!r}, an item that cannot exist: check the test patron"
        )
    report.unmapped_refusals = circulation.unmapped_refusals()


def _text_bytes(frame: bytes) -> bytes:
    """The variable fields of a 64 (after its 61 bytes of ASCII fixed fields), without the trailer."""
    return _TRAILER.sub(b"", frame[61:])


_TRAILER = re.compile(rb"(?:AY\d)?AZ[0-9A-Fa-f ]{4}[\r\n\x00]*$")


def _conclude(report: ProbeReport, settings: Sip2Settings) -> None:
    """Hints and warnings from what was found, then the findings as lines to print."""
    profile = get_profile(settings.profile)
    found = report.charset
    if found is not None and found.found is None:
        report.lines.append(
            f"Charset of the server: cannot tell ({found.evidence}); use a test patron with æ ø å"
        )
    elif found is not None:
        report.lines.append(
            f"Charset of the server: {found.found} (the test patron reads {found.evidence!r})"
        )
        if not found.matches:
            report.warnings.append(
                f"the server writes {found.found}, the connection is set to {found.configured}:"
                f" set charset = {found.found} (or the login's encoding on the server to {found.configured})"
            )
            report.hints.append(f"charset = {found.found}")
    pool = report.pool
    if pool is not None:
        report.lines.append(f"Connections served: {pool.working} of {pool.max_size} (pool_size)")
        if pool.working < pool.max_size:
            report.warnings.append(
                f"the server served {pool.working} of {pool.max_size} connections ({pool.last_error}):"
                f" set pool_size = {max(pool.working, 1)}, or give the SIP2 server more workers"
            )
            report.hints.append(f"pool_size = {max(pool.working, 1)}")
    status = report.status
    if (
        status is not None
        and settings.institution
        and status.institution_id not in ("", settings.institution)
    ):
        report.hints.append(
            f"the server calls its institution {status.institution_id!r}, the connection sends"
            f" {settings.institution!r}: check institution"
        )
    report.hints += [f"profile {profile.name}: {quirk}" for quirk in profile.quirks]
    for text, count in report.unmapped_refusals:
        report.lines.append(f"Refusal text no rule maps to a reason: {text!r} ({count}x)")
    report.lines += [f"WARNING: {warning}" for warning in report.warnings]
    report.lines += [f"Hint: {hint}" for hint in report.hints]


def run_probe(
    *,
    host: str,
    port: int,
    user: str,
    password_file: str,
    tls: bool = False,
    profile: str = "generic",
    ca_file: str | None = None,
    cert_file: str | None = None,
    key_file: str | None = None,
    location: str = "",
    institution: str = "",
    charset: str | None = None,
    timeout: float = 5.0,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Print the probe's findings; return the exit code (0 ok, 1 the server failed, 2 bad arguments)."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        password = Path(password_file).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        print(f"sip2 probe: cannot read password file {password_file}: {exc.strerror}", file=err)
        return 2
    extra: dict[str, object] = {}
    if charset:
        extra["charset"] = charset
    try:
        settings = Sip2Settings.for_profile(
            profile,
            host,
            port,
            user,
            password,
            location=location,
            institution=institution,
            timeout=timeout,
            tls=tls or bool(ca_file),
            tls_ca_file=ca_file,
            tls_cert_file=cert_file,
            tls_key_file=key_file,
            **extra,
        )
        settings.ssl_context()  # bad TLS files are an argument problem, reported before connecting
    except (Sip2ConfigError, UnknownProfile) as exc:
        print(f"sip2 probe: {exc}", file=err)
        return 2
    return report_probe(settings, out=out, err=err)


def report_probe(
    settings: Sip2Settings,
    *,
    test_patron: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Probe with ready settings (e.g. `StationConfig.sip2_settings()`) and print the findings; return the
    exit code (0 ok, 1 the server failed). The password is never printed."""
    out = out or sys.stdout
    err = err or sys.stderr
    where = f"{settings.user}@{settings.host}:{settings.port}"
    report = asyncio.run(probe(settings, test_patron=test_patron))
    if not report.ok:
        print(f"sip2 probe: FAILED {where}: {report.reason}", file=err)
        return 1
    print(f"sip2 probe: OK {where}{' (TLS)' if settings.tls else ''}: login and status succeeded", file=out)
    for line in report.lines:
        print(f"  {line}", file=out)
    return 0


__all__ = [
    "CharsetFinding",
    "ProbeReport",
    "describe",
    "probe",
    "report_probe",
    "routing_words",
    "run_probe",
    "unencodable",
]
