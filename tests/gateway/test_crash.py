"""A gateway killed with a key in flight: the next start finds out through SIP2 what happened (63/17), and
the kiosk's repeat gets that outcome: 0 lost, 0 sent twice."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from server_api.demo_ils import DEMO_PATRON_ID, applied_transactions
from server_api.gateway.config import load
from server_api.gateway.ledger import Ledger, State
from server_api.gateway.storage import open_engine
from tests.gateway.conftest import (
    SLOW_ILS_DELAY,
    TROMSO,
    Site,
    database_for,
    free_books,
    running_site,
    txn,
)
from tests.gateway.servers import GatewayProcess

BOOKS = free_books()
DELAY = SLOW_ILS_DELAY


# The SQLite run is in `make test`; the PostgreSQL one (15 s more) in `make test-long`.
CRASH_BACKENDS = ["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.long])]


@pytest.fixture(scope="module", params=CRASH_BACKENDS)
def slow_site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if request.param == "sqlite":  # shared with test_idempotency_gateway_killed (other items)
        yield request.getfixturevalue("slow_sqlite_site")
        return
    folder = tmp_path_factory.mktemp(f"crash-{request.param}")
    with running_site(folder, database_for(request), ils_delay=DELAY) as site:
        yield site


def events(site: Site, item_id: str, operation: str) -> int:
    return sum(
        1 for t in applied_transactions(site.ils.db_path) if (t.item_id, t.operation) == (item_id, operation)
    )


def ledger_entry(site: Site, key: str) -> Any:
    engine = open_engine(load(site.config).database_url())
    try:
        return Ledger(engine).get(key)
    finally:
        engine.dispose()


def restart(site: Site) -> None:
    site.process = GatewayProcess(site.config, port=site.process.port).start(timeout=40)


def test_a_checkout_in_flight_when_the_gateway_dies_is_found_done_at_the_next_start(slow_site: Site) -> None:
    token, book, record = slow_site.token(), BOOKS[0], txn()
    body = {"patron_id": DEMO_PATRON_ID, "items": [{"item_id": book, "txn": record}]}
    with httpx.Client(
        base_url=slow_site.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as kiosk:
        assert kiosk.get("/v1/ping").status_code == 204  # a warm SIP2 connection
        sender = threading.Thread(target=lambda: _ignore_errors(kiosk.post, "/v1/checkouts", json=body))
        sender.start()
        deadline = time.monotonic() + 10
        while events(slow_site, book, "checkout") == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        slow_site.process.kill()  # the ILS lent it; its reply is still on the way
        sender.join(10)
    assert events(slow_site, book, "checkout") == 1
    assert ledger_entry(slow_site, str(record["id"])).state is State.IN_FLIGHT
    restart(slow_site)
    entry = ledger_entry(slow_site, str(record["id"]))
    assert entry.state is State.DONE and entry.reconciled and entry.patron_id == ""
    with httpx.Client(
        base_url=slow_site.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as kiosk:
        again = kiosk.post("/v1/checkouts", json=body).json()["results"][0]
    assert again["state"] == "done" and again["repeat"] and again["reconciled"] and again["outcome"]["ok"]
    assert events(slow_site, book, "checkout") == 1


def test_a_key_left_in_flight_that_never_reached_the_library_system_is_sent_once_on_repeat(
    slow_site: Site,
) -> None:
    token, book, record = slow_site.token(), BOOKS[1], txn()
    engine = open_engine(load(slow_site.config).database_url())
    try:  # a process that claimed the key and died before sending: it never registered a heartbeat
        ledger = Ledger(engine)
        ledger.claim(
            ledger.new_row(
                str(record["id"]),
                library=TROMSO,
                device_id=token.split(".")[1],
                operation="checkout",
                item_id=book,
                patron_id=DEMO_PATRON_ID,
                request=record,
            )
        )
    finally:
        engine.dispose()
    body = {"patron_id": DEMO_PATRON_ID, "items": [{"item_id": book, "txn": record}]}
    with httpx.Client(
        base_url=slow_site.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as kiosk:
        asked = kiosk.get(f"/v1/transactions/{record['id']}").json()
        assert asked["state"] == "not_applied"
        sent = kiosk.post("/v1/checkouts", json=body).json()["results"][0]
        repeat = kiosk.post("/v1/checkouts", json=body).json()["results"][0]
    assert sent["state"] == "done" and sent["outcome"]["ok"] and not sent["reconciled"]
    assert repeat["repeat"] and repeat["outcome"] == sent["outcome"]
    assert events(slow_site, book, "checkout") == 1


def _ignore_errors(call: Any, *args: Any, **kwargs: Any) -> None:
    with contextlib.suppress(httpx.HTTPError):  # the gateway died under it: that is the point
        call(*args, **kwargs)
