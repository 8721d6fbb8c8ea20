"""The station's heartbeat: a `Tick` for the session every `tick_interval` (idle timeouts), and the
journal's upkeep on the same beat.

What rides along in the journal (outcomes, security notes) is committed when a patron session ends, after
a quiet spell with no session, and at stop; finished entries are purged at start and once a day. The
policy of when is `kiosk.journal.JournalUpkeep`'s; this runs it off the event loop (each commit waits for
an fsync) and reports trouble instead of raising: nothing is lost, since a record is committed before it
is sent and an outcome not written is reconciled with the library system after a restart.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta

from kiosk.core import Tick
from kiosk.journal import Journal, JournalUpkeep
from kiosk.station.observations import JournalPurged
from kiosk.station.settings import StationSettings
from kiosk.station.tasks import Shell, report_fault

log = logging.getLogger(__name__)


class Heartbeat:
    def __init__(
        self, shell: Shell, journal: Journal, settings: StationSettings, *, session_active: Callable[[], bool]
    ) -> None:
        self._shell = shell
        days = settings.purge_after_days
        self.upkeep = JournalUpkeep(
            journal,
            quiet=settings.timing.journal_quiet,
            purge_after=timedelta(days=days) if days is not None else None,
        )
        self.tick_interval = settings.timing.tick_interval
        self._session_active = session_active

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.tick_interval)
            try:
                self._shell.feed(Tick(self._shell.clock()))
                await self.journal_upkeep()
            except Exception as error:  # a bug must not end the loop: idle sessions would never end
                report_fault(self._shell, error)

    async def journal_upkeep(self) -> None:
        """Every tick: commit what rides along after a quiet spell with no session; purge once a day."""
        now = self._shell.clock()
        if self.upkeep.flush_due(now, session_active=self._session_active()):
            await self.flush()
        if self.upkeep.purge_due(now):
            await self.purge(now)

    async def flush(self) -> None:
        try:
            await asyncio.to_thread(self.upkeep.flush)
        except (OSError, sqlite3.Error) as error:
            log.error("journal flush failed: %s", error)

    async def purge(self, now: datetime) -> None:
        try:
            purged = await asyncio.to_thread(self.upkeep.purge, now)
        except (OSError, sqlite3.Error) as error:
            log.error("journal purge failed: %s", error)
            return
        if purged:
            self._shell.observe(JournalPurged(purged))


__all__ = ["Heartbeat"]
