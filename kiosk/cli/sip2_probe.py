"""`kiosk sip2 probe`: log in to a library system, ask for its status (99) and say what it supports.

Either `--config FILE` (its `[sip2]` section) or `--host`, `--port`, `--user` and `--password-file`; flags
given with `--config` override the file. Built the one way configuration becomes a connection
(`StationConfig.sip2_settings`), so what the probe finds is what the station will meet.
`--test-patron CARD` also finds the server's character set and refusal texts no rule maps; `--json` prints
the findings (charset, pool size that works, hints, unmapped refusals, warnings) as one object.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.cli.common import Commands, fail, print_json
from kiosk.config import ConfigError, StationConfig
from kiosk.config import load as load_config

if TYPE_CHECKING:
    from server_api.sip2 import Sip2Settings
    from server_api.sip2.probe import ProbeReport

_REQUIRED = {"host": "--host", "port": "--port", "user": "--user", "password_file": "--password-file"}


def probe_settings(args: argparse.Namespace) -> Sip2Settings:
    """`[sip2]` of `--config` (or the defaults), overridden by the flags given."""
    flags = {
        "host": args.host,
        "port": args.port,
        "user": args.user,
        "password_file": args.password_file,
        "profile": args.profile,
        "charset": args.charset,
        "location": args.location,
        "institution": args.institution,
        "timeout": args.timeout,
        "tls": args.tls,
        "ca_file": args.ca_file,
        "client_cert": args.cert,
        "client_key": args.key,
    }
    given = {key: value for key, value in flags.items() if value is not None}
    if (args.ca_file or args.cert) and args.tls is None:
        given["tls"] = True  # a CA or a client certificate only makes sense over TLS
    if args.config:
        config = load_config(Path(args.config))
    else:
        missing = [flag for key, flag in _REQUIRED.items() if key not in given]
        if missing:
            raise ConfigError(f"give --config FILE, or {', '.join(missing)}")
        config = StationConfig(source="command line")
    sip2 = replace(config.sip2, **given)
    return replace(config, sip2=sip2).sip2_settings()


def probe_record(report: ProbeReport) -> dict[str, Any]:
    """The probe's findings as one JSON object (`--json`): what the printed lines say, as data."""
    charset = report.charset
    pool = report.pool
    return {
        "ok": report.ok,
        "reason": report.reason,
        "charset": None
        if charset is None
        else {
            "configured": charset.configured,
            "found": charset.found,
            "matches": charset.matches,
            "repaired_fields": list(charset.repaired_fields),
        },
        "pool": None
        if pool is None
        else {
            "working": pool.working,
            "min_size": pool.min_size,
            "max_size": pool.max_size,
            "limit": pool.limit,
            "unserved": pool.unserved,
            "degraded": pool.degraded,
        },
        "hints": list(report.hints),
        "unmapped_refusals": [{"text": text, "count": count} for text, count in report.unmapped_refusals],
        "warnings": list(report.warnings),
        "lines": list(report.lines),
    }


def cmd_sip2_probe(args: argparse.Namespace) -> int:
    from server_api.sip2.probe import probe, report_probe

    try:
        settings = probe_settings(args)
    except ConfigError as error:
        return fail(f"sip2 probe: {error}", 2)
    if not args.json:
        return report_probe(settings, test_patron=args.test_patron)
    report = asyncio.run(probe(settings, test_patron=args.test_patron))
    print_json(probe_record(report))  # the password is not in the report
    return 0 if report.ok else 1


def register(commands: Commands) -> None:
    sip2 = commands.add_parser("sip2", help="SIP2 tools for technicians")
    sip2_commands = sip2.add_subparsers(dest="sip2_command", required=True)
    probe = sip2_commands.add_parser(
        "probe",
        help="log in, ask for status (99) and say what the ILS supports",
        description="Either --config FILE (its [sip2] section) or --host, --port, --user and "
        "--password-file; flags given with --config override the file.",
    )
    probe.add_argument("--config", help="station configuration: probe with its [sip2] section")
    probe.add_argument("--host")
    probe.add_argument("--port", type=int)
    probe.add_argument("--user")
    probe.add_argument("--password-file", help="file holding the SIP2 login password")
    probe.add_argument(
        "--tls", action="store_true", default=None, help="TLS with the system's CAs (or --ca-file)"
    )
    probe.add_argument("--ca-file", help="pin this CA certificate (PEM); implies --tls")
    probe.add_argument("--cert", help="client certificate (PEM); implies --tls")
    probe.add_argument("--key", help="client certificate key (PEM)")
    probe.add_argument("--profile", help="vendor profile (koha, evergreen, folio, ...); default generic")
    probe.add_argument("--charset", help="override the profile's charset")
    probe.add_argument("--location", help="location code (CP) sent at login")
    probe.add_argument("--institution")
    probe.add_argument("--timeout", type=float)
    probe.add_argument(
        "--test-patron",
        metavar="CARD",
        help="a test patron's card: read its patron information to find the server's charset, and try a "
        "checkout of an item that cannot exist to show the refusal text",
    )
    probe.add_argument("--json", action="store_true", help="print the findings as one JSON object")
    probe.set_defaults(func=cmd_sip2_probe)


__all__ = ["cmd_sip2_probe", "probe_record", "probe_settings", "register"]
