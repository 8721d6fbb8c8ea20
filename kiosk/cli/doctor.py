"""`kiosk doctor [--config FILE] [--json]`: every check of this kiosk, one line each with what to do.

Exit code 0 when nothing failed (warnings allowed), 1 when a check failed, 2 when the configuration
cannot be read. `--json` prints one object: `{"healthy": bool, "checks": [{"check", "verdict", "said",
"advice"}]}` for the staff console and the image's boot test. What each line means for a technician:
docs/TECHNICIANS.md, "What kiosk doctor says".
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from drivers.printer import Printer
from kiosk.cli.build import open_configured_printer
from kiosk.cli.common import Commands, fail, print_json
from kiosk.config import ConfigError, StationConfig
from kiosk.config import load as load_config
from kiosk.doctor import diagnose, healthy
from kiosk.service import RUN_DIR

KIOSK_CONFIG = Path("/data/kiosk/kiosk.toml")  # where the image keeps it (docs/TECHNICIANS.md)


def _printer_or_none(config: StationConfig) -> Printer | None:
    try:
        return open_configured_printer(config)
    except ConfigError:
        return None


def cmd_doctor(args: argparse.Namespace) -> int:
    os.umask(0o077)  # what opening the journal or the printer's folder makes is the kiosk user's alone
    try:
        config = load_config(Path(args.config))
    except ConfigError as error:
        return fail(f"doctor: {error}", 2)
    findings = asyncio.run(diagnose(config, _printer_or_none(config), Path(args.run_dir)))
    if args.json:
        print_json({"healthy": healthy(findings), "checks": [f.as_record() for f in findings]})
    else:
        for finding in findings:
            print(finding.line())
    return 0 if healthy(findings) else 1


def register(commands: Commands) -> None:
    doctor = commands.add_parser(
        "doctor",
        help="check the reader, printer, network, gateway, library system, clock and disk",
        description="One line per check with what to do. Exit code 0 when no check failed.",
    )
    doctor.add_argument("--config", default=str(KIOSK_CONFIG), help=f"station configuration ({KIOSK_CONFIG})")
    doctor.add_argument("--run-dir", default=str(RUN_DIR), help=argparse.SUPPRESS)  # where a station reports
    doctor.add_argument("--json", action="store_true", help="one JSON object (for the staff console)")
    doctor.set_defaults(func=cmd_doctor)


__all__ = ["cmd_doctor", "register"]
