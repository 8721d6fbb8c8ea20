"""`kiosk sip2 probe`: log in to a library system, ask for its status (99) and say what it supports.

Either `--config FILE` (its `[sip2]` section) or `--host`, `--port`, `--user` and `--password-file`; flags
given with `--config` override the file. Built the one way configuration becomes a connection
(`StationConfig.sip2_settings`), so what the probe finds is what the station will meet.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.cli.common import Commands, fail
from kiosk.config import ConfigError, StationConfig
from kiosk.config import load as load_config

if TYPE_CHECKING:
    from server_api.sip2 import Sip2Settings

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


def cmd_sip2_probe(args: argparse.Namespace) -> int:
    from server_api.sip2.probe import report_probe

    try:
        settings = probe_settings(args)
    except ConfigError as error:
        return fail(f"sip2 probe: {error}", 2)
    return report_probe(settings)


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
    probe.set_defaults(func=cmd_sip2_probe)


__all__ = ["cmd_sip2_probe", "probe_settings", "register"]
