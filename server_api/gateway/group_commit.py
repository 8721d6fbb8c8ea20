"""Group commit for the ledger (server_api/gateway/ledger.py): claims and settlements that arrive while a
commit is under way share the next one. One writer task per process; each caller's future is answered only
after the commit that holds its rows, and a failed commit fails every caller in it (none is told its claim
or outcome is kept).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .ledger import Claim, Ledger, Settlement


class GroupWriter:
    """Group commit of claims and settlements: whatever arrives while a commit is under way goes into the
    next one together, so concurrent stacks and kiosks share commits (SQLite has one writer at a time;
    queuing here is cheaper than its busy-wait). A claim is answered, and a settlement returns, only after
    the commit that holds it."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._claims: list[tuple[list[dict[str, Any]], asyncio.Future[list[Claim]]]] = []
        self._settlements: list[tuple[Settlement, asyncio.Future[None]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def claim_many(self, rows: list[dict[str, Any]]) -> list[Claim]:
        done: asyncio.Future[list[Claim]] = asyncio.get_running_loop().create_future()
        self._claims.append((rows, done))
        self._kick()
        return await asyncio.shield(done)

    async def settle(self, settlement: Settlement) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._settlements.append((settlement, done))
        self._kick()
        await asyncio.shield(done)

    def _kick(self) -> None:
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        while self._claims or self._settlements:
            claims, self._claims = self._claims, []
            settlements, self._settlements = self._settlements, []
            try:
                results = await asyncio.to_thread(
                    self.ledger.write_batch, [rows for rows, _ in claims], [item for item, _ in settlements]
                )
            except Exception as exc:  # every caller hears it; none is told its claim or outcome is kept
                waiting: list[asyncio.Future[Any]] = [f for _, f in claims] + [f for _, f in settlements]
                for future in waiting:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, claimed), result in zip(claims, results, strict=True):
                if not claimed.done():
                    claimed.set_result(result)
            for _, settled in settlements:
                if not settled.done():
                    settled.set_result(None)


__all__ = ["GroupWriter"]
