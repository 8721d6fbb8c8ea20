"""Fixtures: the demo ILS on TCP, the gateway under uvicorn in a subprocess in front of it, on SQLite and on
a throw-away PostgreSQL cluster (parametrised: every test that takes `gateway` runs on both)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from server_api.demo_ils.data import HOLDS, ITEMS, LOANS, LOST_ITEM, NOT_FOR_LOAN_ITEM
from server_api.gateway.config import load
from server_api.gateway.devices import add_user
from server_api.gateway.storage import open_engine
from tests.gateway.servers import (
    GatewayProcess,
    PostgresCluster,
    ThreadedIls,
    enroll,
    make_gateway_config,
)

TROMSO, HARSTAD, ALTA = "2190000", "2190100", "2201200"


def free_books(home: str = TROMSO) -> list[str]:
    """Single-part books of `home` that a fresh demo ILS has on the shelf, free to borrow."""
    busy = {r.item_id for r in LOANS} | {r.item_id for r in HOLDS} | {NOT_FOR_LOAN_ITEM, LOST_ITEM}
    return [
        it.item_id
        for it in ITEMS
        if it.home == home and it.parts == 1 and it.media == "book" and it.item_id not in busy
    ]


def now() -> str:
    return datetime.now().replace(microsecond=0).isoformat()


def txn(**kw: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "at": now(), **kw}


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    if PostgresCluster.bin_dir() is None:
        pytest.fail("PostgreSQL is not installed: run `make system-packages` (apt-get install postgresql)")
    cluster = PostgresCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@dataclass
class Site:
    """One gateway process (or more) in front of one demo ILS, and helpers to talk to it."""

    ils: ThreadedIls
    config: Path
    database: str
    process: GatewayProcess

    @property
    def url(self) -> str:
        return self.process.url

    def token(self, library: str = TROMSO, kiosk: str = "Kiosk") -> str:
        return enroll(self.url, self.config, library, kiosk)

    def client(self, token: str | None = None, library: str = TROMSO) -> httpx.Client:
        token = token or self.token(library)
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def second_process(self) -> GatewayProcess:
        return GatewayProcess(self.config).start()


def _database(kind: str, request: pytest.FixtureRequest, name: str) -> str:
    if kind == "sqlite":
        return "sqlite:///gateway.sqlite"
    cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database(name)


@contextlib.contextmanager
def running_site(
    folder: Path, database: str, *, ils_delay: float = 0.0, log_level: str = "warning", **config: Any
) -> Iterator[Site]:
    with ThreadedIls(folder / "ils.sqlite", delay=ils_delay) as ils:
        path = make_gateway_config(
            folder / "gw",
            ils.port,
            database,
            extra_gateway="instance_beat = 0.5",
            extra_limits="enrollments_per_minute = 5000",
            **config,
        )
        site = Site(ils, path, database, GatewayProcess(path, log_level=log_level).start())
        try:
            yield site
        finally:
            site.process.stop()  # the one running now: a test may have restarted it


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def database_for(request: pytest.FixtureRequest) -> str:
    return _database(request.param, request, f"gw_{uuid.uuid4().hex[:10]}")


@pytest.fixture(scope="session", params=BACKENDS)
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The gateway on SQLite and on PostgreSQL: a test that takes it runs on both."""
    folder = tmp_path_factory.mktemp(f"gateway-{request.param}")
    with running_site(folder, database_for(request)) as site:
        yield site


@pytest.fixture(scope="session")
def sqlite_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The gateway on SQLite only, for tests whose subject does not depend on the database."""
    folder = tmp_path_factory.mktemp("gateway")
    with running_site(folder, "sqlite:///gateway.sqlite", log_level="debug") as site:
        yield site


SLOW_ILS_DELAY = 0.3  # seconds between the library system applying a request and its reply arriving


@pytest.fixture(scope="session")
def slow_sqlite_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The gateway on SQLite before a library system whose replies come `SLOW_ILS_DELAY` after it acted:
    for the tests that kill the gateway in between (each with its own items; each restarts it)."""
    folder = tmp_path_factory.mktemp("slow-gateway")
    with running_site(folder, "sqlite:///gateway.sqlite", ils_delay=SLOW_ILS_DELAY) as site:
        yield site


STAFF_PASSWORD = "correct horse battery"


def add_staff(site: Site, username: str, library: str | None, role: str = "staff") -> tuple[str, str]:
    """A staff account in the gateway's database, as `kiosk-gateway user add` makes it."""
    engine = open_engine(load(site.config).database_url())
    try:
        add_user(engine, username, STAFF_PASSWORD, role=role, library=library, actor="test")
    finally:
        engine.dispose()
    return username, STAFF_PASSWORD
