"""Who goes next on a reader's serial line: one command at a time, reads and security before polls."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import AsyncIterator

# Who goes first on the line: reading the tags of a stack just placed (its items go to the library system
# as soon as they are read, so the round trips overlap the rest of the reading), then security writes and
# their read-backs, then everything else (the inventory polls).
READ, SECURITY, POLL = 0, 1, 2


class Line:
    """One command on the serial line at a time. Waiters go in priority order (lower first), in arrival
    order within a priority; a waiter cancelled after being handed the line passes it on."""

    def __init__(self) -> None:
        self._busy = False
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    @property
    def waiting(self) -> int:
        return sum(not f.done() for _, _, f in self._waiters)

    @contextlib.asynccontextmanager
    async def hold(self, priority: int = POLL) -> AsyncIterator[None]:
        if self._busy:
            turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            heapq.heappush(self._waiters, (priority, next(self._arrivals), turn))
            try:
                await turn
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled():
                    self._hand_on()  # it was ours already: the next one gets it
                raise
        else:
            self._busy = True
        try:
            yield
        finally:
            self._hand_on()

    def _hand_on(self) -> None:
        while self._waiters:
            _, _, turn = heapq.heappop(self._waiters)
            if not turn.done():
                turn.set_result(None)  # still busy: handed over
                return
        self._busy = False


__all__ = ["POLL", "READ", "SECURITY", "Line"]
