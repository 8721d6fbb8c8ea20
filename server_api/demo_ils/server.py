"""`DemoIls`: the demo library system on a real TCP socket, speaking SIP2 with our codec.

Per connection: the sans-IO `AcsConversation` (framing, 96 for a damaged or unreadable request, the last
response again for 97, answering in kind with or without error detection) and a `Session` (the login's
branch). A request before login closes the connection, as Koha does.

It stays up under bad clients: requests are bounded in size (`MAX_REQUEST`), a client that stops reading
is dropped (`DRAIN_TIMEOUT`), no input gives a traceback (an unforeseen failure is one log line and a
closed connection), and connections are served one request at a time in turn, so a client that pipelines
thousands of requests does not delay the others.

`ServerQuirks` make it behave like servers met in the field (tests use them): answering a 97 with AY0,
hanging up on a blank nb due date, having fewer workers than the kiosk has connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import ssl as ssl_module
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import NamedTuple

from server_api.sip2.codec import Sip2DecodeError, Sip2EncodeError
from server_api.sip2.conversation import AcsConversation, Answer, BadFrame, Request
from server_api.sip2.messages import CheckoutRequest, Message, RenewRequest
from server_api.sip2.redaction import redact_bytes

from .data import create_database
from .ils import DemoLibrarySystem, NotLoggedIn, Session
from .validate import BadRequest, checked, refusal

log = logging.getLogger(__name__)

IDLE_TIMEOUT = 600.0  # seconds a connection may stay silent before we close it
DRAIN_TIMEOUT = 30.0  # seconds a client may leave our replies unread before we close it
MAX_REQUEST = 16 * 1024  # bytes: no request of the kiosk comes near


@dataclass(frozen=True)
class ServerQuirks:
    """Behaviours of real SIP2 servers the demo can take on (all off: the standard)."""

    resend_sequence_zero: bool = False  # answer a 97 with the last reply numbered AY0 (Koha)
    strict_dates: bool = False  # hang up on a checkout/renewal whose nb due date is 18 blanks
    workers: int | None = None  # serve at most this many connections at once; the rest wait unserved


class DemoIls:
    """``async with DemoIls() as ils: ... ils.port``. Without `db_path` a fresh demo database is made in a
    temporary directory (removed on exit); with one, an existing file is used as is (loans survive a
    restart) and a missing one is created."""

    def __init__(
        self,
        db_path: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        charset: str = "utf-8",
        clock: Callable[[], datetime] = datetime.now,
        ssl: ssl_module.SSLContext | None = None,
        quirks: ServerQuirks | None = None,
    ) -> None:
        self.ssl = ssl  # serve SIP2 over TLS with this server context
        self.quirks = quirks or ServerQuirks()
        self._workers = asyncio.Semaphore(self.quirks.workers or 1_000_000)
        self.requests_handled = 0  # answers written, over all connections
        self.host = host
        self.port = port
        self.charset = charset
        self.clock = clock
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        if db_path is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="demo-ils-")
            db_path = Path(self._tmpdir.name) / "demo_ils.sqlite"
        self.db_path = Path(db_path)
        self._server: asyncio.Server | None = None
        self._conn: sqlite3.Connection | None = None
        self.ils: DemoLibrarySystem | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def applied_transactions(self) -> list[AppliedTransaction]:
        """`applied_transactions` of this ILS's database."""
        return applied_transactions(self.db_path)

    async def start(self) -> None:
        if not self.db_path.exists():
            create_database(self.db_path, now=self.clock())
        self._conn = sqlite3.connect(self.db_path, isolation_level="DEFERRED")
        self._conn.execute("PRAGMA journal_mode=WAL")
        self.ils = DemoLibrarySystem(self._conn, clock=self.clock)
        self._server = await asyncio.start_server(self._serve_connection, self.host, self.port, ssl=self.ssl)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("demo ILS listening on %s:%s (database %s)", self.host, self.port, self.db_path)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=2.0)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), timeout=2.0)
            self._server = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    async def __aenter__(self) -> DemoIls:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            async with self._workers:  # a server with few workers leaves the others waiting, unserved
                await self._conversation(reader, writer)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError, ssl_module.SSLError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), timeout=1.0)

    async def _conversation(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conversation = AcsConversation(
            charset=self.charset, max_frame=MAX_REQUEST, resend_sequence_zero=self.quirks.resend_sequence_zero
        )
        session = Session()
        peer = writer.get_extra_info("peername")
        while True:
            chunk = await asyncio.wait_for(reader.read(4096), timeout=IDLE_TIMEOUT)
            if not chunk:
                return
            try:
                conversation.receive_data(chunk)
            except Sip2DecodeError:
                log.info("%s sent more than %d bytes without ending a frame; closing", peer, MAX_REQUEST)
                return
            while True:
                event = conversation.next_event()
                if isinstance(event, BadFrame):
                    log.info("%s sent an undecodable frame (%s); closing", peer, event.reason)
                    return
                if isinstance(event, Answer):
                    data = event.data
                elif isinstance(event, Request):
                    response = self._answer(event, session, peer)
                    if response is None:
                        return
                    try:
                        data = conversation.respond(response)
                    except Sip2EncodeError as exc:
                        log.warning(
                            "%s: our %s reply cannot be sent in %s (%s); closing",
                            peer,
                            response.CODE,
                            self.charset,
                            exc,
                        )
                        return
                else:
                    break  # NEED_DATA
                log.debug("%s ACS -> SC %s", peer, redact_bytes(data, charset=self.charset))
                writer.write(data)
                async with asyncio.timeout(DRAIN_TIMEOUT):  # a peer that never reads our replies
                    await writer.drain()
                self.requests_handled += 1
                await asyncio.sleep(0)  # one request per connection per turn: fair between connections

    def _answer(self, request: Request, session: Session, peer: object) -> Message | None:
        """The reply to one request, or None to hang up (never an exception: no input gets a traceback)."""
        assert self.ils is not None
        message = request.message
        log.debug("%s SC -> ACS %s", peer, message.CODE)
        strict = self.quirks.strict_dates and isinstance(message, CheckoutRequest | RenewRequest)
        if strict and getattr(message, "nb_due_date", None) is None:
            log.info("%s sent %s with a blank nb due date; strict server hangs up", peer, message.CODE)
            return None
        try:
            message = checked(message)
        except BadRequest as exc:
            log.info("%s sent %s that the demo cannot use (%s); refused", peer, message.CODE, exc)
            return refusal(message, f"Ugyldig forespørsel: {exc}.", session.branch)
        try:
            return self.ils.handle(message, session)
        except NotLoggedIn:
            log.info("%s sent %s before logging in; closing", peer, message.CODE)
        except NotImplementedError:
            log.info("%s sent unsupported %s; closing", peer, message.CODE)
        except Exception as exc:  # a rule the demo does not cover: one line, not a traceback
            log.warning("%s: %s %s failed (%s: %s); closing", peer, message.CODE, type(exc).__name__, exc)
        return None


class AppliedTransaction(NamedTuple):
    """One circulation change the demo ILS applied (a row of its ``events`` log)."""

    operation: str  # checkout | checkin | renew | hold | hold_cancel | hold_change
    item_id: str
    patron: str | None
    branch: str  # the login's branch it was applied for
    transaction_date: datetime  # the SC's transaction date (checkin: the return date)
    no_block: bool  # an offline replay
    nb_due: datetime | None  # the due date given offline, if any
    recorded_at: datetime  # when the ILS applied it


def applied_transactions(db_path: str | Path) -> list[AppliedTransaction]:
    """Every circulation change in a demo ILS database, oldest first.

    For duplicate detection, count ``(t.operation, t.item_id, t.transaction_date)``: an action replayed
    twice shows up twice. Reads through its own read-only connection, so it works while the ILS runs."""
    conn = sqlite3.connect(f"file:{Path(db_path)}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT kind, item_id, patron, branch, at, no_block, nb_due, recorded_at FROM events ORDER BY id"
        ).fetchall()
    finally:
        conn.close()
    return [
        AppliedTransaction(
            operation=kind,
            item_id=item_id,
            patron=patron,
            branch=branch,
            transaction_date=datetime.fromisoformat(at),
            no_block=bool(no_block),
            nb_due=datetime.fromisoformat(nb_due) if nb_due else None,
            recorded_at=datetime.fromisoformat(recorded_at),
        )
        for kind, item_id, patron, branch, at, no_block, nb_due, recorded_at in rows
    ]


def serve_forever(host: str = "127.0.0.1", port: int = 6001, db: str | Path | None = None) -> None:
    """Run the demo ILS until interrupted (for the CLI)."""

    async def main() -> None:
        async with DemoIls(db, host, port) as ils:
            print(f"demo ILS: SIP2 on {ils.host}:{ils.port}, database {ils.db_path}", flush=True)
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
