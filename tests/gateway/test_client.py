"""HttpCirculation against the real gateway under uvicorn, in front of the demo ILS on TCP: the same
`Circulation` protocol and the same error classes the station handles for SIP2."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest

from server_api.circulation import (
    Circulation,
    CirculationNoReply,
    CirculationUnavailable,
    RefusalReason,
    RouteKind,
    Transaction,
)
from server_api.client import (
    GatewayNoReply,
    GatewayRefused,
    GatewayRequestRefused,
    GatewaySettings,
    GatewayUnreachable,
    HttpCirculation,
    ItemFailure,
    enroll,
    write_token_file,
)
from server_api.demo_ils import DEMO_PATRON_ID, DEMO_PATRON_PIN, TRANSIT_HOLD_ITEM, applied_transactions
from server_api.demo_ils.data import ACCOUNTS, NOT_FOR_LOAN_ITEM, PATRONS
from server_api.gateway.wire import Heartbeat
from tests.gateway.conftest import HARSTAD, Site, free_books
from tests.gateway.servers import enrollment_code, free_port

BOOKS = free_books()


def txn() -> Transaction:
    return Transaction.new(datetime.now().replace(microsecond=0))


@pytest.fixture
async def kiosk(sqlite_site: Site) -> AsyncIterator[HttpCirculation]:
    client = HttpCirculation(GatewaySettings(sqlite_site.url, token=sqlite_site.token()))
    try:
        yield client
    finally:
        await client.close()


def checkouts_of(site: Site, item_id: str) -> int:
    return sum(
        1
        for t in applied_transactions(site.ils.db_path)
        if t.item_id == item_id and t.operation == "checkout"
    )


async def test_http_circulation_speaks_the_circulation_protocol(kiosk: HttpCirculation) -> None:
    assert isinstance(kiosk, Circulation)
    await kiosk.ping()
    account = await kiosk.patron(DEMO_PATRON_ID, DEMO_PATRON_PIN, txn())
    assert account.found and account.pin_ok and account.may_borrow and account.name
    wrong = await kiosk.patron(DEMO_PATRON_ID, "0000", txn())
    assert wrong.pin_ok is False
    status = await kiosk.item_status(BOOKS[0])
    assert status.found and status.title
    await kiosk.end_session(DEMO_PATRON_ID)


async def test_a_stack_goes_in_one_request_and_each_item_keeps_its_outcome(
    kiosk: HttpCirculation, sqlite_site: Site
) -> None:
    items = [(book, txn()) for book in BOOKS[1:4]] + [(NOT_FOR_LOAN_ITEM, txn())]
    outcomes = await kiosk.checkout_many(DEMO_PATRON_ID, items, pin=DEMO_PATRON_PIN)
    assert [o.ok for o in outcomes if not isinstance(o, ItemFailure)] == [True, True, True, False]
    refused = outcomes[3]
    assert not isinstance(refused, ItemFailure) and refused.reason is RefusalReason.ITEM_NOT_FOR_LOAN
    assert refused.screen_message
    back = await kiosk.checkin_many([(book, txn()) for book in BOOKS[1:4]])
    assert all(not isinstance(o, ItemFailure) and o.ok for o in back)
    renewed = await kiosk.renew(DEMO_PATRON_ID, BOOKS[1], txn())
    assert renewed.ok is False and renewed.reason is not None  # returned already: nothing to renew


async def test_a_return_carries_its_routing_and_the_hold_patron_only_for_the_staff_slip(
    kiosk: HttpCirculation,
) -> None:
    outcome = await kiosk.checkin(TRANSIT_HOLD_ITEM, txn())
    assert outcome.ok and outcome.route.kind is RouteKind.TRANSIT
    assert outcome.route.destination_id == HARSTAD and outcome.route.destination_name == "Harstad bibliotek"
    assert outcome.route.hold_patron_name not in outcome.screen_message + outcome.print_line


class LoseFirstReply(httpx.AsyncBaseTransport):
    """A real transport whose first POST reply is lost after the gateway carried the request out."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.lost = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and not self.lost:
            self.lost += 1
            await response.aread()
            raise httpx.ReadTimeout("reply lost", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_lost_reply_is_retried_with_the_same_keys_and_lends_once(sqlite_site: Site) -> None:
    transport = LoseFirstReply()
    client = HttpCirculation(GatewaySettings(sqlite_site.url, token=sqlite_site.token()), transport=transport)
    try:
        outcome = await client.checkout(DEMO_PATRON_ID, BOOKS[5], txn())
    finally:
        await client.close()
    assert transport.lost == 1 and outcome.ok
    assert checkouts_of(sqlite_site, BOOKS[5]) == 1


async def test_a_lost_patron_reply_is_not_retried_and_says_no_reply(sqlite_site: Site) -> None:
    transport = LoseFirstReply()
    client = HttpCirculation(GatewaySettings(sqlite_site.url, token=sqlite_site.token()), transport=transport)
    try:
        with pytest.raises(GatewayNoReply) as caught:
            await client.patron(DEMO_PATRON_ID, DEMO_PATRON_PIN, txn())
    finally:
        await client.close()
    assert isinstance(caught.value, CirculationNoReply)


async def test_an_unreachable_gateway_is_unavailable_and_nothing_was_sent() -> None:
    client = HttpCirculation(GatewaySettings(f"http://127.0.0.1:{free_port()}", token="kgw1.x.y", retries=1))
    try:
        with pytest.raises(GatewayUnreachable) as caught:
            await client.checkout(DEMO_PATRON_ID, BOOKS[6], txn())
    finally:
        await client.close()
    assert isinstance(caught.value, CirculationUnavailable)


async def test_a_revoked_device_is_refused_and_told_to_enroll_again(sqlite_site: Site) -> None:
    token = sqlite_site.token()
    device_id = token.split(".")[1]
    client = HttpCirculation(GatewaySettings(sqlite_site.url, token=token))
    try:
        await client.ping()
        from server_api.gateway.config import load
        from server_api.gateway.devices import revoke
        from server_api.gateway.storage import open_engine

        assert revoke(
            open_engine(load(sqlite_site.config).database_url()), device_id, actor="test", libraries=None
        )
        with pytest.raises(GatewayRefused) as caught:
            await client.checkout(DEMO_PATRON_ID, BOOKS[7], txn())
    finally:
        await client.close()
    assert caught.value.device_revoked and isinstance(caught.value, CirculationUnavailable)
    assert checkouts_of(sqlite_site, BOOKS[7]) == 0


async def test_what_happened_to_a_transaction(kiosk: HttpCirculation) -> None:
    record = txn()
    await kiosk.checkout(DEMO_PATRON_ID, BOOKS[8], record)
    answer = await kiosk.transaction_status(record.id)
    assert answer.known and answer.state == "done" and answer.outcome is not None and answer.outcome.ok
    never = await kiosk.transaction_status(uuid.uuid4())
    assert never.known is False


async def test_a_reused_key_is_a_request_error_not_an_outage(kiosk: HttpCirculation) -> None:
    record = txn()
    await kiosk.checkout(DEMO_PATRON_ID, BOOKS[9], record)
    with pytest.raises(GatewayRequestRefused):
        await kiosk.checkout(DEMO_PATRON_ID, BOOKS[10], record)


async def test_enroll_writes_nothing_but_returns_the_token_once_and_the_code_is_spent(
    sqlite_site: Site, tmp_path: object
) -> None:
    code = enrollment_code(sqlite_site.config, HARSTAD, "Harstad 1")
    answer = await enroll(sqlite_site.url, code)
    assert answer.library == HARSTAD and answer.kiosk_name == "Harstad 1" and answer.token.startswith("kgw1.")
    with pytest.raises(GatewayRefused) as again:
        await enroll(sqlite_site.url, code)
    assert again.value.status == 403 and "already used" in str(again.value)
    path = write_token_file(f"{tmp_path}/token", answer.token)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    client = HttpCirculation(GatewaySettings(sqlite_site.url, token_file=str(path)))
    try:
        await client.heartbeat(Heartbeat(sent_at=datetime.now(), online=True, journal_depth=3))
        assert (await client.offline_data()).library == HARSTAD
    finally:
        await client.close()


def test_the_gateway_log_holds_no_pin_token_patron_name_or_sip2_password(sqlite_site: Site) -> None:
    """Run last in this module: every test above went through this gateway, logging at DEBUG."""
    log = sqlite_site.process.log_path.read_text(errors="replace") if sqlite_site.process.log_path else ""
    assert "POST /v1/checkouts" in log  # the log is there and has seen the traffic
    secrets = [*(p.name for p in PATRONS), *(password for _, password, _ in ACCOUNTS), "kgw1."]
    assert [s for s in secrets if s in log] == []
    assert not re.search(rf"\b{DEMO_PATRON_PIN}\b", log)
