"""`kiosk tag read|write`: the tagging station for staff (the logic is `kiosk.cli.tagging`).

The reader is `[rfid]` of `--config`, overridden by `--reader`/`--device`. Every failure is one line on
stderr and exit status 1; a refusal says whether `--force` would overwrite the tag.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.cli.common import Commands, fail, print_json
from kiosk.config import ConfigError, RfidSection
from kiosk.config import load as load_config

if TYPE_CHECKING:
    from drivers.rfid.base import Reader

Work = Callable[["Reader"], Awaitable[int]]


def tag_reader(args: argparse.Namespace) -> Reader:
    """The reader for `kiosk tag`: `[rfid]` of `--config`, overridden by `--reader`/`--device`."""
    from kiosk.hardware import open_reader

    if not args.config and not args.reader:
        raise ConfigError("choose the reader: --reader sim|feig|pcsc (with --device) or --config FILE")
    rfid = load_config(Path(args.config)).rfid if args.config else RfidSection()
    source = args.config or "command line"
    if args.reader:
        rfid = replace(rfid, reader=args.reader)
    if args.device:
        rfid = replace(rfid, **{"pcsc_reader" if rfid.reader == "pcsc" else "device": args.device})
    if rfid.reader == "feig" and not rfid.device:
        raise ConfigError(
            f"{source}: the FEIG reader needs --device (its serial device) or [rfid] device in --config"
        )
    return open_reader(rfid, check_device=True, source=source)


def _run_tag_command(args: argparse.Namespace, work: Work) -> int:
    """Open the reader, run `work(reader)`, close it; every failure is one line on stderr and exit 1."""
    from drivers.rfid.base import ReaderError
    from kiosk.cli.tagging import TaggingError, TaggingRefused

    async def run() -> int:
        reader = tag_reader(args)
        try:
            return int(await work(reader))
        finally:
            with contextlib.suppress(ReaderError, OSError):
                await reader.close()

    try:
        return asyncio.run(run())
    except TaggingRefused as error:
        hint = " (--force overwrites it)" if error.needs_force else ""
        return fail(f"refused: {error}{hint}")
    except (ConfigError, ReaderError, TaggingError) as error:
        return fail(f"error: {error}")


def cmd_tag_read(args: argparse.Namespace) -> int:
    from kiosk.cli.tagging import read_pad

    async def work(reader: Reader) -> int:
        reports = await read_pad(reader, library=args.library)
        if args.json:
            for report in reports:
                print_json(report.record())
        elif not reports:
            print("No tags on the pad.")
        else:
            print("\n\n".join(report.describe() for report in reports))
        return 0

    return _run_tag_command(args, work)


def cmd_tag_write(args: argparse.Namespace) -> int:
    from drivers.rfid.base import format_uid
    from kiosk.cli.tagging import write_item

    async def work(reader: Reader) -> int:
        written = await write_item(
            reader, args.item_id, args.parts, args.library, country=args.country, force=args.force
        )
        for tag in written:
            if args.json:
                print_json(tag.record())
            else:
                print(
                    f"{format_uid(tag.uid)}: part {tag.part_number} of {tag.parts_in_item} "
                    f"of {args.item_id}, library {args.library} ({args.country}), "
                    f"AFI {tag.record()['afi']}, verified "
                    f"(was: {tag.before}; {tag.extensions_kept} extension block(s) kept)"
                )
        return 0

    return _run_tag_command(args, work)


def _reader_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--reader", choices=["sim", "feig", "pcsc"], help="overrides [rfid] reader")
    options.add_argument("--device", help="FEIG: serial device; PC/SC: part of the reader's name")
    options.add_argument("--config", help="station configuration: its [rfid] section picks the reader")
    options.add_argument("--json", action="store_true", help="one JSON object per tag")
    return options


def register(commands: Commands) -> None:
    reader_options = _reader_options()
    tag = commands.add_parser("tag", help="tagging station for staff: read and program item tags")
    tag_commands = tag.add_subparsers(dest="tag_command", required=True)
    tag_read = tag_commands.add_parser(
        "read", parents=[reader_options], help="decode every tag on the pad (model, item, owner, AFI)"
    )
    tag_read.add_argument("--library", help="also flag tags not owned by this library number")
    tag_read.set_defaults(func=cmd_tag_read)
    tag_write = tag_commands.add_parser(
        "write",
        parents=[reader_options],
        help="program the tags on the pad as the parts of one item (NOR-RFID, AFI 0x07)",
    )
    tag_write.add_argument("--item-id", required=True, help="the item's barcode / primary item id")
    tag_write.add_argument("--parts", type=int, required=True, help="parts in the item = tags on the pad")
    tag_write.add_argument("--library", required=True, help="owner library: 7-digit Base Bibliotek number")
    tag_write.add_argument("--country", default="NO", help="owner country (NOR-RFID: NO)")
    tag_write.add_argument("--force", action="store_true", help="overwrite tags of another library")
    tag_write.set_defaults(func=cmd_tag_write)


__all__ = ["cmd_tag_read", "cmd_tag_write", "register", "tag_reader"]
