"""`kiosk printer test --config FILE [--json]`: print the test page on the printer `[printer]` names, and
say what it reported before and after (docs/PRINTERS.md, what each status means for staff).

Exit code 0 when the page printed; 1 when it did not (the report says why: paper out, cover open, no
answer); 2 for a configuration that cannot be used. The printer is opened the way the station opens it
(`kiosk.cli.build.open_configured_printer`), so what the test finds is what the station will meet.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from drivers.printer.testpage import TestPageReport, print_test_page
from kiosk.cli.build import open_configured_printer
from kiosk.cli.common import Commands, fail, print_json
from kiosk.config import ConfigError, StationConfig
from kiosk.config import load as load_config


async def run_printer_test(config: StationConfig) -> TestPageReport:
    """The test page on the configured printer; the printer is let go afterwards."""
    printer = open_configured_printer(config)
    try:
        return await print_test_page(
            printer,
            library_name=config.station.library_name or config.station.name,
            settings_text=config.printer.settings(config.source).describe(),
        )
    finally:
        await printer.close()


def cmd_printer_test(args: argparse.Namespace) -> int:
    try:
        config = load_config(Path(args.config))
        where = config.printer.settings(config.source).describe()
        report = asyncio.run(run_printer_test(config))
    except ConfigError as error:
        return fail(f"printer test: {error}", 2)
    if args.json:
        print_json(
            {
                "printer": where,
                "ok": report.ok,
                "before": report.before.value,
                "after": report.after.value,
                "error": report.error,
                "lines": report.lines(),
            }
        )
    else:
        print(f"printer: {where}")
        for line in report.lines():
            print(f"  {line}")
    return 0 if report.ok else 1


def register(commands: Commands) -> None:
    printer = commands.add_parser("printer", help="receipt printer tools for technicians")
    printer_commands = printer.add_subparsers(dest="printer_command", required=True)
    test = printer_commands.add_parser(
        "test",
        help="print the test page on the configured printer and report its status",
        description="Prints text in each code page, Sámi and Cyrillic lines as images, sizes and a QR "
        "code, and says the printer's status before and after. Exit code 0 when the page printed.",
    )
    test.add_argument("--config", required=True, help="station configuration: its [printer] section")
    test.add_argument("--json", action="store_true", help="print the report as one JSON object")
    test.set_defaults(func=cmd_printer_test)


__all__ = ["cmd_printer_test", "register", "run_printer_test"]
