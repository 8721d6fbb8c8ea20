"""What operators run: /metrics closed to strangers, rate limits that hold across gateway processes, and
`serve --workers N` (several processes on one port, PostgreSQL only)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from server_api.demo_ils.data import PATRONS
from server_api.gateway.limits import Batched, Exact, rate_counts, sliding
from server_api.gateway.storage import migrate, open_engine
from tests.gateway.conftest import TROMSO, Site, free_books, txn
from tests.gateway.servers import ROOT, GatewayProcess, ThreadedIls, enroll, free_port, make_gateway_config

METRICS_TOKEN = "metrics-token-for-the-scraper-0123456789"


@contextlib.contextmanager
def two_processes(folder: Path, database: str) -> Iterator[tuple[Site, GatewayProcess]]:
    """Two gateway processes on one database, with low limits and a metrics token."""
    with ThreadedIls(folder / "ils.sqlite") as ils:
        secrets = folder / "gw" / "secrets"
        secrets.mkdir(parents=True, mode=0o700)
        token_file = secrets / "metrics.token"
        token_file.write_text(METRICS_TOKEN + "\n")
        token_file.chmod(0o600)
        path = make_gateway_config(
            folder / "gw",
            ils.port,
            database,
            extra_gateway='instance_beat = 0.5\nmetrics_token_file = "secrets/metrics.token"',
            extra_limits="device_requests_per_minute = 10\ncard_lookups_per_minute = 4\n"
            "enrollments_per_minute = 8",
        )
        first = GatewayProcess(path).start()
        second = GatewayProcess(path).start()
        try:
            yield Site(ils, path, database, first), second
        finally:
            second.stop()
            first.stop()


@pytest.fixture(scope="module")
def pair(pg_cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, GatewayProcess]]:
    """On PostgreSQL: what several gateway processes need (SQLite is one process's database)."""
    folder = tmp_path_factory.mktemp("gateway-pair")
    with two_processes(folder, pg_cluster.create_database("gw_pair")) as both:
        yield both


def client(url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_metrics_answer_loopback_but_not_a_stranger_behind_the_proxy(sqlite_site: Site) -> None:
    assert httpx.get(f"{sqlite_site.url}/metrics").status_code == 200  # from the gateway's own host
    # uvicorn takes the client address from X-Forwarded-For when the proxy is on loopback: a stranger
    # reaching the gateway through a local reverse proxy is not the gateway's own host.
    stranger = httpx.get(f"{sqlite_site.url}/metrics", headers={"X-Forwarded-For": "203.0.113.7"})
    assert stranger.status_code == 403 and stranger.json()["error"] == "metrics_loopback_only"
    assert "metrics_token_file" in stranger.json()["message"] and "kiosk_" not in stranger.text


@pytest.mark.postgres
def test_with_a_metrics_token_only_that_token_reads_metrics(pair: tuple[Site, GatewayProcess]) -> None:
    site, _ = pair
    url = f"{site.url}/metrics"
    kiosk_token = site.token(TROMSO, "Metrics kiosk")
    refused = [
        httpx.get(url),
        httpx.get(url, headers={"Authorization": "Bearer wrong-token"}),
        httpx.get(url, headers={"Authorization": f"Bearer {kiosk_token}"}),  # a kiosk is not an operator
        httpx.get(url, headers={"Authorization": f"Basic {METRICS_TOKEN}"}),
    ]
    assert [r.status_code for r in refused] == [401] * 4
    assert all(r.json()["error"] == "no_metrics_token" and "gateway_" not in r.text for r in refused)
    scraped = httpx.get(
        url, headers={"Authorization": f"Bearer {METRICS_TOKEN}", "X-Forwarded-For": "10.1.2.3"}
    )
    assert scraped.status_code == 200 and "gateway_http_requests_total" in scraped.text


@pytest.mark.postgres
def test_card_lookups_are_limited_across_both_processes(pair: tuple[Site, GatewayProcess]) -> None:
    site, second = pair
    card = PATRONS[7].card
    body = {"patron_id": card, "pin": None}
    with client(site.url, site.token(TROMSO, "A")) as a, client(second.url, site.token(TROMSO, "B")) as b:
        codes = [k.post("/v1/patrons", json={**body, "txn": txn()}).status_code for k in (a, b, a, b, a, b)]
        other_card = a.post("/v1/patrons", json={**body, "patron_id": PATRONS[8].card, "txn": txn()})
    assert codes == [200, 200, 200, 200, 429, 429]  # 4 a minute in all, not 4 per process
    assert other_card.status_code == 200


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.05)


def shares(url: str) -> float:
    """How often the process at `url` has shared its kiosk request counts (its /metrics)."""
    text = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    (line,) = [line for line in text.splitlines() if line.startswith("gateway_rate_limit_shares_total ")]
    return float(line.split()[1])


def a_fresh_minute(needed: float = 15.0) -> int:
    """The number of the minute to run in, with `needed` seconds of it left (waiting for the next one if
    not): a kiosk's limit is counted per minute, and a minute turning half-way weighs the first half in
    at a share the test cannot fix."""
    into = time.time() % 60
    if into > 60 - needed:
        time.sleep(60 - into + 0.05)
    return int(time.time() // 60)


@pytest.mark.postgres
def test_one_kiosk_s_requests_are_limited_across_both_processes(pair: tuple[Site, GatewayProcess]) -> None:
    """Each process counts in memory and shares once a second; the test waits (bounded) for each share
    it relies on instead of sleeping for a guess of how long one takes."""
    site, second = pair
    token = site.token(TROMSO, "Busy kiosk")
    device = token.split(".")[1]  # kgw1.<device>.<secret>
    engine = open_engine(site.database)

    def counted() -> int:
        mine = (rate_counts.c.scope == "device") & (rate_counts.c.key == device)
        with engine.connect() as db:
            return int(
                db.execute(select(func.coalesce(func.sum(rate_counts.c.count), 0)).where(mine)).scalar_one()
            )

    try:
        with client(site.url, token) as a, client(second.url, token) as b:
            minute = a_fresh_minute()
            first = [a.get("/v1/device").status_code for _ in range(6)]
            wait_until(lambda: counted() == 6, "the first process shares its six")
            # Two share rounds of the second process after that: one that began before the six were
            # written may have read the counts without them.
            seen_second = shares(second.url)
            wait_until(lambda: shares(second.url) >= seen_second + 2, "the second process reads them")
            then = [b.get("/v1/device").status_code for _ in range(5)]
            wait_until(lambda: counted() == 10, "the second process shares its four")
            seen = shares(site.url)
            wait_until(lambda: shares(site.url) >= seen + 2, "the first process reads them back")
            back = a.get("/v1/device")
        assert int(time.time() // 60) == minute, "the minute turned: the machine is too slow for this test"
    finally:
        engine.dispose()
    assert first == [200] * 6 and then == [200] * 4 + [429]  # 10 a minute, across both
    assert back.status_code == 429 and back.headers["Retry-After"]


@pytest.mark.postgres
def test_enrollments_are_limited_per_address_across_both_processes(pair: tuple[Site, GatewayProcess]) -> None:
    site, second = pair
    codes = [
        httpx.post(f"{url}/v1/enroll", json={"code": "X" * 20}).status_code
        for url in (site.url, second.url) * 6
    ]
    assert 403 in codes and codes[-1] == 429 and codes.count(403) <= 8


def test_several_workers_are_refused_on_sqlite(sqlite_site: Site) -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "server_api.gateway", "--config", str(sqlite_site.config), "serve",
         "--port", str(free_port()), "--workers", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert refused.returncode == 2 and "PostgreSQL" in refused.stderr and "Traceback" not in refused.stderr


@pytest.mark.postgres
def test_serve_with_two_workers_answers_from_both_on_one_port(pg_cluster: object, tmp_path: Path) -> None:
    database = pg_cluster.create_database("gw_workers")  # type: ignore[attr-defined]
    with ThreadedIls(tmp_path / "ils.sqlite") as ils:
        config = make_gateway_config(tmp_path / "gw", ils.port, database, extra_gateway="instance_beat = 0.5")
        port = free_port()
        log = (tmp_path / "serve.log").open("wb")
        serve = subprocess.Popen(
            [sys.executable, "-m", "server_api.gateway", "--config", str(config), "serve",
             "--port", str(port), "--workers", "2", "--log-level", "warning"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ),
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            instances = _instances(url, serve)
            token = enroll(url, config, TROMSO, "Worker kiosk")
            book = free_books()[0]
            with client(url, token) as kiosk:
                lent = kiosk.post(
                    "/v1/checkouts",
                    json={"patron_id": PATRONS[9].card, "items": [{"item_id": book, "txn": txn()}]},
                )
                kiosk.post("/v1/checkins", json={"items": [{"item_id": book, "txn": txn()}]})
        finally:
            serve.terminate()
            serve.wait(30)
    assert len(instances) == 2, (tmp_path / "serve.log").read_text()
    assert lent.status_code == 200 and lent.json()["results"][0]["state"] == "done"


def _instances(url: str, serve: subprocess.Popen[bytes]) -> set[str]:
    """The gateway processes that answer /health, over fresh connections (the kernel spreads them)."""
    seen: set[str] = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(seen) < 2 and serve.poll() is None:
        with contextlib.suppress(httpx.HTTPError):
            answer = httpx.get(f"{url}/health", timeout=2)
            if answer.status_code == 200:
                seen.add(answer.json()["instance"])
                continue
        time.sleep(0.2)
    return seen


def limits_engine(tmp_path: Path) -> Any:
    engine = open_engine(f"sqlite:///{tmp_path / 'limits.sqlite'}")
    migrate(engine)
    return engine


def test_an_exact_limit_counts_each_attempt_in_a_sliding_minute(tmp_path: Path) -> None:
    now = [1_000_000.0]
    engine = limits_engine(tmp_path)
    first, second = Exact(engine, "card", 3, lambda: now[0]), Exact(engine, "card", 3, lambda: now[0])
    answers = [limiter.allow("card-a") for limiter in (first, second, first, second)]
    assert answers == [True, True, True, False]  # two processes, one budget
    assert first.allow("card-b")  # each key has its own minute
    now[0] += 59
    assert not second.allow("card-a")  # the refused attempt counted too
    now[0] += 61
    assert first.allow("card-a")  # a minute after the last attempts


async def test_a_batched_limit_shares_its_counts_through_the_database(tmp_path: Path) -> None:
    now = [1_000_020.0]
    engine = limits_engine(tmp_path)
    first, second = (
        Batched(engine, "device", 10, lambda: now[0]),
        Batched(engine, "device", 10, lambda: now[0]),
    )
    assert [await first.allow("kiosk") for _ in range(7)] == [True] * 7
    await first.flush()
    assert [await second.allow("kiosk") for _ in range(4)] == [True, True, True, False]
    await second.flush()
    await first.flush()  # learns the second's three
    assert not await first.allow("kiosk")
    now[0] += 80  # a third into the next minute: last minute's ten weigh in for the two thirds left
    assert sliding(0, 10, 1 / 3) == pytest.approx(10 * 2 / 3)
    assert [await first.allow("kiosk") for _ in range(5)] == [True] * 4 + [False]


async def test_a_batched_limit_counts_its_own_requests_while_a_share_is_on_its_way(tmp_path: Path) -> None:
    now = [2_000_040.0]
    limiter = Batched(limits_engine(tmp_path), "device", 10, lambda: now[0])
    assert [await limiter.allow("kiosk") for _ in range(7)] == [True] * 7
    sharing = asyncio.create_task(limiter.flush())
    await asyncio.sleep(0)  # the flush has taken the seven and is writing them in its thread
    assert [await limiter.allow("kiosk") for _ in range(4)] == [True, True, True, False]
    await sharing
    assert not await limiter.allow("kiosk")
