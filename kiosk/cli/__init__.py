"""The `kiosk` command: the composition root.

This is the one module of kiosk/ that may import ui/ (lazily, in the commands that open a window).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.config import ConfigError, StationConfig
from kiosk.config import load as load_config

if TYPE_CHECKING:
    from kiosk.station import Observation


def _print_json(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def _print_observation(observation: Observation) -> None:
    _print_json(observation.as_record())


def _workdir(given: str | None) -> Path:
    if given:
        return Path(given)
    # A fresh library every time: the demo starts from the same data and leaves nothing behind.
    return Path(tempfile.mkdtemp(prefix="kiosk-demo-"))


async def _demo_headless(scenario_name: str, workdir: Path, sessions: int, quiet: bool) -> int:
    from datetime import timedelta

    from kiosk.core import OfflinePolicy, SessionPolicy
    from kiosk.demo.environment import DemoEnvironment
    from kiosk.demo.scenarios import SCENARIOS, ScenarioFailed, bookmobile

    scenario = SCENARIOS[scenario_name]
    options: dict[str, Any] = {"policy": SessionPolicy(goodbye_time=timedelta(seconds=1))}
    if scenario_name == "bookmobile":
        # A day compressed into a minute: quick ticks, and a bookmobile's generous offline limits
        # (its patrons come once a fortnight and borrow for the whole interval).
        options = {
            "policy": SessionPolicy(
                goodbye_time=timedelta(0),
                offline=OfflinePolicy(max_items_per_session=5, max_items_per_patron=1000, loan_days=28),
            ),
            "branch": "bookmobile",
            "tick_interval": 0.05,
            "poll_interval": 0.01,
            "probe_interval": 0.5,
            "sip2_timeout": 2.0,
        }
    async with DemoEnvironment(workdir, **options) as env:
        assert env.station is not None
        if not quiet:
            env.station.add_observer(_print_observation)
        try:
            if scenario_name == "bookmobile":
                summary = await bookmobile(env, sessions=sessions)
            else:
                summary = await scenario(env)
        except (TimeoutError, ScenarioFailed) as error:
            summary = {
                "scenario": scenario_name,
                "ok": False,
                "error": str(error) or "timed out",
                "screen": env.station.screen.name.value,
            }
    _print_json({"kind": "summary", **summary})
    return 0 if summary.get("ok") else 1


async def _demo_window(workdir: Path, fullscreen: bool) -> int:
    from kiosk.demo.environment import DemoEnvironment
    from ui.app import KioskApp

    async with DemoEnvironment(workdir) as env:
        assert env.station is not None and env.ils is not None
        print(f"Demo library system on 127.0.0.1:{env.ils.port}; receipts in {workdir / 'receipts'}")
        app = KioskApp(env.station, demo=env, fullscreen=fullscreen)
        await app.async_run(async_lib="asyncio")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    workdir = _workdir(args.workdir)
    if args.headless:
        if not args.scenario:
            print(
                "kiosk demo --headless needs --scenario (borrow-return, transit or bookmobile)",
                file=sys.stderr,
            )
            return 2
        return asyncio.run(_demo_headless(args.scenario, workdir, args.sessions, args.quiet))
    return asyncio.run(_demo_window(workdir, args.fullscreen))


def cmd_demo_ils(args: argparse.Namespace) -> int:
    from server_api.demo_ils import data as demo_data
    from server_api.demo_ils.server import DemoIls

    async def serve() -> None:
        db = Path(args.db) if args.db else None
        async with DemoIls(db_path=db, host=args.host, port=args.port) as ils:
            user, password = demo_data.KIOSK_LOGIN
            print(f"Demo library system (SIP2) listening on {args.host}:{ils.port}", flush=True)
            print(
                f"SIP2 login: user {user!r}, password {password!r}, location {demo_data.KIOSK_LOCATION!r}",
                flush=True,
            )
            print(f"Demo patron: {demo_data.DEMO_PATRON_ID} (PIN {demo_data.DEMO_PATRON_PIN})", flush=True)
            await asyncio.Event().wait()  # until Ctrl-C

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return 0


def cmd_config_check(args: argparse.Namespace) -> int:
    try:
        config = load_config(Path(args.file))
        if config.sip2.password_file:
            config.sip2_password()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{args.file}: OK (station {config.station.name!r}, SIP2 {config.sip2.host}:{config.sip2.port})")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    try:
        from kiosk.cli.build import build_station

        config = load_config(Path(args.config))
        station = build_station(config)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    async def run() -> None:
        # systemd stops a service with SIGTERM: end like Ctrl-C, through the clean stop below.
        main_task = asyncio.current_task()
        assert main_task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
        await station.start()
        try:
            if args.headless:
                station.add_observer(_print_observation)
                await asyncio.Event().wait()  # until Ctrl-C or SIGTERM
            else:
                from ui.app import KioskApp

                await KioskApp(station, fullscreen=not args.windowed).async_run(async_lib="asyncio")
        finally:
            # Commit what rides along and close the journal: a clean stop leaves nothing to reconcile.
            await station.stop()
            station.journal.close()

    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        asyncio.run(run())
    return 0


def _tag_reader(args: argparse.Namespace) -> Any:
    """The reader for ``kiosk tag``: ``[rfid]`` of ``--config``, overridden by ``--reader``/``--device``."""
    from dataclasses import replace

    from kiosk.config import RfidSection
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


def _run_tag_command(args: argparse.Namespace, work: Any) -> int:
    """Open the reader, run ``work(reader)``, close it; every failure is one line on stderr and exit 1."""
    from drivers.rfid.base import ReaderError
    from kiosk.cli.tagging import TaggingError, TaggingRefused

    async def run() -> int:
        reader = _tag_reader(args)
        try:
            return int(await work(reader))
        finally:
            with contextlib.suppress(ReaderError, OSError):
                await reader.close()

    try:
        return asyncio.run(run())
    except TaggingRefused as error:
        hint = " (--force overwrites it)" if error.needs_force else ""
        print(f"refused: {error}{hint}", file=sys.stderr)
    except (ConfigError, ReaderError, TaggingError) as error:
        print(f"error: {error}", file=sys.stderr)
    return 1


def cmd_tag_read(args: argparse.Namespace) -> int:
    from kiosk.cli.tagging import read_pad

    async def work(reader: Any) -> int:
        reports = await read_pad(reader, library=args.library)
        if args.json:
            for report in reports:
                _print_json(report.record())
        elif not reports:
            print("No tags on the pad.")
        else:
            print("\n\n".join(report.describe() for report in reports))
        return 0

    return _run_tag_command(args, work)


def cmd_tag_write(args: argparse.Namespace) -> int:
    from drivers.rfid.base import format_uid
    from kiosk.cli.tagging import write_item

    async def work(reader: Any) -> int:
        written = await write_item(
            reader, args.item_id, args.parts, args.library, country=args.country, force=args.force
        )
        for tag in written:
            if args.json:
                _print_json(tag.record())
            else:
                print(
                    f"{format_uid(tag.uid)}: part {tag.part_number} of {tag.parts_in_item} "
                    f"of {args.item_id}, library {args.library} ({args.country}), "
                    f"AFI {tag.record()['afi']}, verified "
                    f"(was: {tag.before}; {tag.extensions_kept} extension block(s) kept)"
                )
        return 0

    return _run_tag_command(args, work)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk", description="Library self-service station")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more (never PINs or passwords)")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="the whole station on demo data and simulated hardware")
    demo.add_argument("--headless", action="store_true", help="no window: run a scenario, print JSON lines")
    demo.add_argument("--scenario", choices=["borrow-return", "transit", "bookmobile"])
    demo.add_argument("--sessions", type=int, default=500, help="bookmobile: patron visits while offline")
    demo.add_argument("--quiet", action="store_true", help="headless: print only the summary line")
    demo.add_argument("--workdir", help="keep the demo library's database and receipts here")
    demo.add_argument("--fullscreen", action="store_true")
    demo.set_defaults(func=cmd_demo)

    ils = commands.add_parser("demo-ils", help="run the demo library system (SIP2 over TCP) alone")
    ils.add_argument("--host", default="127.0.0.1")
    ils.add_argument("--port", type=int, default=6001)
    ils.add_argument("--db", help="SQLite file (created with demo data if missing); default: in memory")
    ils.set_defaults(func=cmd_demo_ils)

    run = commands.add_parser("run", help="run a station from its configuration file")
    run.add_argument("--config", required=True)
    run.add_argument("--headless", action="store_true", help="no window; print what happens as JSON")
    run.add_argument("--windowed", action="store_true", help="a window instead of full screen")
    run.set_defaults(func=cmd_run)

    config = commands.add_parser("config", help="configuration tools")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    check = config_commands.add_parser("check", help="validate a configuration file")
    check.add_argument("file")
    check.set_defaults(func=cmd_config_check)

    reader_options = argparse.ArgumentParser(add_help=False)
    reader_options.add_argument("--reader", choices=["sim", "feig", "pcsc"], help="overrides [rfid] reader")
    reader_options.add_argument("--device", help="FEIG: serial device; PC/SC: part of the reader's name")
    reader_options.add_argument("--config", help="station configuration: its [rfid] section picks the reader")
    reader_options.add_argument("--json", action="store_true", help="one JSON object per tag")
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

    from kiosk.cli.journal import add_journal_commands

    add_journal_commands(commands)  # kiosk journal list|show|conflicts|sync|purge
    return parser


def _probe_settings(args: argparse.Namespace) -> Any:
    """The probe's SIP2 settings: ``[sip2]`` of ``--config`` (or the defaults), overridden by the flags
    given, built the one way configuration becomes a connection (`StationConfig.sip2_settings`)."""
    from dataclasses import replace

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
        required = {"host": "--host", "port": "--port", "user": "--user", "password_file": "--password-file"}
        missing = [flag for key, flag in required.items() if key not in given]
        if missing:
            raise ConfigError(f"give --config FILE, or {', '.join(missing)}")
        config = StationConfig(source="command line")
    sip2 = replace(config.sip2, **given)
    return replace(config, sip2=sip2).sip2_settings()


def cmd_sip2_probe(args: argparse.Namespace) -> int:
    from server_api.sip2.probe import report_probe

    try:
        settings = _probe_settings(args)
    except ConfigError as error:
        print(f"sip2 probe: {error}", file=sys.stderr)
        return 2
    return report_probe(settings)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
