"""The database: SQLite by default (embedded, one process), PostgreSQL for several gateway processes.

SQLite runs in WAL mode with `synchronous=FULL`: a claimed idempotency key is on disk before anything is
sent to the library system, and an outcome before the kiosk hears it. Calls are synchronous SQLAlchemy
in worker threads (`run`), so the event loop never waits on an fsync.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import ConnectionPoolEntry

T = TypeVar("T")
MIGRATIONS = Path(__file__).with_name("migrations")


class DatabaseNotReady(Exception):
    """The database is not at the newest schema: run `kiosk-gateway migrate`."""


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def open_engine(url: str) -> Engine:
    """An engine for `url`. SQLite: WAL, FULL sync, a busy timeout, connections shared across threads."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 10}, pool_size=16, max_overflow=16
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine) -> str:
    """Bring the schema to the newest revision; returns it."""
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "head")
    return head_revision()


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def require_current(engine: Engine) -> None:
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise DatabaseNotReady(
            f"the database is at schema {current or 'none'}, the gateway needs {head}: "
            "run `kiosk-gateway migrate` (back it up first)"
        )


async def run(function: Callable[..., T], *args: Any) -> T:
    """A blocking database call off the event loop."""
    return await asyncio.to_thread(function, *args)


__all__ = [
    "DatabaseNotReady",
    "current_revision",
    "head_revision",
    "migrate",
    "open_engine",
    "require_current",
    "run",
]
