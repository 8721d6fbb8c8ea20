"""`kiosk run --config FILE [--headless | --windowed]`: the station itself, as a kiosk runs it."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.cli.common import Commands, fail, open_jack_or_none, open_speaker_or_none, print_json
from kiosk.config import ConfigError, check_for_run
from kiosk.config import load as load_config
from kiosk.service import Notifier, ServiceReporter, ServiceTiming, run_dir_for_station, watchdog_interval

if TYPE_CHECKING:
    from kiosk.config import StationConfig
    from kiosk.station import Station


def cmd_run(args: argparse.Namespace) -> int:
    # Every file the station writes (journal, lock, receipts) is the kiosk user's alone (issue 11).
    os.umask(0o077)
    try:
        from kiosk.cli.build import build_station

        config = load_config(Path(args.config))
        check_for_run(config)  # the same refusals as `kiosk config check`, before anything is opened
        station = build_station(config)
    except ConfigError as error:
        return fail("\n".join(f"error: {line}" for line in str(error).splitlines()))
    not_started: list[Exception] = []

    async def run() -> None:
        # systemd stops a service with SIGTERM: end like Ctrl-C, through the clean stop below.
        main_task = asyncio.current_task()
        assert main_task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
        if args.headless:
            await station.start()
        else:  # the window opens while the station starts, not after (issue 15: ui.starting)
            starting = asyncio.ensure_future(station.start())
            await asyncio.sleep(0)  # its first step: the journal's upkeep runs in a thread while Kivy loads
        # The console asked for a restart (between sessions): the same clean stop, then RESTART_EXIT.
        restart = station.console.restart_wanted if station.console is not None else asyncio.Event()
        asked = asyncio.create_task(restart.wait(), name="restart when the console asks")
        asked.add_done_callback(lambda _: main_task.cancel())
        service = ServiceReporter(
            station,
            Notifier.from_environment(),
            run_dir_for_station(),  # $KIOSK_RUN_DIR or /run/kiosk: what the updater reads
            ServiceTiming(watchdog_interval=watchdog_interval()),
        )
        await service.start(ready=args.headless)  # READY=1 to systemd, then WATCHDOG=1 from this loop
        try:
            if args.headless:
                station.add_observer(lambda observation: print_json(observation.as_record()))
                await asyncio.Event().wait()  # until Ctrl-C or SIGTERM
            else:
                not_started.extend(await _window(station, config, args.windowed, starting, service.ready))
        finally:
            await service.stop()  # STOPPING=1
            # Commit what rides along and close the journal: a clean stop leaves nothing to reconcile.
            await station.stop()
            station.journal.close()

    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        asyncio.run(run())
    if not_started:
        return fail(
            f"error: the station did not start ({type(not_started[0]).__name__}: {not_started[0]}); it "
            "showed out of order. Run `kiosk doctor` for what to do; the service starts it again"
        )
    if station.console is not None and station.console.restart_wanted.is_set():
        from kiosk.station import RESTART_EXIT  # the console's (gateway mode only: loaded then)

        return RESTART_EXIT
    return 0


async def _window(
    station: Station,
    config: StationConfig,
    windowed: bool,
    starting: asyncio.Future[None],
    ready: Callable[[], None],
) -> list[Exception]:
    """The patron screen beside the station's start, until it ends; why the station did not start."""
    from ui.app import KioskApp

    app = KioskApp(
        station,
        fullscreen=not windowed,
        speaker=open_speaker_or_none(config.speech),
        idle_warning_seconds=int(station.policy.idle_warning.total_seconds()),
        panel=config.ui,  # text and touch targets in mm on this panel
        jack=open_jack_or_none(config.speech),
        speak_on_headset=config.speech.speak_on_headset,
    )
    app.after_first_frame(ready)  # READY once the station's first screen is drawn
    await app.run_beside(starting)  # "One moment" until it has started
    return [app.start_error] if app.start_error is not None else []


def register(commands: Commands) -> None:
    run = commands.add_parser("run", help="run a station from its configuration file")
    run.add_argument("--config", required=True)
    run.add_argument("--headless", action="store_true", help="no window; print what happens as JSON")
    run.add_argument("--windowed", action="store_true", help="a window instead of full screen")
    run.set_defaults(func=cmd_run)


__all__ = ["cmd_run", "register"]
