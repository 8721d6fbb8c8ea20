"""The station's reports to the gateway, and what it fetches from it, in one small background loop.

Every `heartbeat_interval` seconds a heartbeat (`POST /v1/heartbeats`): the reader (from the observations
the station makes anyway) and the printer (the status the station already polls, `Printing.printer_status`:
asking the printer again here would put a second poll on its port), the journal's depth, its oldest
unconfirmed entry and its conflicts, whether the clock is synchronised, the kiosk's version, the round
trip of a ping through the gateway to the library system, and online or offline; and the hour counts
only the kiosk knows (`kiosk.station.hour_counts`: sessions by language, minutes offline, loans and
returns taken offline). No patron data.

At start and every `refresh_seconds` the gateway names: the offline data (`GET /v1/offline-data`),
stored beside the journal, laid over the session's card book and its policy over the session's offline
rules (`kiosk.station.central_cards`).

A gateway that cannot be reached costs nothing here: the heartbeat is skipped (the gateway sees the
kiosk fall silent), and the last offline data stays in force. None of it counts towards going offline:
that is for the patrons' requests to decide (`kiosk.station.liveness`).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.journal import Journal
from kiosk.station.central_cards import (
    CentralCardBook,
    CentralLists,
    CentralPolicy,
    load_stored,
    store,
    stored_path,
)
from kiosk.station.device_observations import ReaderHealth
from kiosk.station.gateway import GatewayLink
from kiosk.station.hour_counts import HourCounts, hours_path
from kiosk.station.liveness import Liveness
from kiosk.station.observations import Observation
from kiosk.station.tasks import Shell, report_fault
from server_api.circulation import CirculationError
from server_api.gateway.wire import Heartbeat

if TYPE_CHECKING:
    from kiosk.station.station import Station

log = logging.getLogger(__name__)


def _version() -> str:
    try:
        return importlib.metadata.version("library-kiosk")
    except importlib.metadata.PackageNotFoundError:
        return ""


def _utc(local: datetime) -> datetime:
    """A journal time (the library's local time, naive) as UTC for the gateway."""
    return local.astimezone(UTC)


class GatewayReports:
    def __init__(
        self,
        shell: Shell,
        link: GatewayLink,
        journal: Journal,
        liveness: Liveness,
        printer_status: Callable[[], str],
        cards: CentralCardBook,
        *,
        clock_synchronised: Callable[[], bool],
    ) -> None:
        self._shell, self._link, self._journal, self._liveness = shell, link, journal, liveness
        self._printer_status = printer_status  # the station's own poll (Station.status().printer)
        self._cards, self._clock_synchronised = cards, clock_synchronised
        self.interval = link.heartbeat_interval
        self.reader = "ok"
        self.beats = 0  # heartbeats the gateway took
        self.config_version: Callable[[], str] = lambda: ""  # the console's settings run (console_link)
        self._stored = stored_path(Path(journal.path))
        self._refresh_at = 0.0  # monotonic time of the next offline-data fetch
        cards.lists = cards.lists or load_stored(self._stored)
        self.policy: CentralPolicy | None = None  # the library's offline rules (set by gateway_reports)
        self.hours = HourCounts(hours_path(Path(journal.path)), shell.clock, online=liveness.online)

    def observe(self, observation: Observation) -> None:
        """The station's observations say how the devices are (added as an observer)."""
        if isinstance(observation, ReaderHealth):
            self.reader = "ok" if observation.ok else "error"
        self.hours.observe(observation)

    async def run(self) -> None:
        while True:
            try:
                if time.monotonic() >= self._refresh_at:
                    await self.refresh()
                if self.policy is not None:
                    self.policy.apply(self._cards.lists)
                await self.beat()
            except CirculationError as error:
                log.info("gateway report skipped: %s", error)
            except Exception as error:  # a bug must not end the loop
                report_fault(self._shell, error)
            await asyncio.sleep(self.interval)

    async def refresh(self) -> CentralLists:
        """Fetch the offline data now, keep it beside the journal and give it to the session."""
        data = await self._link.client.offline_data()
        self._cards.lists = lists = CentralLists.of(data, previous=self._cards.lists)
        await asyncio.to_thread(store, self._stored, lists.data)  # with the card rules in use
        self._refresh_at = time.monotonic() + max(data.refresh_seconds, 30)
        return lists

    async def beat(self) -> Heartbeat:
        beat = await self.heartbeat()
        await asyncio.to_thread(self.hours.save)  # kept, whether the gateway takes them now or later
        await self._link.client.heartbeat(beat)
        self.beats += 1
        await asyncio.to_thread(self.hours.taken, beat.hours)
        return beat

    async def heartbeat(self) -> Heartbeat:
        """What the kiosk reports now (no patron data)."""
        pending = await asyncio.to_thread(self._journal.unsettled)
        conflicts = len(await asyncio.to_thread(self._journal.conflicts))
        return Heartbeat(
            sent_at=datetime.now(UTC),
            online=self._liveness.online,
            reader=self.reader,
            printer=self._printer_status(),
            journal_depth=len(pending),
            oldest_pending_at=_utc(min(e.at for e in pending)) if pending else None,
            conflicts=conflicts,
            clock_synchronised=self._clock_synchronised(),
            version=_version(),
            config_version=self.config_version(),
            sip2_rtt_ms=await self._round_trip(),
            hours=self.hours.reports(),
        )

    async def _round_trip(self) -> float | None:
        """A ping through the gateway to the library system (SIP2 99), in milliseconds."""
        started = time.perf_counter()
        try:
            await self._link.ping()
        except CirculationError:
            return None
        return round((time.perf_counter() - started) * 1000, 1)


def gateway_reports(
    shell: Shell, station: Station, clock_synchronised: Callable[[], bool]
) -> GatewayReports | None:
    """For a station whose circulation is a `GatewayLink`: its reports, observing the station, and the
    session's card book with the consortium's lists laid over it. None for SIP2-direct."""
    link = station.circulation
    if not isinstance(link, GatewayLink):
        return None
    cards = CentralCardBook(station.session.identity.cards)
    station.session.identity.cards = cards
    reports = GatewayReports(
        shell, link, station.journal, station.liveness, lambda: station.printing.printer_status.value, cards,
        clock_synchronised=clock_synchronised,
    )  # fmt: skip
    station.add_observer(reports.observe)
    reports.policy = CentralPolicy(station)
    reports.policy.apply(cards.lists)  # the one stored last time, before the first patron
    return reports


__all__ = ["GatewayReports", "gateway_reports"]
