"""`kiosk update-window [--wait SECONDS] [--run-dir DIR] [--json]`: may the kiosk update now?

Exit code 0 when it may: the station reports idle (no patron session, nothing in flight), or no station
reports (not running, or hung). Exit code 1 when a patron is still being served after SECONDS (default
0: ask once). deploy/updates calls it before it installs; it reads what the station writes in its run
directory (/run/kiosk/station-state.json, kiosk.service).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from kiosk.cli.common import Commands, print_json
from kiosk.service import RUN_DIR, update_window


def cmd_update_window(args: argparse.Namespace) -> int:
    window = update_window(Path(args.run_dir), wait=max(0.0, args.wait))
    if args.json:
        print_json({"open": window.open, "reason": window.reason})
    else:
        print(f"update window {'open' if window.open else 'closed'}: {window.reason}")
    return 0 if window.open else 1


def register(commands: Commands) -> None:
    window = commands.add_parser(
        "update-window",
        help="exit 0 when the kiosk may update now (no patron session), 1 when not",
        description="Reads the station's state; waits up to --wait seconds for a patron session to end.",
    )
    window.add_argument("--wait", type=float, default=0.0, help="seconds to wait for the station to be idle")
    window.add_argument("--run-dir", default=str(RUN_DIR), help=f"the station's run directory ({RUN_DIR})")
    window.add_argument("--json", action="store_true", help="one JSON object")
    window.set_defaults(func=cmd_update_window)


__all__ = ["cmd_update_window", "register"]
