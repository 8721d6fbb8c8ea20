"""A misbehaving SIP2 ACS on a real loopback socket, shared by the SIP2 tests: logins and 99 answer well,
and a fault function decides what happens to every other request."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

from server_api.sip2.codec import Decoded, Framer, decode_frame, encode
from server_api.sip2.messages import (
    AcsStatus,
    CheckoutRequest,
    CheckoutResponse,
    ItemInformationRequest,
    ItemInformationResponse,
    LoginRequest,
    LoginResponse,
    Message,
    RequestAcsResend,
    ScStatus,
)

T = datetime(2024, 3, 5, 14, 7, 9)
TIMEOUT = 0.3

# A fault: what to do with one item request. Returns chunks to write; "close" closes; None = silence.
Action = list[bytes | str] | None


@dataclass
class Acs:
    port: int = 0
    received: list[bytes] = field(default_factory=list)
    connections: int = 0
    delay: float = 0.0
    charset: str = "utf-8"
    error_detection: bool = True  # False: a server that never sends AY/AZ
    hang_up_on: set[int] = field(default_factory=set)  # connection numbers (1, 2, ...) closed at once
    max_sessions: int | None = None  # logins beyond this many at once are refused (94 with ok=0)
    slow_when_busy: float = 0.0  # seconds more per other request being served at the same time
    sessions: int = 0  # logged in now
    busy: int = 0  # item requests being served now
    status: AcsStatus = field(
        default_factory=lambda: AcsStatus(
            date_time_sync=T, institution_id="X", supported_messages="Y" * 16, retries_allowed=999
        )
    )

    def count(self, prefix: bytes) -> int:
        return sum(1 for f in self.received if f.startswith(prefix))


def good_reply(decoded: Decoded, acs: Acs) -> bytes:
    msg = decoded.message
    reply: Message
    if isinstance(msg, LoginRequest):
        room = acs.max_sessions is None or acs.sessions < acs.max_sessions
        reply = LoginResponse(ok=msg.login_password in ("pw", "login-SECRET") and room)
        acs.sessions += reply.ok
    elif isinstance(msg, ScStatus):
        reply = acs.status
    elif isinstance(msg, ItemInformationRequest):
        reply = ItemInformationResponse(
            circulation_status="03",
            transaction_date=T,
            item_identifier=msg.item_identifier,
            title_identifier="Sult",
        )
    elif isinstance(msg, CheckoutRequest):
        reply = CheckoutResponse(
            ok=True,
            desensitize="Y",
            transaction_date=T,
            patron_identifier=msg.patron_identifier,
            item_identifier=msg.item_identifier,
            title_identifier="Sult",
            due_date="20240402    235900",
        )
    else:
        return b""  # the fault decides
    return encode(reply, seq=decoded.seq, charset=acs.charset, error_detection=acs.error_detection)


@asynccontextmanager
async def misbehaving_acs(
    fault: Callable[[Decoded, bytes, Acs], Action], charset: str = "utf-8"
) -> AsyncIterator[Acs]:
    """`fault(decoded, good_reply_bytes, acs)` for every item request and 97; logins and 99 answer well."""
    acs = Acs(charset=charset)
    handlers: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        acs.connections += 1
        if acs.connections in acs.hang_up_on:
            handlers.discard(task)
            writer.close()
            return
        framer = Framer()
        mine = 0  # logins of this connection
        try:
            while chunk := await reader.read(65536):
                for frame in framer.feed(chunk):
                    acs.received.append(frame)
                    decoded = decode_frame(frame, charset=acs.charset)
                    if isinstance(decoded.message, LoginRequest | ScStatus):
                        if acs.delay:
                            await asyncio.sleep(acs.delay)
                        before = acs.sessions
                        actions: Action = [good_reply(decoded, acs)]
                        mine += acs.sessions - before
                    else:
                        acs.busy += 1
                        try:
                            await asyncio.sleep(acs.delay + acs.slow_when_busy * (acs.busy - 1))
                        finally:
                            acs.busy -= 1
                        good = (
                            b"" if isinstance(decoded.message, RequestAcsResend) else good_reply(decoded, acs)
                        )
                        actions = fault(decoded, good, acs)
                    for action in actions or ():
                        if action == "close":
                            writer.close()
                            return
                        assert isinstance(action, bytes)
                        writer.write(action)
                        await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            acs.sessions -= mine  # this connection's session ends with it
            handlers.discard(task)
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    acs.port = server.sockets[0].getsockname()[1]
    try:
        yield acs
    finally:
        server.close()
        for task in list(handlers):
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
