"""`DemoGateway`: kiosk -> gateway -> demo ILS in one event loop, as `kiosk demo` will run it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from server_api.circulation import RouteKind, Transaction
from server_api.client import GatewaySettings, HttpCirculation
from server_api.demo_ils import DEMO_PATRON_ID, DEMO_PATRON_PIN, TRANSIT_HOLD_ITEM, DemoIls
from tests.gateway.conftest import TROMSO, free_books


def txn() -> Transaction:
    return Transaction.new(datetime.now().replace(microsecond=0))


async def test_a_demo_kiosk_borrows_and_returns_through_the_embedded_gateway(tmp_path: Path) -> None:
    from server_api.gateway.demo import DemoGateway

    books = free_books()[:3]
    async with (
        DemoIls(tmp_path / "ils.sqlite") as ils,
        DemoGateway(tmp_path / "gw", ils_port=ils.port) as gateway,
    ):
        assert gateway.url.startswith("http://127.0.0.1:")
        kiosk = HttpCirculation(GatewaySettings(gateway.url, token=gateway.enroll(TROMSO, "Demo kiosk")))
        try:
            account = await kiosk.patron(DEMO_PATRON_ID, DEMO_PATRON_PIN, txn())
            lent = await kiosk.checkout_many(DEMO_PATRON_ID, [(b, txn()) for b in books], pin=DEMO_PATRON_PIN)
            back = await kiosk.checkin(TRANSIT_HOLD_ITEM, txn())
        finally:
            await kiosk.close()
    assert account.pin_ok and all(getattr(o, "ok", False) for o in lent)
    assert back.route.kind is RouteKind.TRANSIT
    assert [t.operation for t in ils.applied_transactions()].count("checkout") == 3
