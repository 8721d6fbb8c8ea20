"""`DemoIls`: the demo library system on a real TCP socket, speaking SIP2 with our codec.

Per connection: a framer, a `Session` (the login's branch), the last response (for 97) and the error
detection mode the SC uses (we answer in kind). A request with a bad checksum gets 96; a request before
login closes the connection, as Koha does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import ssl as ssl_module
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import NamedTuple

from server_api.sip2.codec import (
    Framer,
    Sip2ChecksumError,
    Sip2DecodeError,
    decode_frame,
    encode,
    redact_bytes,
)
from server_api.sip2.messages import RequestAcsResend, RequestScResend

from .data import create_database
from .ils import DemoLibrarySystem, NotLoggedIn, Session

log = logging.getLogger(__name__)

IDLE_TIMEOUT = 600.0  # seconds a connection may stay silent before we close it


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
    ) -> None:
        self.ssl = ssl  # serve SIP2 over TLS with this server context
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
            await self._conversation(reader, writer)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError, ssl_module.SSLError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), timeout=1.0)

    async def _conversation(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self.ils is not None
        framer = Framer()
        session = Session()
        last_response = b""
        peer = writer.get_extra_info("peername")
        while True:
            chunk = await asyncio.wait_for(reader.read(4096), timeout=IDLE_TIMEOUT)
            if not chunk:
                return
            try:
                frames = framer.feed(chunk)
            except Sip2DecodeError:
                return  # a peer that never ends its frames: hang up
            for frame in frames:
                log.debug("%s SC -> ACS %s", peer, redact_bytes(frame, charset=self.charset))
                try:
                    decoded = decode_frame(frame, charset=self.charset)
                except Sip2ChecksumError:
                    response = encode(RequestScResend(), seq=None, charset=self.charset)
                    writer.write(response)  # not remembered: 97 must repeat a real answer
                    await writer.drain()
                    continue
                except Sip2DecodeError as exc:
                    log.info("%s sent an undecodable frame (%s); closing", peer, exc)
                    return
                message = decoded.message
                if isinstance(message, RequestAcsResend):
                    response = last_response or encode(RequestScResend(), seq=None, charset=self.charset)
                else:
                    try:
                        reply = self.ils.handle(message, session)
                    except NotLoggedIn:
                        log.info("%s sent %s before logging in; closing", peer, message.CODE)
                        return
                    except NotImplementedError:
                        log.info("%s sent unsupported %s; closing", peer, message.CODE)
                        return
                    response = encode(
                        reply,
                        seq=decoded.seq,
                        charset=self.charset,
                        error_detection=decoded.checksum is not None,  # answer in kind
                    )
                    last_response = response
                log.debug("%s ACS -> SC %s", peer, redact_bytes(response, charset=self.charset))
                writer.write(response)
                await writer.drain()


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
