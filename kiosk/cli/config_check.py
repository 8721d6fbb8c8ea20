"""`kiosk config check FILE`: refuse a configuration file that `kiosk run` would refuse, one line per
problem (`kiosk.config.check_for_run`): a file this passes is one `kiosk run` runs with."""

from __future__ import annotations

import argparse
from pathlib import Path

from kiosk.cli.common import Commands, fail
from kiosk.config import ConfigError, check_for_run
from kiosk.config import load as load_config


def cmd_config_check(args: argparse.Namespace) -> int:
    try:
        config = load_config(Path(args.file))
        check_for_run(config)
    except ConfigError as error:
        return fail("\n".join(f"error: {line}" for line in str(error).splitlines()))
    g, sip2 = config.gateway, config.sip2
    talks_to = f"gateway {g.url}" if g.enabled else f"SIP2 {sip2.host}:{sip2.port}"
    print(f"{args.file}: OK (station {config.station.name!r}, {talks_to})")
    return 0


def register(commands: Commands) -> None:
    config = commands.add_parser("config", help="configuration tools")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    check = config_commands.add_parser("check", help="validate a configuration file")
    check.add_argument("file")
    check.set_defaults(func=cmd_config_check)


__all__ = ["cmd_config_check", "register"]
