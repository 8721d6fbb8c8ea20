"""Pools of logged-in SIP2 connections, keyed by SIP2 account.

Rules:
- The library system takes a transaction's branch from the login, so a pool belongs to one account
  (host, port, user, location, institution): a branch's transactions never travel through another branch's
  connections. `Sip2Pools` hands out one pool per account key; asking again with the same key returns the
  same pool, asking with the same key but different settings (another password, charset, TLS) is refused.
- Between `min_size` and `max_size` connections per pool; each serves one request at a time. A caller
  takes an idle connection, or opens a new one while below the limit, or waits for one to come free; it
  is served by whichever comes first, so a slow login never holds up a request another connection can take.
- A server with fewer workers than our `max_size` leaves the extra connections unserved (their login
  times out). The pool then degrades to the connections that work and tries the others again after
  `pool_retry_interval`. A connection refused or closed while others work (a network cut) is not counted
  as unserved, and the full size is tried again after `FAILED_RETRY`. Only when no connection works at
  all does the caller get the error.
- A connection is handed out only when it is healthy (connected, not closed by the ACS) — or fresh and
  logged in. A connection whose request failed is closed and thrown away, never handed out again; its
  slot is refilled by a new connection on demand.
- A server that refuses a login while others of the same account work (a 94 with ok=0: a limit of
  sessions per account) is treated like one without workers: the pool keeps what works and asks again
  after `pool_retry_interval` (not every second).
- A server that answers slowly while several requests are out at once (longer than half the timeout) is
  overloaded, and more connections make it worse: the pool halves the number it uses (never below one),
  closes the extra ones as they come back, and grows again after `pool_retry_interval`, doubling each
  time up to `max_size` (issue 17).
- A connection above `min_size` left idle for `pool_idle_close` seconds is closed (the least recently used
  first): a stack grows the pool to its ceiling, and each connection can be a process on the library
  system's side (Koha, Evergreen), held by every kiosk of a consortium all night otherwise.
- `report()` says how many connections work (for `kiosk sip2 probe`); `fill()` opens all it may and
  reports. Growing the pool later (issue 17: up to the stack size, under a ceiling) is a new `max_size`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass

from .client import Sip2Client, Sip2Settings
from .conversation import Reply
from .errors import Sip2ConnectFailed, Sip2LoginRefused, Sip2Timeout
from .messages import AcsStatus, Message

log = logging.getLogger(__name__)

FAILED_RETRY = 1.0  # seconds before another connection is tried after one failed while others work


@dataclass(frozen=True)
class AccountKey:
    host: str
    port: int
    user: str
    location: str
    institution: str

    @classmethod
    def of(cls, settings: Sip2Settings) -> AccountKey:
        return cls(settings.host, settings.port, settings.user, settings.location, settings.institution)

    def __str__(self) -> str:
        return f"{self.user}@{self.host}:{self.port} (location {self.location or '-'})"


@dataclass(frozen=True)
class PoolReport:
    """How big a pool is and how big it can be (what the probe prints)."""

    min_size: int
    max_size: int
    working: int  # logged-in connections now
    limit: int  # connections the pool uses now: max_size, or fewer while the server leaves some unserved
    unserved: int  # connection attempts that failed while others worked (timed out or refused)
    last_error: str = ""
    refused: int = 0  # of those, logins the server refused (a limit of sessions per account)
    slow: int = 0  # times the pool shrank because replies came slowly with several out at once

    @property
    def degraded(self) -> bool:
        return self.limit < self.max_size


class Sip2Pool:
    """`min_size`..`max_size` logged-in connections for one SIP2 account."""

    def __init__(
        self, settings: Sip2Settings, size: int | None = None, *, min_size: int | None = None
    ) -> None:
        self.settings = settings
        self.key = AccountKey.of(settings)
        self.max_size = size or settings.pool_size
        self.min_size = min(min_size or settings.pool_min_size, self.max_size)
        self._limit = self.max_size
        self._retry_at = 0.0  # when to try the full size again after a connection failed while others worked
        self._shrunk_at = float("-inf")  # when slow replies last shrank the pool
        self._idle: list[Sip2Client] = []  # least recently used first
        self._idle_since: dict[Sip2Client, float] = {}  # loop time each idle connection came back
        self._trim_timer: asyncio.TimerHandle | None = None
        self._trim_task: asyncio.Task[None] | None = None  # held: the loop keeps only weak references
        self._busy: set[Sip2Client] = set()
        self._connecting: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Condition()
        self._closed = False
        self._last_error: Exception | None = None
        self.created = 0  # connections made (a replaced one counts again)
        self.discarded = 0  # broken connections thrown away
        self.unserved = 0  # connections the server did not serve while others worked
        self.refused = 0  # of those, logins refused (94 with ok=0)
        self.slow = 0  # shrinks for slow replies under concurrency
        self.trimmed = 0  # idle connections above min_size closed after pool_idle_close
        self.acs_status: AcsStatus | None = None  # from the most recent login of any connection

    @property
    def size(self) -> int:
        return self.max_size

    @property
    def open_connections(self) -> int:
        return len(self._idle) + len(self._busy)

    def report(self) -> PoolReport:
        error = self._last_error
        return PoolReport(
            self.min_size,
            self.max_size,
            self.open_connections,
            self._limit,
            self.unserved,
            f"{type(error).__name__}: {error}" if error else "",
            self.refused,
            self.slow,
        )

    async def fill(self) -> PoolReport:
        """Open every connection the pool may have (at most `max_size`), wait for their logins, report."""
        async with self._changed:
            while self.open_connections + len(self._connecting) < self._limit:
                self._start_connecting()
        await asyncio.gather(*self._connecting, return_exceptions=True)
        return self.report()

    async def warm(self) -> None:
        """Open connections up to `min_size` (in the background)."""
        async with self._changed:
            while self.open_connections + len(self._connecting) < min(self.min_size, self._limit):
                self._start_connecting()

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Sip2Client]:
        """A healthy, logged-in connection for one or more requests. If a request on it fails, the
        connection is discarded on the way out."""
        client = await self._acquire()
        try:
            yield client
        except BaseException:
            await self._release(client, broken=True)
            raise
        await self._release(client, broken=False)

    async def request(self, message: Message) -> Message:
        return (await self.exchange(message)).message

    async def exchange(self, message: Message) -> Reply:
        async with self.connection() as client:
            loop = asyncio.get_running_loop()
            started, together = loop.time(), len(self._busy)
            reply = await client.exchange(message)
            self._note_reply_time(started, loop.time() - started, together)
            if client.acs_status is not None:
                self.acs_status = client.acs_status
            return reply

    async def close(self) -> None:
        self._closed = True
        if self._trim_timer is not None:
            self._trim_timer.cancel()
        for task in list(self._connecting):
            task.cancel()
        await asyncio.gather(*self._connecting, return_exceptions=True)
        clients = [*self._idle, *self._busy]
        self._idle.clear()
        self._idle_since.clear()
        for client in clients:
            await client.close()
        async with self._changed:
            self._changed.notify_all()

    # -- internals -------------------------------------------------------------------------------------

    async def _acquire(self) -> Sip2Client:
        async with self._changed:
            waited = False
            while True:
                if self._closed:
                    raise RuntimeError(f"SIP2 pool for {self.key} is closed")
                while self._idle:
                    client = self._take_idle(-1)  # most recently used first: the warmest connection
                    if client.healthy:
                        self._busy.add(client)
                        return client
                    await self._discard(client)
                if waited and not self._busy and not self._connecting and self._last_error is not None:
                    error = self._last_error
                    raise type(error)(str(error))  # no connection works: nothing was sent
                self._grow()
                waited = True
                await self._changed.wait()

    async def _release(self, client: Sip2Client, *, broken: bool) -> None:
        async with self._changed:
            self._busy.discard(client)
            if broken or not client.healthy or self._closed:
                await self._discard(client)
            elif self.open_connections >= self._limit:  # the pool shrank meanwhile: one fewer
                await client.close()
            else:
                self._idle.append(client)
                self._idle_since[client] = asyncio.get_running_loop().time()
                self._trim_later()
            while self._idle and self.open_connections > self._limit:
                await self._take_idle(0).close()  # the least recently used go first
            self._changed.notify_all()

    def _take_idle(self, index: int) -> Sip2Client:
        client = self._idle.pop(index)
        self._idle_since.pop(client, None)
        return client

    def _trim_later(self, delay: float | None = None) -> None:
        """Make sure a trim is due when the oldest idle connection above `min_size` has idled enough."""
        if self._trim_timer is None and self.open_connections > self.min_size and not self._closed:
            self._trim_timer = asyncio.get_running_loop().call_later(
                self.settings.pool_idle_close if delay is None else delay, self._start_trim
            )

    def _start_trim(self) -> None:
        self._trim_task = asyncio.get_running_loop().create_task(self._trim_idle())

    async def _trim_idle(self) -> None:
        """Close idle connections above `min_size` idle for `pool_idle_close`, least recently used first."""
        async with self._changed:
            self._trim_timer = None
            now = asyncio.get_running_loop().time()
            while self._idle and self.open_connections > self.min_size and not self._closed:
                oldest = self._idle[0]
                due = self._idle_since.get(oldest, now) + self.settings.pool_idle_close
                if now < due:
                    self._trim_later(due - now)
                    return
                self._take_idle(0)
                self.trimmed += 1
                await oldest.close()

    def _grow(self) -> None:
        """Start one more connection if the pool is below its limit (after a retry interval, the limit
        goes back up to `max_size`: the server may have workers free again)."""
        now = asyncio.get_running_loop().time()
        if self._limit < self.max_size and now >= self._retry_at:
            self._limit = min(self.max_size, 2 * self._limit)
            self._retry_at = now + self.settings.pool_retry_interval  # the next doubling, if still short
        if self.open_connections + len(self._connecting) < self._limit:
            self._start_connecting()

    def _start_connecting(self) -> None:
        task = asyncio.get_running_loop().create_task(self._connect_one())
        self._connecting.add(task)

    async def _connect_one(self) -> None:
        client = Sip2Client(self.settings)
        self.created += 1
        error: Exception | None = None
        try:
            await client.connect()  # raises CirculationUnavailable: nothing handed out
        except Exception as exc:
            error = exc
        async with self._changed:
            if (task := asyncio.current_task()) is not None:
                self._connecting.discard(task)
            if error is None and not self._closed:
                self.acs_status = client.acs_status
                self._last_error = None
                self._idle.append(client)
                self._idle_since[client] = asyncio.get_running_loop().time()
                self._trim_later()
            elif error is not None:
                self._note_failure(error)
            self._changed.notify_all()
        if error is not None or self._closed:
            await client.close()

    def _note_failure(self, error: Exception) -> None:
        self._last_error = error
        working = self.open_connections + len(self._connecting)
        if working == 0:
            return  # nothing works: the waiting callers get the error
        now = asyncio.get_running_loop().time()
        self._limit = working
        if not _unserved(error):  # refused, closed, TLS: the network or the server, not its workers
            self._retry_at = now + min(FAILED_RETRY, self.settings.pool_retry_interval)
            log.info("SIP2 pool %s: a connection failed (%s); working with %d", self.key, error, working)
            return
        self.unserved += 1
        self.refused += isinstance(error, Sip2LoginRefused) and error.__cause__ is None
        self._retry_at = now + self.settings.pool_retry_interval
        log.warning(
            "SIP2 pool %s: a connection was not served (%s); working with %d of %d, trying again in %gs",
            self.key,
            error,
            working,
            self.max_size,
            self.settings.pool_retry_interval,
        )

    def _note_reply_time(self, started: float, seconds: float, together: int) -> None:
        """A reply slower than half the timeout while others were out too: the server is overloaded.
        One wave of slow replies shrinks the pool once (requests sent before a shrink do not count)."""
        if together < 2 or seconds <= self.settings.timeout / 2 or self._limit <= 1:
            return
        if started < self._shrunk_at:
            return
        now = asyncio.get_running_loop().time()
        self._limit = max(1, math.ceil(min(together, self._limit) / 2))
        self._shrunk_at = now
        self._retry_at = now + self.settings.pool_retry_interval
        self.slow += 1
        log.warning(
            "SIP2 pool %s: a reply took %.1fs with %d requests out; using %d connections, trying more in %gs",
            self.key,
            seconds,
            together,
            self._limit,
            self.settings.pool_retry_interval,
        )

    async def _discard(self, client: Sip2Client) -> None:
        self._busy.discard(client)
        self.discarded += 1
        await client.close()


def _unserved(error: Exception) -> bool:
    """A connection the server accepted but did not serve: its connect or login timed out (a server with
    fewer workers than connections) or its login was refused while others of the account work (a limit
    of sessions per account), as opposed to one refused or closed by the network."""
    cause = error.__cause__
    if isinstance(error, Sip2LoginRefused):
        return cause is None or isinstance(cause, Sip2Timeout)  # refused outright, or no answer in time
    return isinstance(error, Sip2ConnectFailed) and isinstance(cause, TimeoutError)


class Sip2Pools:
    """One `Sip2Pool` per SIP2 account (the gateway's view of a consortium)."""

    def __init__(self, size: int | None = None) -> None:
        self.size = size
        self._pools: dict[AccountKey, Sip2Pool] = {}

    def pool(self, settings: Sip2Settings) -> Sip2Pool:
        key = AccountKey.of(settings)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = Sip2Pool(settings, self.size)
        elif pool.settings != settings:
            raise ValueError(f"SIP2 account {key} is already pooled with other settings")
        return pool

    def __len__(self) -> int:
        return len(self._pools)

    async def close(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        await asyncio.gather(*(p.close() for p in pools))


__all__ = ["AccountKey", "PoolReport", "Sip2Pool", "Sip2Pools"]
