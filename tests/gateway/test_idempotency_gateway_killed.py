"""The kiosk's client when the gateway is killed under a stack: a try that may have been carried out is
never reported as "not sent", however the retries end (the root cause of the duplicates the crash run
through a killed gateway found: the retry's "cannot connect" spoke for the first try, the station told the
patron "not sent", and the patron's next try lent the item again under a new UUID)."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from server_api.circulation import CirculationUnavailable, Transaction
from server_api.client import GatewayNoReply, GatewaySettings, HttpCirculation
from server_api.demo_ils import DEMO_PATRON_ID, applied_transactions
from server_api.gateway.wire import LedgerState
from tests.gateway.conftest import Site, free_books
from tests.gateway.servers import GatewayProcess

BOOKS = free_books()[-2:]  # test_crash, on the same site (slow_sqlite_site), takes the first ones


@pytest.fixture(scope="module")
def slow_site(slow_sqlite_site: Site) -> Site:
    return slow_sqlite_site


def applied(site: Site, item_id: str, operation: str) -> int:
    return sum(
        1 for t in applied_transactions(site.ils.db_path) if (t.item_id, t.operation) == (item_id, operation)
    )


async def kill_once_applied(site: Site, item_id: str, operation: str) -> None:
    async with asyncio.timeout(10):
        while applied(site, item_id, operation) == 0:
            await asyncio.sleep(0.02)
    await asyncio.to_thread(site.process.kill)  # the library system did it; the reply is on its way


async def test_a_stack_whose_gateway_was_killed_after_sending_it_on_is_no_reply_not_unavailable(
    slow_site: Site,
) -> None:
    book, txn = BOOKS[0], Transaction.new(datetime.now().replace(microsecond=0))
    kiosk = HttpCirculation(GatewaySettings(slow_site.url, token=slow_site.token(), retries=2))
    try:
        await kiosk.ping()  # a warm connection to the library system
        sending = asyncio.create_task(kiosk.checkout(DEMO_PATRON_ID, book, txn))
        await kill_once_applied(slow_site, book, "checkout")
        # Every retry finds the gateway down ("connection refused"): that says nothing about the first try.
        with pytest.raises(GatewayNoReply) as caught:
            await sending
        assert not isinstance(caught.value, CirculationUnavailable)
        slow_site.process = await asyncio.to_thread(
            GatewayProcess(slow_site.config, port=slow_site.process.port).start, 40
        )
        # What happened to the UUID: the restarted gateway found it done at the library system.
        answer = await kiosk.transaction_status(txn.id)
        assert answer.known and answer.state is LedgerState.DONE and answer.reconciled
        again = await kiosk.checkout(DEMO_PATRON_ID, book, txn)  # the station's resend, same UUID
        assert again.ok
    finally:
        await kiosk.close()
    assert applied(slow_site, book, "checkout") == 1


async def test_a_return_whose_gateway_was_killed_after_sending_it_on_is_no_reply_too(slow_site: Site) -> None:
    book = BOOKS[1]
    kiosk = HttpCirculation(GatewaySettings(slow_site.url, token=slow_site.token(), retries=1))
    try:
        assert (await kiosk.checkout(DEMO_PATRON_ID, book, Transaction.new(datetime.now()))).ok
        sending = asyncio.create_task(kiosk.checkin(book, Transaction.new(datetime.now())))
        await kill_once_applied(slow_site, book, "checkin")
        with pytest.raises(GatewayNoReply):
            await sending
    finally:
        await kiosk.close()
        slow_site.process = await asyncio.to_thread(
            GatewayProcess(slow_site.config, port=slow_site.process.port).start, 40
        )
    assert applied(slow_site, book, "checkin") == 1
