"""The station and the staff console (issue 13), in gateway mode: it follows its central settings and
carries out the technicians' commands, never in the middle of a patron's session.

Every `interval` (the heartbeat's) it asks the gateway for its settings and its commands
(`server_api.console.kiosk_client`). A new settings version is checked at once
(`kiosk.station.central_config.with_central`, the rules of `kiosk config check`): refused, it is reported
with the reason and the station keeps what it runs. Accepted, it waits until no patron session is active,
then is taken: kept beside the journal, the session's policy and the staff credentials changed at once,
and, when a key the station reads only at start changed, a clean restart asked of the service manager
(`restart_wanted`: `kiosk run` ends with `RESTART_EXIT`, which systemd's `Restart=on-failure` starts
again). The version is reported to the console and named in every heartbeat.

What needs staff (offline conflicts, failed or unfinished security writes, lost staff slips) is posted to
the console's task list as it appears (`kiosk.station.console_tasks`).

Commands (each acknowledged once done, so it is not handed out again):
- `fetch_logs`: the station's recent log lines without patron data (`kiosk.station.recent_logs`), at once;
- `out_of_order` (with the technician's message for patrons) and `in_service`: between sessions; the
  state is kept beside the journal, so a restart does not put the kiosk back in service;
- `restart`: between sessions, acknowledged first (a restarted station must not restart again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.config import ConfigError, StationConfig
from kiosk.core import SessionPolicy
from kiosk.station.central_config import (
    CentralConfig,
    central_path,
    live_policy,
    needs_restart,
    store_central,
    with_central,
)
from kiosk.station.console_tasks import TaskPoster, handled_in_console, open_tasks
from kiosk.station.gateway import GatewayLink
from kiosk.station.recent_logs import RecentLogs
from kiosk.station.tasks import Shell, report_fault
from server_api.console.kiosk_client import ConfigFollower, ConsoleClient, ConsoleUnavailable
from server_api.console.wire import Command, KioskConfig

if TYPE_CHECKING:
    from kiosk.station.station import Station

log = logging.getLogger(__name__)

RESTART_EXIT = 75  # EX_TEMPFAIL: not a clean stop, so systemd (Restart=on-failure) starts the station again
OUT_OF_ORDER_FILE = "out-of-order.txt"
IDLE_CHECK = 0.5  # seconds between looks at the session while something waits for it to end


def central_of(wanted: KioskConfig) -> CentralConfig:
    hashes = tuple(c.password_hash for c in wanted.staff_credentials)
    return CentralConfig(wanted.version, dict(wanted.settings), hashes)


class ConsoleLink:
    """What the console asks of this kiosk, done between patron sessions."""

    def __init__(
        self,
        shell: Shell,
        station: Station,
        client: ConsoleClient,
        config: StationConfig,
        running: CentralConfig | None,
        *,
        interval: float,
    ) -> None:
        """`config`: the station's own file; `running`: the central version it was built with."""
        self._shell, self._station, self.client = shell, station, client
        self._own_config = config
        self.running = running
        self._running_config = with_central(config, running) if running is not None else config
        self.follower = ConfigFollower(client, running.version if running is not None else "")
        self.interval = interval
        self.logs = RecentLogs()
        self.restart_wanted = asyncio.Event()
        self.restart_reason = ""
        self._ready: tuple[KioskConfig, StationConfig] | None = None  # checked, waiting for the session
        self._commands: dict[int, Command] = {}  # handed out, not yet done
        self._tasks = TaskPoster()  # what the console's task list already has
        self._folder = Path(station.journal.path).parent
        self.fetches = 0  # answers taken from the console (tests wait on it)

    @property
    def version(self) -> str:
        """The central settings version the station runs ("" for none: its own file only)."""
        return self.running.version if self.running is not None else ""

    # ------------------------------------------------------------ the loop

    async def run(self) -> None:
        self.logs.install()
        self._restore_out_of_order()
        try:
            while True:
                try:
                    await self.poll()
                except ConsoleUnavailable as error:
                    log.info("console skipped: %s", error)
                except Exception as error:  # a bug must not end the loop
                    report_fault(self._shell, error)
                await self._wait_or_act(self.interval)
        finally:
            self.logs.uninstall()
            await self.client.close()

    async def poll(self) -> None:
        """Ask for settings and commands; check a new version; do what may be done now."""
        if await self.follower.fetch():
            assert self.follower.waiting is not None
            await self._check(self.follower.waiting)
        for command in await self.client.commands():
            self._commands.setdefault(command.id, command)
        await self._sync_tasks()
        self.fetches += 1
        await self.act()

    async def _wait_or_act(self, seconds: float) -> None:
        """Sleep `seconds`, acting as soon as the session ends when something waits for it."""
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds
        while (left := until - loop.time()) > 0:
            await asyncio.sleep(min(left, IDLE_CHECK))
            if self._ready is not None or self._commands:
                with contextlib.suppress(ConsoleUnavailable):
                    await self.act()

    async def act(self) -> None:
        """Logs at once; settings and the other commands only while no patron session is active."""
        for command in [c for c in self._commands.values() if c.kind == "fetch_logs"]:
            await self._finish(command, True, self.logs.text())
        if self._station.session_active or self.restart_wanted.is_set():
            return
        if self._ready is not None:
            await self._take(*self._ready)
        for command in sorted(self._commands.values(), key=lambda c: c.id):
            await self._carry_out(command)
            if self.restart_wanted.is_set():
                return

    async def _sync_tasks(self) -> None:
        """New tasks to the console; the ones staff handled there, done here."""
        journal = self._station.journal
        new = self._tasks.new(await asyncio.to_thread(open_tasks, journal))
        if new:
            await self.client.post_tasks(new)
            self._tasks.taken(new)
        if self._tasks.posted:
            handled = await self.client.tasks()
            await asyncio.to_thread(handled_in_console, journal, handled, self._station.clock())

    # ------------------------------------------------------------ settings

    async def _check(self, wanted: KioskConfig) -> None:
        try:
            merged = await asyncio.to_thread(with_central, self._own_config, central_of(wanted))
        except ConfigError as error:
            reason = str(error).replace("\n", "; ")
            log.warning("console settings %s refused, keeping %s: %s", wanted.version, self.version, reason)
            self.follower.waiting = None
            await self.follower.applied(wanted, error=reason)
            return
        self._ready = (wanted, merged)

    async def _take(self, wanted: KioskConfig, merged: StationConfig) -> None:
        central = central_of(wanted)
        restart = needs_restart(self.running, central)
        await asyncio.to_thread(store_central, central_path(self._station.journal.path), central)
        use_policy(self._station, live_policy(self._station.policy, self._running_config, merged))
        self._station.staff.use_central(central.staff_credentials)
        self.running, self._running_config, self._ready = central, merged, None
        self.follower.take(between_sessions=True)
        log.info(
            "console settings %s taken%s", central.version, f"; restart for {restart}" if restart else ""
        )
        await self.follower.applied(wanted)
        if restart:
            self.restart(f"console settings {central.version} change {', '.join(restart)}")

    def restart(self, reason: str) -> None:
        """Ask for a clean restart through the service manager (`kiosk run` exits with `RESTART_EXIT`)."""
        self.restart_reason = reason
        log.warning("restart asked: %s", reason)
        self.restart_wanted.set()

    # ------------------------------------------------------------ commands

    async def _carry_out(self, command: Command) -> None:
        if command.kind == "restart":
            await self._finish(command, True, "restarting between patron sessions")
            self.restart(f"a technician asked (command {command.id})")
        elif command.kind == "out_of_order":
            await asyncio.to_thread(self._out_of_order_file().write_text, command.message, "utf-8")
            self._station.out_of_order.set(command.message)
            await self._finish(command, True, "out of order")
        elif command.kind == "in_service":
            await asyncio.to_thread(self._out_of_order_file().unlink, missing_ok=True)
            self._station.out_of_order.set(None, tuple(self._station.watcher.tags.values()))
            await self._finish(command, True, "in service")
        else:
            await self._finish(command, False, f"this kiosk does not know the command {command.kind!r}")

    async def _finish(self, command: Command, ok: bool, output: str) -> None:
        await self.client.finish(command, ok, output)
        self._commands.pop(command.id, None)

    def _out_of_order_file(self) -> Path:
        return self._folder / OUT_OF_ORDER_FILE

    def _restore_out_of_order(self) -> None:
        try:
            message = self._out_of_order_file().read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as error:
            log.warning("%s cannot be read: %s", self._out_of_order_file(), error)
            return
        self._station.out_of_order.set(message)


def follow_console(station: Station, config: StationConfig, running: CentralConfig | None) -> ConsoleLink:
    """For a station through the gateway: its link to the console, started with the station; the staff
    credentials of the kept version in force and its name in the heartbeats. `config` is the station's
    own file, `running` the central version it was built with (`central_at_start`)."""
    link = station.circulation
    assert isinstance(link, GatewayLink)
    client = ConsoleClient(link.client.settings)
    console = ConsoleLink(
        station._shell,  # the room's own shell: faults are observed like the station's others
        station,
        client,
        config,
        running,
        interval=link.heartbeat_interval,
    )
    station.console = console
    station.staff.use_central(running.staff_credentials if running is not None else ())
    if station.gateway is not None:
        station.gateway.config_version = lambda: console.version
    return console


def use_policy(station: Station, policy: SessionPolicy) -> None:
    """The session decides by `policy` from now on (called between patron sessions: nothing in flight)."""
    station.policy = policy
    session = station.session
    session.policy = session.identity.policy = session.stack.policy = policy
    session.language = policy.language if not station.session_active else session.language


__all__ = ["OUT_OF_ORDER_FILE", "RESTART_EXIT", "ConsoleLink", "central_of", "follow_console", "use_policy"]
