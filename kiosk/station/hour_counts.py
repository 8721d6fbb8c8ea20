"""What only the kiosk knows about each hour, for the consortium's statistics: patron sessions by language,
minutes offline, the loans and returns it took offline, and what it refused offline by its own offline
rules (a card it cannot vouch for, a limit reached, a renewal that must wait): the gateway counts the rest
itself as it carries them out, and an offline loan again, labelled offline, when the journal replays it.
An offline refusal is counted once per session and card (the menu's notice) or item (its row), whatever
how often the screen is drawn again.

Counts only, never a patron, card or item. Hours are the library's local time, like the journal's, so the
kiosk's hours line up with the loans the gateway counts from the journal's transaction times.

The counts are totals of an hour so far: the heartbeat carries every hour not yet taken (the current one
always), and the gateway replaces what it has for that kiosk and hour, so a heartbeat sent twice counts
once. They are kept beside the journal (`<journal>.hours.json`, 0600) so a restart neither loses nor
doubles them; an hour the gateway took is dropped once it is over.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from kiosk.core import Operation, RowState, ScreenName
from kiosk.files import write_atomically
from kiosk.station.observations import Circulated, NetworkChanged, Observation, ScreenShown
from server_api.gateway.wire import HourStatistics

log = logging.getLogger(__name__)
HOUR = timedelta(hours=1)
# The families of words that say the station refused offline: the menu's card notices
# ("menu.offline_card_not_known", ...), an item row's ("refusal.offline_limit", "renew.offline").
OFFLINE_REFUSAL_FAMILIES = ("menu", "refusal", "renew")
KEEP_HOURS = 48  # a kiosk silent for longer sends the last two days (the heartbeat's limit)


def hour_of(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


@dataclass
class Hour:
    languages: Counter[str] = field(default_factory=Counter)
    offline_seconds: float = 0.0
    offline_loans: int = 0
    offline_returns: int = 0
    offline_refusals: Counter[str] = field(default_factory=Counter)  # by reason ("offline_limit", ...)

    def as_json(self) -> dict[str, Any]:
        return {
            "languages": dict(self.languages),
            "offline_seconds": self.offline_seconds,
            "offline_loans": self.offline_loans,
            "offline_returns": self.offline_returns,
            "offline_refusals": dict(self.offline_refusals),
        }

    @classmethod
    def of(cls, data: dict[str, Any]) -> Hour:
        return cls(
            Counter({str(k): int(v) for k, v in data.get("languages", {}).items()}),
            float(data.get("offline_seconds", 0.0)),
            int(data.get("offline_loans", 0)),
            int(data.get("offline_returns", 0)),
            Counter({str(k): int(v) for k, v in data.get("offline_refusals", {}).items()}),
        )


class HourCounts:
    """An observer of the station: counts per hour, reported with the heartbeat."""

    def __init__(self, path: Path, clock: Callable[[], datetime], *, online: bool = True) -> None:
        self.path, self._clock = path, clock
        self.hours: dict[datetime, Hour] = self._load()
        self._offline_since: datetime | None = None if online else clock()
        self._in_session = False
        self._language = ""
        self._refused: set[tuple[str, str]] = set()  # (item or "card", reason) counted in this session
        self._reported: dict[datetime, dict[str, Any]] = {}

    def observe(self, observation: Observation) -> None:
        now = self._clock()
        if isinstance(observation, ScreenShown):
            self._screen(observation, now)
        elif isinstance(observation, NetworkChanged):
            if not observation.online and self._offline_since is None:
                self._offline_since = now
            elif observation.online and self._offline_since is not None:
                self._add_offline(self._offline_since, now)
                self._offline_since = None
        elif isinstance(observation, Circulated) and observation.offline and observation.ok:
            hour = self._hour(now)
            if observation.operation is Operation.CHECKOUT:
                hour.offline_loans += 1
            elif observation.operation is Operation.CHECKIN:
                hour.offline_returns += 1

    def _screen(self, shown: ScreenShown, now: datetime) -> None:
        """A session is counted once, in the language it ended in, when the welcome screen comes back."""
        if shown.screen.name is ScreenName.WELCOME:
            if self._in_session and self._language:
                self._hour(now).languages[self._language] += 1
            self._in_session, self._refused = False, set()
        else:
            self._in_session, self._language = True, shown.screen.language
            self._offline_refusals(shown, now)

    def _offline_refusals(self, shown: ScreenShown, now: datetime) -> None:
        """What the station refused by its offline rules, as the patron was told: the menu's notice for the
        card, a row's words for an item."""
        screen = shown.screen
        told = [("card", screen.message.key)] if screen.message is not None else []
        told += [(row.item_id, row.text.key) for row in screen.rows if row.state is RowState.REFUSED]
        for subject, key in told:
            family, _, reason = key.partition(".")
            if family not in OFFLINE_REFUSAL_FAMILIES or not reason.startswith("offline"):
                continue
            reason = "offline_renewal" if family == "renew" else reason  # "renew.offline": renewals wait
            if (subject, reason) not in self._refused:
                self._refused.add((subject, reason))
                self._hour(now).offline_refusals[reason] += 1

    def _hour(self, at: datetime) -> Hour:
        return self.hours.setdefault(hour_of(at), Hour())

    def _add_offline(self, start: datetime, end: datetime) -> None:
        """Seconds offline between `start` and `end`, split at the hours."""
        while start < end:
            cut = min(end, hour_of(start) + HOUR)
            self._hour(start).offline_seconds += (cut - start).total_seconds()
            start = cut

    def reports(self) -> list[HourStatistics]:
        """Every hour kept, the current one included, with offline time up to now."""
        now = self._clock()
        if self._offline_since is not None:  # still offline: count up to now, and go on from here
            self._add_offline(self._offline_since, now)
            self._offline_since = now
        self._hour(now)
        newest = sorted(self.hours)[-KEEP_HOURS:]
        self._reported = {at: self.hours[at].as_json() for at in newest}
        return [
            HourStatistics(
                hour=at,
                offline_minutes=round(min(60.0, self.hours[at].offline_seconds / 60), 2),
                languages={k[:16]: v for k, v in self.hours[at].languages.items()},
                offline_loans=self.hours[at].offline_loans,
                offline_returns=self.hours[at].offline_returns,
                offline_refusals=dict(self.hours[at].offline_refusals),
            )
            for at in newest
        ]

    def taken(self, reports: list[HourStatistics]) -> None:
        """The gateway took `reports`: hours that are over are done with."""
        current = hour_of(self._clock())
        for report in reports:
            hour = self.hours.get(report.hour)
            # Over, and unchanged since it was reported (a count that came meanwhile goes next time).
            if (
                hour is not None
                and report.hour < current
                and hour.as_json() == self._reported.get(report.hour)
            ):
                del self.hours[report.hour]
        self.save()

    def save(self) -> None:
        """Owner-only and atomic (counts only; the journal's folder is the kiosk user's)."""
        data = {at.isoformat(): hour.as_json() for at, hour in self.hours.items()}
        write_atomically(self.path, json.dumps(data))

    def _load(self) -> dict[datetime, Hour]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return {datetime.fromisoformat(at): Hour.of(hour) for at, hour in data.items()}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, TypeError, AttributeError) as error:
            log.warning("hour statistics in %s cannot be read (%s): counting afresh", self.path, error)
            return {}


def hours_path(journal_path: Path) -> Path:
    return journal_path.with_name(journal_path.name + ".hours.json")


__all__ = ["HourCounts", "hours_path"]
