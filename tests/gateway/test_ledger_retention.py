"""The idempotency ledger does not grow forever: settled keys are forgotten after `[gateway] ledger_days`
(default 90), at the gateway's start and hourly; keys whose fate is open never are, and a kiosk that still
reports an unconfirmed entry from before the cutoff keeps all its keys."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, insert, inspect, update

from server_api.console.tables import metadata as console_metadata
from server_api.gateway.config import GatewaySection, load
from server_api.gateway.devices import utcnow
from server_api.gateway.ledger import Ledger, Settlement, State
from server_api.gateway.limits import metadata as limits_metadata
from server_api.gateway.schema import heartbeats, ledger
from server_api.gateway.schema import metadata as gateway_metadata
from server_api.gateway.storage import migrate, open_engine
from tests.gateway.conftest import BACKENDS, TROMSO, Site, database_for
from tests.gateway.servers import GatewayProcess

DAYS = 90


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'gw.sqlite'}" if request.param == "sqlite" else database_for(request)
    engine = open_engine(url)
    migrate(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def test_the_migrated_database_is_the_schema_the_gateway_declares(engine: Engine) -> None:
    """The migrations and the tables in code agree (a table, column or index in one only is a diff), on
    SQLite and PostgreSQL; the retention's cutoff column is indexed (g004)."""
    with engine.connect() as db:
        declared = [gateway_metadata, limits_metadata, console_metadata]
        assert compare_metadata(MigrationContext.configure(db), declared) == []  # type: ignore[arg-type]
        indexes = {ix["name"]: ix["column_names"] for ix in inspect(db).get_indexes("ledger")}
    assert indexes["ix_ledger_settled_at"] == ["settled_at"]


def key_in(book: Ledger, state: State, *, settled_days_ago: float, device: str = "kiosk-a") -> str:
    """A key in `state`, settled (or claimed) that many days ago."""
    key = str(uuid.uuid4())
    row = book.new_row(
        key, library=TROMSO, device_id=device, operation="checkout", item_id="1", patron_id="2", request={}
    )
    book.claim(row)
    if state is not State.IN_FLIGHT:
        book.settle_many([Settlement(key, state, {"ok": True} if state is State.DONE else None)])
    then = utcnow() - timedelta(days=settled_days_ago)
    with book.engine.begin() as db:
        db.execute(update(ledger).where(ledger.c.key == key).values(settled_at=then, claimed_at=then))
    return key


def test_settled_keys_older_than_the_retention_are_forgotten_and_open_ones_never(engine: Engine) -> None:
    book = Ledger(engine)
    old_done = key_in(book, State.DONE, settled_days_ago=DAYS + 1)
    old_not_applied = key_in(book, State.NOT_APPLIED, settled_days_ago=DAYS + 5)
    old_unknown = key_in(book, State.UNKNOWN, settled_days_ago=DAYS + 30)
    old_in_flight = key_in(book, State.IN_FLIGHT, settled_days_ago=DAYS + 30)
    young_done = key_in(book, State.DONE, settled_days_ago=DAYS - 1)

    assert book.expire(timedelta(days=DAYS)) == 2

    assert book.get(old_done) is None and book.get(old_not_applied) is None
    for kept in (old_unknown, old_in_flight, young_done):
        assert book.get(kept) is not None
    assert book.expire(timedelta(days=DAYS)) == 0


def test_a_kiosk_reporting_an_unconfirmed_entry_from_before_the_cutoff_keeps_its_keys(engine: Engine) -> None:
    book = Ledger(engine)
    away = key_in(book, State.DONE, settled_days_ago=DAYS + 10, device="bookmobile")
    other = key_in(book, State.DONE, settled_days_ago=DAYS + 10, device="kiosk-b")
    reported = (utcnow() - timedelta(days=DAYS + 20)).isoformat()
    with engine.begin() as db:
        for device, pending in (("bookmobile", reported), ("kiosk-b", None)):
            db.execute(
                insert(heartbeats).values(
                    device_id=device,
                    library=TROMSO,
                    received_at=utcnow(),
                    report={"oldest_pending_at": pending},
                )
            )

    assert book.expire(timedelta(days=DAYS)) == 1
    assert book.get(away) is not None and book.get(other) is None


def test_the_default_retention_is_ninety_days_and_at_least_a_week() -> None:
    assert GatewaySection.model_fields["ledger_days"].default == 90
    with pytest.raises(ValueError, match="ledger_days"):
        GatewaySection(consortium_key_file="key", ledger_days=1)


def test_a_starting_gateway_forgets_old_settled_keys(sqlite_site: Site) -> None:
    sqlite_gateway = sqlite_site  # restarted here: the next tests get the new process at the same URL
    engine = open_engine(load(sqlite_gateway.config).database_url())
    try:
        book = Ledger(engine)
        old, young = (key_in(book, State.DONE, settled_days_ago=days) for days in (DAYS + 1, 1))
        sqlite_gateway.process.stop()
        running = sqlite_gateway.process
        sqlite_gateway.process = GatewayProcess(
            running.config_path, port=running.port, log_level=running.log_level
        )
        sqlite_gateway.process.start(timeout=40)
        assert book.get(old) is None and book.get(young) is not None
    finally:
        engine.dispose()
