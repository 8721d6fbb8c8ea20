"""A TCP proxy that misbehaves on purpose: the network between a kiosk and its library system.

It forwards bytes between a listening port on loopback and the real service, and can, on command or
by a seeded random plan:
- be cut (connections refused: accepted and closed at once, like a dead mobile link),
- drop a connection after a request went out (the reply is lost, the action may have happened),
- swallow replies (the connection stays up but nothing comes back),
- delay replies,
- corrupt a reply's checksum (the reply to a request, never the one resent after a 97: a noisy line
  that the 97 resend recovers from).

Used by the demo's "cut the network" switch, the bookmobile scenario and the network-fault tests. It is
a real socket in between, so the client's timeouts, reconnects and reconciliation are exercised for real.

`in_flight` holds, per connection, the request whose reply has not been passed back yet, and
`watch` (if set) is called whenever it changes: what the library system had to answer at once, for tests
and benches that count concurrent requests rather than time them.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType


@dataclass
class FaultPlan:
    """Chances per reply, drawn from a seeded generator so a failing run can be repeated."""

    drop_connection: float = 0.0  # close both sides instead of passing the reply on
    swallow_reply: float = 0.0  # keep the connection, never send the reply
    delay_reply: float = 0.0
    delay_seconds: float = 0.5
    corrupt_reply: float = 0.0  # flip a checksum digit of the reply (not of one resent after a 97)


class FaultyLink:
    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        plan: FaultPlan | None = None,
        seed: int = 0,
    ) -> None:
        self.target = (target_host, target_port)
        self.host = host
        self.port = port
        self.plan = plan or FaultPlan()
        self.random = random.Random(seed)
        self.cut = False
        self.stats = {
            "connections": 0,
            "refused": 0,
            "dropped": 0,
            "swallowed": 0,
            "delayed": 0,
            "corrupted": 0,
            "replies": 0,
        }
        self.in_flight: dict[int, bytes] = {}  # connection -> its request still waiting for a reply
        self.watch: Callable[[dict[int, bytes]], None] | None = None
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def __aenter__(self) -> FaultyLink:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.close()
        self.sever()
        for task in list(self._pipes):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    def set_cut(self, cut: bool) -> None:
        """Cut the link (and every open connection) or restore it."""
        self.cut = cut
        if cut:
            self.sever()

    def sever(self) -> None:
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.stats["connections"] += 1
        if self.cut:
            self.stats["refused"] += 1
            client_writer.close()
            return
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.close()
            return
        self._writers.update((client_writer, server_writer))
        last_request = bytearray()  # of this connection: a reply to a 97 is never corrupted
        upstream = asyncio.create_task(self._pipe(client_reader, server_writer, last_request, replies=False))
        downstream = asyncio.create_task(self._pipe(server_reader, client_writer, last_request, replies=True))
        self._pipes.update((upstream, downstream))
        await asyncio.wait({upstream, downstream}, return_when=asyncio.FIRST_COMPLETED)
        self._in_flight(id(last_request), None)  # a dropped connection's request is answered by nobody
        for task in (upstream, downstream):
            task.cancel()
            self._pipes.discard(task)
        for writer in (client_writer, server_writer):
            writer.close()
            self._writers.discard(writer)

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        last_request: bytearray,
        *,
        replies: bool,
    ) -> None:
        while True:
            data = await reader.read(65536)
            if not data or self.cut:
                return
            if not replies:
                last_request[:] = data
                self._in_flight(id(last_request), bytes(data))
            else:
                self.stats["replies"] += 1
                roll = self.random.random()
                plan = self.plan
                if roll < plan.drop_connection:
                    self.stats["dropped"] += 1
                    return  # closing both ends: the request went out, its reply never arrives
                roll -= plan.drop_connection
                if roll < plan.swallow_reply:
                    self.stats["swallowed"] += 1
                    continue
                roll -= plan.swallow_reply
                if roll < plan.delay_reply:
                    self.stats["delayed"] += 1
                    await asyncio.sleep(plan.delay_seconds)
                roll -= plan.delay_reply
                if 0 <= roll < plan.corrupt_reply and not last_request.startswith(b"97"):
                    self.stats["corrupted"] += 1
                    data = _corrupt_checksum(data)
            writer.write(data)
            await writer.drain()
            if replies:
                self._in_flight(id(last_request), None)

    def _in_flight(self, connection: int, request: bytes | None) -> None:
        if request is None:
            self.in_flight.pop(connection, None)
        else:
            self.in_flight[connection] = request
        if self.watch is not None:
            self.watch(self.in_flight)


def _corrupt_checksum(frame: bytes) -> bytes:
    """The frame with the last digit of its checksum changed (the terminator kept)."""
    body = frame.rstrip(b"\r\n")
    if len(body) < 4:
        return frame
    last = b"1" if body[-1:] == b"0" else b"0"
    return body[:-1] + last + frame[len(body) :]
