"""Pools of SIP2 connections over real loopback TCP: parallel stacks on logged-in connections of one
account, never a broken connection handed out, and servers with fewer workers than the pool."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from server_api.circulation import Transaction
from server_api.sip2.circulation import Sip2Circulation
from server_api.sip2.client import Sip2Settings
from server_api.sip2.codec import Decoded
from server_api.sip2.errors import Sip2ConnectionLost
from server_api.sip2.messages import ItemInformationRequest, ItemInformationResponse
from server_api.sip2.pool import Sip2Pool, Sip2Pools
from tests.sip2.peers import TIMEOUT, Acs, Action, T, misbehaving_acs


def settings(port: int, **kw: object) -> Sip2Settings:
    options: dict[str, object] = {"timeout": TIMEOUT, **kw}
    return Sip2Settings("127.0.0.1", port, "u", "pw", **options)  # type: ignore[arg-type]


def item(item_id: str) -> ItemInformationRequest:
    return ItemInformationRequest(transaction_date=T, institution_id="X", item_identifier=item_id)


# --- pools ----------------------------------------------------------------------------------------


async def test_pool_runs_a_stack_in_parallel_on_logged_in_connections_of_one_account() -> None:
    async with misbehaving_acs(lambda d, g, a: [g]) as acs:
        acs.delay = 0.1
        circ = Sip2Circulation(settings(acs.port, pool_size=4, timeout=2.0))
        txn = Transaction.new(T)
        started = time.monotonic()
        outcomes = await asyncio.gather(*(circ.checkout("P1", f"item-{n}", txn) for n in range(8)))
        elapsed = time.monotonic() - started
        assert [o.item_id for o in outcomes] == [f"item-{n}" for n in range(8)] and all(
            o.ok for o in outcomes
        )
        # 4 logins (93+99 = 0.2 s each, in parallel), then 8 checkouts of 0.1 s on 4 connections.
        assert acs.connections == 4 and acs.count(b"93") == 4
        assert elapsed < 0.9, f"not parallel: {elapsed:.2f}s for 8 checkouts"
        assert all(b"CNu|" in f for f in acs.received if f.startswith(b"93"))
        await circ.close()


async def test_pool_never_hands_out_a_broken_connection() -> None:
    def fault(decoded: Decoded, good: bytes, acs: Acs) -> Action:
        return ["close"] if decoded.message.item_identifier == "break" else [good]  # type: ignore[attr-defined]

    async with misbehaving_acs(fault) as acs:
        pool = Sip2Pool(settings(acs.port), size=1)
        assert isinstance(await pool.request(item("1")), ItemInformationResponse)
        with pytest.raises(Sip2ConnectionLost):
            await pool.request(item("break"))
        assert pool.discarded == 1 and pool.open_connections == 0
        assert isinstance(await pool.request(item("2")), ItemInformationResponse)
        assert pool.created == 2
        # An idle connection the ACS closed is replaced before it is handed out.
        for task in asyncio.all_tasks():
            if task.get_coro().__qualname__.startswith("misbehaving_acs.<locals>.handle"):  # type: ignore[union-attr]
                task.cancel()
        await asyncio.sleep(0.05)
        async with pool.connection() as client:
            assert client.healthy and client.logins == 1
        assert pool.created == 3 and pool.discarded == 2
        await pool.close()


async def test_pools_are_keyed_by_account() -> None:
    pools = Sip2Pools(size=2)
    a = Sip2Settings("h", 1, "kiosk-tromso", "x", location="2190000")
    b = Sip2Settings("h", 1, "kiosk-alta", "y", location="2201200")
    assert pools.pool(a) is pools.pool(a) and pools.pool(a) is not pools.pool(b) and len(pools) == 2
    with pytest.raises(ValueError, match="already pooled"):
        pools.pool(a.with_(password="other"))
    await pools.close()


async def test_a_pool_degrades_to_the_connections_a_one_worker_server_serves_and_tries_again_later(
    tmp_path: Path,
) -> None:
    from server_api.demo_ils import DEMO_BORROW_ITEMS, DEMO_PATRON_ID, KIOSK_LOGIN, DemoIls, ServerQuirks

    async with DemoIls(tmp_path / "ils.sqlite", quirks=ServerQuirks(workers=1)) as ils:
        kiosk = Sip2Settings(
            "127.0.0.1", ils.port, *KIOSK_LOGIN, timeout=0.5, pool_size=2, pool_retry_interval=0.3
        )
        circulation = Sip2Circulation(kiosk)
        assert circulation.pool is not None
        txn = Transaction.new(T)
        # Two at once: the second connection is never served; its caller is served by the first one.
        account, status = await asyncio.gather(
            circulation.patron(DEMO_PATRON_ID, None, txn), circulation.item_status(DEMO_BORROW_ITEMS[0])
        )
        assert account.found and status.found
        await asyncio.sleep(0.6)  # the unserved login times out meanwhile
        report = circulation.pool.report()
        assert (report.working, report.limit, report.max_size, report.unserved) == (1, 1, 2, 1)
        assert report.degraded and "login" in report.last_error
        # Within the retry interval nothing new is tried; after it, the pool tries again.
        for _ in range(2):
            await asyncio.gather(*(circulation.item_status(item) for item in DEMO_BORROW_ITEMS))
        await asyncio.sleep(0.35)
        await asyncio.gather(*(circulation.item_status(item) for item in DEMO_BORROW_ITEMS))
        await asyncio.sleep(0.6)
        assert circulation.pool.report().unserved == 2 and circulation.pool.created == 3
        await circulation.close()


async def test_pool_fill_reports_the_size_that_works() -> None:
    async with misbehaving_acs(lambda d, g, a: [g]) as acs:
        pool = Sip2Pool(settings(acs.port, pool_size=3, pool_min_size=2))
        report = await pool.fill()
        assert (report.working, report.limit, report.min_size, report.max_size) == (3, 3, 2, 3)
        assert not report.degraded and acs.count(b"93") == 3
        await pool.close()


async def _until(condition: object, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        await asyncio.sleep(0.02)


async def test_connections_a_stack_opened_are_closed_after_idling_down_to_the_minimum() -> None:
    async with misbehaving_acs(lambda d, g, a: [g]) as acs:
        acs.delay = 0.05
        pool = Sip2Pool(settings(acs.port, pool_size=4, pool_min_size=1, pool_idle_close=0.3))
        await asyncio.gather(*(pool.request(item(str(n))) for n in range(8)))
        assert acs.sessions == 4 and pool.open_connections == 4
        await _until(lambda: acs.sessions == 1)
        # The library system sees the sessions end; the pool keeps its minimum, logged in.
        assert (acs.sessions, pool.open_connections, pool.trimmed) == (1, 1, 3)
        # The next stack grows it again.
        await asyncio.gather(*(pool.request(item(str(n))) for n in range(8)))
        assert pool.open_connections == 4
        await pool.close()


async def test_a_connection_in_use_is_not_closed_for_idling_only_the_ones_left_idle() -> None:
    async with misbehaving_acs(lambda d, g, a: [g]) as acs:
        pool = Sip2Pool(settings(acs.port, pool_size=3, pool_min_size=1, pool_idle_close=0.4))
        await asyncio.gather(*(pool.fill(),))
        assert pool.open_connections == 3
        deadline = time.monotonic() + 1.2
        while time.monotonic() < deadline:  # one request at a time: the warmest connection each time
            await pool.request(item("busy"))
            await asyncio.sleep(0.05)
        assert (pool.open_connections, pool.trimmed, acs.sessions) == (1, 2, 1)
        await pool.close()


async def test_a_connection_closed_at_login_while_others_work_is_tried_again_within_a_second() -> None:
    async with misbehaving_acs(lambda d, g, a: [g]) as acs:
        acs.delay = 0.05
        acs.hang_up_on = {2}  # a network blip, not a server without workers
        pool = Sip2Pool(settings(acs.port, pool_size=2))
        await asyncio.gather(pool.request(item("1")), pool.request(item("2")))
        assert pool.report().unserved == 0
        await asyncio.sleep(1.1)  # FAILED_RETRY: then the full size again, not after pool_retry_interval
        await asyncio.gather(pool.request(item("3")), pool.request(item("4")))
        assert pool.created == 3 and pool.open_connections == 2
        await pool.close()


async def test_logins_refused_beyond_the_accounts_session_limit_keep_the_pool_at_that_limit_for_a_while() -> (
    None
):
    async with misbehaving_acs(lambda d, g, a: [g]) as acs:
        acs.delay, acs.max_sessions = 0.05, 2  # the library system lets this account have two sessions
        pool = Sip2Pool(settings(acs.port, pool_size=4, pool_retry_interval=0.6, timeout=2.0))
        replies = await asyncio.gather(*(pool.request(item(str(n))) for n in range(4)))
        assert all(isinstance(r, ItemInformationResponse) for r in replies)  # served by the two that work
        report = pool.report()
        assert (report.working, report.limit, report.refused) == (2, 2, 2) and report.degraded
        logins = acs.count(b"93")
        await asyncio.gather(*(pool.request(item(str(n))) for n in range(4)))
        assert acs.count(b"93") == logins  # not asked again at once (nor every second)
        await asyncio.sleep(0.65)
        await asyncio.gather(*(pool.request(item(str(n))) for n in range(4)))
        assert acs.count(b"93") > logins and pool.report().working == 2  # asked again, still two
        await pool.close()


async def test_a_pool_uses_half_its_connections_while_the_server_slows_down_under_them_then_grows_again() -> (
    None
):
    async with misbehaving_acs(lambda d, g, a: [g]) as acs:
        acs.slow_when_busy = 0.3  # each request takes 0.3 s longer per other one being served
        pool = Sip2Pool(
            settings(acs.port, pool_size=6, pool_min_size=6, timeout=2.0, pool_retry_interval=1.5)
        )
        assert (await pool.fill()).working == 6
        await asyncio.gather(*(pool.request(item(str(n))) for n in range(6)))  # the last takes ~1.5 s
        report = pool.report()
        assert (report.limit, report.slow) == (3, 1) and pool.open_connections == 3
        acs.received.clear()
        await asyncio.gather(*(pool.request(item(str(n))) for n in range(6)))  # three at a time: no slower
        assert pool.report().slow == 1 and acs.count(b"93") == 0 and pool.open_connections == 3
        await asyncio.sleep(1.5)
        acs.slow_when_busy = 0.0  # the server has recovered
        await asyncio.gather(*(pool.request(item(str(n))) for n in range(6)))
        assert (pool.report().limit, pool.report().slow) == (6, 1)  # tried again after the interval, doubled
        await asyncio.sleep(0.2)
        assert pool.created > 6  # and it opened more connections again
        await pool.close()


async def test_one_slow_reply_alone_does_not_shrink_the_pool() -> None:
    async with misbehaving_acs(lambda d, g, a: [g]) as acs:
        acs.delay = 0.3
        pool = Sip2Pool(settings(acs.port, pool_size=3, timeout=0.5))
        await pool.request(item("1"))  # slower than half the timeout, but nothing else was out
        assert pool.report().limit == 3 and pool.report().slow == 0
        await pool.close()


def test_the_pool_sizes_come_from_the_vendor_profile_unless_the_configuration_sets_them() -> None:
    koha = Sip2Settings.for_profile("koha", "h", 1, "u", "pw")
    assert (koha.pool_size, koha.pool_min_size) == (10, 2)  # server-wide workers, none per login
    generic = Sip2Settings.for_profile("generic", "h", 1, "u", "pw")
    assert (generic.pool_size, generic.pool_min_size) == (2, 1)  # nothing known: the standard's 2
    assert Sip2Settings.for_profile("koha", "h", 1, "u", "pw", pool_size=4).pool_size == 4
    assert Sip2Settings.for_profile("koha", "h", 1, "u", "pw", pool_size=1).pool_min_size == 1
    assert Sip2Pool(koha).max_size == 10 and Sip2Pool(koha).min_size == 2
