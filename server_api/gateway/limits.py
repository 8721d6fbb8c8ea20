"""Rate limits that hold across every gateway process on one database.

Counts live in `rate_counts`, one row per (scope, key, minute), so two processes behind a load balancer
share one budget. Each limit is a sliding minute, estimated the usual way from two fixed windows: this
minute's count plus last minute's, weighted by the part of last minute still inside the sliding one;
the low limits keep one row per attempt (`rate_events`) and count exactly.

- `Exact` limits (card look-ups, enrollments, staff sign-ins: the ones that stop guessing) count in the
  database on every attempt, in one short transaction; a refused attempt counts too, so hammering on
  does not reopen the door.
- `Batched` limits (every kiosk request: a flood guard) count in memory and add their counts to the
  database once a second, reading back what every process counted for every key of the scope. A
  process sees the others' counts up to a second late, so with N processes a key may overshoot by what
  N - 1 processes let through in that second; the ledger's commits are not slowed by a write per request.
  Its own counts a process never misses: those on their way to the database count until the share that
  carries them is back.

Keys are device ids, card HMACs and client addresses, never a card number in clear.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    delete,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

log = logging.getLogger(__name__)
WINDOW = 60  # seconds
metadata = MetaData()

# Both created by migration g003_rate_limits.
rate_counts = Table(
    "rate_counts",
    metadata,
    Column("scope", String(16), primary_key=True),  # device | card | enroll | staff
    Column("key", String(100), primary_key=True),
    Column("window", Integer, primary_key=True),  # unix time // 60
    Column("count", Integer, nullable=False),
)


rate_events = Table(
    "rate_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scope", String(16), nullable=False),
    Column("key", String(100), nullable=False),
    Column("at", Float, nullable=False),  # unix time
    Index("ix_rate_events_key", "scope", "key", "at"),
)


def _window(now: float) -> tuple[int, float]:
    """This minute's number, and how far into it `now` is (0..1)."""
    return int(now // WINDOW), (now % WINDOW) / WINDOW


def sliding(current: int, previous: int, into: float) -> float:
    return current + previous * (1.0 - into)


class _Counts:
    def __init__(self, engine: Engine, scope: str) -> None:
        self.engine, self.scope = engine, scope

    def _insert(self) -> object:
        return (postgresql if self.engine.dialect.name == "postgresql" else sqlite).insert(rate_counts)

    def add_and_read(self, deltas: dict[str, int], window: int) -> dict[str, tuple[int, int]]:
        """Add `deltas` to this minute's counts; then every key's (this minute, last minute) of the scope."""
        with self.engine.begin() as db:
            if deltas:
                statement = self._insert()
                statement = statement.on_conflict_do_update(  # type: ignore[attr-defined]
                    index_elements=["scope", "key", "window"],
                    set_={"count": rate_counts.c.count + statement.excluded.count},  # type: ignore[attr-defined]
                )
                rows = [
                    {"scope": self.scope, "key": k, "window": window, "count": n} for k, n in deltas.items()
                ]
                db.execute(statement, rows)
            found = db.execute(
                select(rate_counts.c.key, rate_counts.c.window, rate_counts.c.count).where(
                    rate_counts.c.scope == self.scope, rate_counts.c.window.in_([window, window - 1])
                )
            ).all()
        return self._by_key(list({row.key for row in found}), found, window)

    def read(self, key: str, window: int) -> tuple[int, int]:
        with self.engine.connect() as db:
            found = db.execute(self._select([key], window)).all()
        return self._by_key([key], found, window)[key]

    def _select(self, keys: list[str], window: int) -> Select[tuple[str, int, int]]:
        return select(rate_counts.c.key, rate_counts.c.window, rate_counts.c.count).where(
            rate_counts.c.scope == self.scope,
            rate_counts.c.key.in_(keys),
            rate_counts.c.window.in_([window, window - 1]),
        )

    @staticmethod
    def _by_key(keys: list[str], found: Sequence[Any], window: int) -> dict[str, tuple[int, int]]:
        result = dict.fromkeys(keys, (0, 0))
        for key, at, count in found:
            current, previous = result[key]
            result[key] = (count, previous) if at == window else (current, count)
        return result


class Exact:
    """At most `per_minute` attempts per key in any sliding minute, each attempt a row in the database
    (for the low limits that stop guessing: exact, and cheap at their rates)."""

    def __init__(self, engine: Engine, scope: str, per_minute: int, clock: Callable[[], float] = time.time):
        self.engine, self.scope, self.per_minute, self._clock = engine, scope, per_minute, clock

    def allow(self, key: str) -> bool:
        """Blocking (a database write): call it through `storage.run`."""
        now = self._clock()
        mine = (rate_events.c.scope == self.scope) & (rate_events.c.key == key)
        with self.engine.begin() as db:
            db.execute(delete(rate_events).where(mine, rate_events.c.at <= now - WINDOW))
            db.execute(rate_events.insert().values(scope=self.scope, key=key, at=now))
            count = db.execute(select(func.count()).select_from(rate_events).where(mine)).scalar_one()
        return int(count) <= self.per_minute


class Batched:
    """At most `per_minute` requests per key in any sliding minute across processes, give or take what the
    other processes let through in the last second (see the module's docstring). A key seen for the first
    time in a minute is read from the database once."""

    def __init__(self, engine: Engine, scope: str, per_minute: int, clock: Callable[[], float] = time.time):
        self.per_minute, self._clock = per_minute, clock
        self._counts = _Counts(engine, scope)
        self._unsent: Counter[str] = Counter()  # counted here, not yet in the database
        self._sending: Counter[str] = Counter()  # in a flush under way: not yet in `_shared`
        self._shared: dict[str, tuple[int, int, int]] = {}  # key -> (window, this minute, last minute)
        self.on_shared: Callable[[], None] = lambda: None  # after every flush that reached the database

    async def allow(self, key: str) -> bool:
        window, into = _window(self._clock())
        known = self._shared.get(key)
        if known is None or known[0] < window - 1:  # first sight here: what have the others counted?
            current, previous = await asyncio.to_thread(self._counts.read, key, window)
            known = self._shared.get(key)  # a flush that ended meanwhile read it later than we did
            if known is None or known[0] < window - 1:
                self._shared[key] = known = (window, current, previous)
        at, current, previous = known
        if at != window:  # the minute turned since the last flush
            current, previous = 0, current
        mine = self._unsent[key] + self._sending[key]
        if sliding(current + mine, previous, into) >= self.per_minute:
            return False
        self._unsent[key] += 1
        return True

    async def flush(self) -> None:
        """Add what this process counted, and learn what all of them counted this minute and the last
        (the swap happens on the event loop, so no count is lost to a race with `allow`)."""
        if not self._unsent and not self._shared:
            return
        unsent, self._unsent = self._unsent, Counter()
        self._sending.update(unsent)  # still counted by `allow` while the thread writes them
        window, _ = _window(self._clock())
        try:
            shared = await asyncio.to_thread(self._counts.add_and_read, dict(unsent), window)
        except Exception:
            self._unsent.update(unsent)  # counted next time
            raise
        finally:
            self._sending.subtract(unsent)
            self._sending = +self._sending  # drop the keys at zero
        self._shared = {key: (window, current, previous) for key, (current, previous) in shared.items()}
        self.on_shared()

    async def run(self, seconds: float = 1.0) -> None:
        """Flush every `seconds` until cancelled."""
        while True:
            await asyncio.sleep(seconds)
            try:
                await self.flush()
            except Exception:  # the database went away for a moment: the counts wait
                log.warning("rate limit counts could not be shared; trying again", exc_info=True)


class Limits:
    """The gateway's limits, from `[limits]`."""

    def __init__(
        self, engine: Engine, *, device: int, card: int, enroll: int, key: bytes = b"rate-limit-keys"
    ) -> None:
        self.engine = engine
        self.device = Batched(engine, "device", device)
        self.card = Exact(engine, "card", card)
        self.enroll = Exact(engine, "enroll", enroll)
        self._key = hmac.new(key, b"kiosk-rate-limit-cards", hashlib.sha256).digest()
        self._task: asyncio.Task[None] | None = None

    def exact(self, scope: str, per_minute: int) -> Exact:
        """Another exact limit shared across processes (e.g. receipts per card); `scope` at most 16
        characters, distinct from "device", "card" and "enroll"."""
        return Exact(self.engine, scope, per_minute)

    def card_key(self, card: str) -> str:
        """A card as a rate-limit key: an HMAC, so `rate_counts` never holds a card number."""
        normal = card.replace(" ", "").upper().encode()
        return hmac.new(self._key, normal, hashlib.sha256).hexdigest()[:40]

    def start(self) -> None:
        self._task = asyncio.create_task(self.device.run(), name="gateway-rate-limits")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self.device.flush()

    def expire(self, now: float | None = None) -> int:
        """Drop counts older than the last two minutes (they no longer matter)."""
        window, _ = _window(time.time() if now is None else now)
        with self.engine.begin() as db:
            old = int(db.execute(delete(rate_counts).where(rate_counts.c.window < window - 1)).rowcount)
            return old + int(
                db.execute(delete(rate_events).where(rate_events.c.at < window * WINDOW)).rowcount
            )


__all__ = ["Batched", "Exact", "Limits", "rate_counts", "rate_events", "sliding"]
