"""Pools of logged-in SIP2 connections, keyed by SIP2 account.

Rules:
- The library system takes a transaction's branch from the login, so a pool belongs to one account
  (host, port, user, location, institution): a branch's transactions never travel through another branch's
  connections. `Sip2Pools` hands out one pool per account key; asking again with the same key returns the
  same pool, asking with the same key but different settings (another password, charset, TLS) is refused.
- At most `size` connections per pool; each serves one request at a time. Callers beyond that wait.
- A connection is handed out only when it is healthy (connected, not closed by the ACS) — or fresh and
  logged in. A connection whose request failed is closed and thrown away, never handed out again; its
  slot is refilled by a new connection on demand.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from .client import Sip2Client, Sip2Settings
from .messages import AcsStatus, Message


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


class Sip2Pool:
    """Up to `size` logged-in connections for one SIP2 account."""

    def __init__(self, settings: Sip2Settings, size: int | None = None) -> None:
        self.settings = settings
        self.key = AccountKey.of(settings)
        self.size = size or settings.pool_size
        self._slots = asyncio.Semaphore(self.size)
        self._idle: list[Sip2Client] = []
        self._busy: set[Sip2Client] = set()
        self._closed = False
        self.created = 0  # connections made (a replaced one counts again)
        self.discarded = 0  # broken connections thrown away
        self.acs_status: AcsStatus | None = None  # from the most recent login of any connection

    @property
    def open_connections(self) -> int:
        return len(self._idle) + len(self._busy)

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Sip2Client]:
        """A healthy, logged-in connection for one or more requests. If a request on it fails, the
        connection is discarded on the way out."""
        if self._closed:
            raise RuntimeError(f"SIP2 pool for {self.key} is closed")
        await self._slots.acquire()
        client: Sip2Client | None = None
        try:
            client = await self._take()
            self._busy.add(client)
            try:
                yield client
            except BaseException:
                await self._discard(client)
                client = None
                raise
        finally:
            if client is not None:
                self._busy.discard(client)
                if client.healthy and not self._closed:
                    self._idle.append(client)
                else:
                    await self._discard(client)
            self._slots.release()

    async def request(self, message: Message) -> Message:
        async with self.connection() as client:
            reply = await client.request(message)
            if client.acs_status is not None:
                self.acs_status = client.acs_status
            return reply

    async def close(self) -> None:
        self._closed = True
        clients = [*self._idle, *self._busy]
        self._idle.clear()
        for client in clients:
            await client.close()

    async def _take(self) -> Sip2Client:
        while self._idle:
            client = self._idle.pop()  # most recently used first: the warmest connection
            if client.healthy:
                return client
            await self._discard(client)
        client = Sip2Client(self.settings)
        self.created += 1
        await client.connect()  # raises CirculationUnavailable: nothing handed out, slot released
        self.acs_status = client.acs_status
        return client

    async def _discard(self, client: Sip2Client) -> None:
        self._busy.discard(client)
        self.discarded += 1
        await client.close()


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


__all__ = ["AccountKey", "Sip2Pool", "Sip2Pools"]
