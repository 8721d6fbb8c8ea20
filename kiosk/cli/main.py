"""The `kiosk` parser: one sub-command per module, each adding itself with its `register(commands)`.

kiosk run            kiosk.cli.run            the station, from its configuration file
kiosk demo           kiosk.cli.demo           the whole station on demo data (the only user of kiosk.demo)
kiosk demo-ils       kiosk.cli.demo_ils       the demo library system alone (SIP2 over TCP)
kiosk config check   kiosk.cli.config_check   validate a configuration file
kiosk enroll         kiosk.cli.enroll         join the consortium's gateway with a one-time code
kiosk tag            kiosk.cli.tag            the tagging station for staff (logic: kiosk.cli.tagging)
kiosk sip2 probe     kiosk.cli.sip2_probe     what a library system's SIP2 server supports
kiosk printer test   kiosk.cli.printer        the test page on the configured receipt printer
kiosk journal        kiosk.cli.journal        the offline journal for staff (text: kiosk.cli.journal_text)
kiosk staff          kiosk.cli.staff          the staff screen's credential (set-credential)
kiosk doctor         kiosk.cli.doctor         what is wrong with this kiosk, with what to do (kiosk.doctor)
kiosk update-window  kiosk.cli.update_window  may the kiosk update now? (no patron session: kiosk.service)
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable

from kiosk.cli import (
    config_check,
    demo,
    demo_ils,
    doctor,
    enroll,
    journal,
    printer,
    run,
    sip2_probe,
    staff,
    tag,
    update_window,
)
from kiosk.cli.common import Commands

# Each sub-command adds itself to the parser; in the order `kiosk --help` lists them.
SUB_COMMANDS: tuple[Callable[[Commands], None], ...] = (
    demo.register,
    demo_ils.register,
    run.register,
    config_check.register,
    enroll.register,
    tag.register,
    sip2_probe.register,
    printer.register,
    journal.register,
    staff.register,
    doctor.register,
    update_window.register,
)


# Libraries that log routine work at INFO; shown with -v.
CHATTY_LIBRARIES = ("httpx", "httpcore", "alembic", "uvicorn.access", "asyncio")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk", description="Library self-service station")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more (never PINs or passwords)")
    commands = parser.add_subparsers(dest="command", required=True)
    for register in SUB_COMMANDS:
        register(commands)
    for name in ("run", "demo"):  # `kiosk demo -v` as well as `kiosk -v demo`
        if name in commands.choices:
            commands.choices[name].add_argument(
                "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log at DEBUG"
            )
    return parser


def main(argv: list[str] | None = None) -> int:
    # Before Kivy is imported (lazily, by `run` and `demo`): Kivy must not parse our arguments (`-v` is
    # ours), and it logs through Python's logging, so each line comes out once, at our level.
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        for chatty in CHATTY_LIBRARIES:  # a line per HTTP request or migration step: DEBUG's business
            logging.getLogger(chatty).setLevel(logging.WARNING)
    return int(args.func(args))


__all__ = ["SUB_COMMANDS", "build_parser", "main"]
