"""Online or offline: the failure budget, the probe while offline, the replay on the way back.

Every failure to reach the library system (authentication, circulation, a ping, a replay that stopped)
counts; `failure_budget` of them in a row and the station works offline: the session gets the offline
policy, and a probe pings now and then in the background. The first answer brings the station back
online and starts a replay of the journal (`kiosk.journal.Replayer.sync`). Any success resets the count.
"""

from __future__ import annotations

import asyncio

from kiosk.core import OfflineChanged
from kiosk.journal import Journal, Replayer, SyncReport
from kiosk.station.observations import NetworkChanged
from kiosk.station.settings import StationSettings
from kiosk.station.tasks import Shell
from server_api.circulation import Circulation, CirculationError


class Liveness:
    def __init__(
        self,
        shell: Shell,
        circulation: Circulation,
        replayer: Replayer,
        journal: Journal,
        settings: StationSettings,
    ) -> None:
        self._shell = shell
        self._circulation = circulation
        self._replayer = replayer
        self._journal = journal
        self.failure_budget = settings.failure_budget
        self.probe_interval = settings.timing.probe_interval
        self.online = True
        self._failures = 0  # consecutive failures to reach the library system
        self._prober: asyncio.Task[None] | None = None
        self.idle_probe = settings.timing.idle_probe
        self._heard = 0.0  # loop time of the last success or failure: traffic the probe need not repeat

    def note_failure(self) -> None:
        self._heard = asyncio.get_running_loop().time()
        self._failures += 1
        if self.online and self._failures >= self.failure_budget:
            self._set_online(False)

    def note_success(self) -> None:
        self._heard = asyncio.get_running_loop().time()
        self._failures = 0

    def _set_online(self, online: bool) -> None:
        if online == self.online:
            return
        self.online = online
        self._shell.observe(NetworkChanged(online))
        self._shell.feed(OfflineChanged(not online, self._shell.clock()))
        if online:
            self._shell.spawn(self.sync(), "sync")
        elif self._prober is None or self._prober.done():
            # A background loop, not a command: `settle` must not wait for the network to come back.
            self._prober = asyncio.create_task(self._probe(), name="probe")

    async def _probe(self) -> None:
        """While offline: try the library system now and then, and come back by itself."""
        while not self.online:
            await asyncio.sleep(self.probe_interval)
            try:
                await self._circulation.ping()
            except CirculationError:
                continue
            self._failures = 0
            self._set_online(True)

    async def watch(self) -> None:
        """Online and idle: ping after `idle_probe` seconds without traffic, so a network cut shows as
        the offline mark within about `idle_probe` (plus the failure budget's pings), not only when a
        patron's request fails. `idle_probe` 0: never (the `[sip2] keepalive` setting)."""
        if not self.idle_probe:
            return
        loop = asyncio.get_running_loop()
        self._heard = self._heard or loop.time()
        while True:
            wait = self._heard + self.idle_probe - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            elif self.online:
                await self.check_connection()  # each failure counts; the budget decides
            else:
                await asyncio.sleep(self.idle_probe)  # offline: the probe (`_probe`) is at work

    def take_prober(self) -> asyncio.Task[None] | None:
        """The probe loop, if one runs, for the station to cancel when it stops."""
        prober, self._prober = self._prober, None
        return prober

    async def check_connection(self) -> bool:
        """Ping the library system up to the failure budget; go offline if it never answers.
        At start-up this also replays what a crash or an outage left in the journal."""
        for _ in range(self.failure_budget):
            try:
                await self._circulation.ping()
            except CirculationError:
                self.note_failure()
                continue
            self.note_success()
            if self.online and self._journal.unsettled():
                await self.sync()
            return True
        return False

    async def sync(self) -> SyncReport:
        """Replay what the journal holds; a replay the library system cut short counts as a failure."""
        report = await self._replayer.sync()
        if report.stopped and report.remaining:
            self.note_failure()
        return report


__all__ = ["Liveness"]
