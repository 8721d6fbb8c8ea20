"""The offline replay through the consortium's gateway: the journal goes as stacks (each entry with its own
UUID as idempotency key), not one request per entry, and every item's actions still reach the library
system in the order they happened."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

from kiosk.core import Action, OfflinePolicy, SessionPolicy
from kiosk.demo import DemoEnvironment, finish_visit, handle_stack, log_in
from kiosk.journal import State
from kiosk.station import GatewayLink
from server_api.demo_ils.data import BLOCKED_PATRON_ID, FEES_PATRON_ID, PATRONS
from server_api.gateway.wire import LedgerState
from tests.crash import workload


def ils_events(db: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT kind, item_id, patron FROM events WHERE kind IN ('checkout', 'checkin') ORDER BY id"
        )
        return [(kind, item, patron) for kind, item, patron in rows]


async def test_an_offline_replay_through_the_gateway_goes_as_stacks_in_order_per_item(tmp_path: Path) -> None:
    patrons = [p.card for p in PATRONS if p.card not in (BLOCKED_PATRON_ID, FEES_PATRON_ID)][:3]
    policy = SessionPolicy(
        goodbye_time=timedelta(0),
        offline=OfflinePolicy(max_items_per_session=5, max_items_per_patron=100, known_card=False),
    )
    async with DemoEnvironment(tmp_path, gateway=True, policy=policy, tick_interval=0.05) as env:
        station = env.station
        assert station is not None and env.ils is not None and isinstance(env.circulation, GatewayLink)
        await station.settle()
        items = workload.lendable_items(env.ils.db_path)[:9]
        env.cut_network()  # between the gateway and the library system: the gateway answers 503
        assert not await station.check_connection() and not station.online
        # Offline: each patron borrows three items, returns them at a second visit, and at a third borrows
        # the next patron's three: each item has three entries (checkout, checkin, checkout) to keep in order.
        for action, block in ((Action.BORROW, 0), (Action.RETURN, 0), (Action.BORROW, 1)):
            for n, patron in enumerate(patrons):
                first = 3 * ((n + block) % 3)
                assert await log_in(env, patron)
                await handle_stack(env, action, items[first : first + 3])
                await finish_visit(env, receipt=False)
        queued = station.journal.entries(states=(State.QUEUED,))
        assert len(queued) == 27
        before = env.circulation.requests

        env.restore_network()  # back: the station notices by itself and replays
        async with asyncio.timeout(60):
            while not station.online or station.journal.unsettled():
                await asyncio.sleep(0.05)
        await station.settle()

        requests = env.circulation.requests - before
        assert requests <= 12, requests  # 27 entries in three rounds, each round a few stacks
        assert {e.state for e in station.journal.entries()} == {State.DONE}
        assert all(e.replayed for e in station.journal.entries())
        events = ils_events(env.ils.db_path)
        for item in items:  # per item, in the order it happened, each once
            kinds = [(kind, patron) for kind, item_id, patron in events if item_id == item]
            lent_first = patrons[items.index(item) // 3]
            lent_next = patrons[(items.index(item) // 3 - 1) % 3]
            assert [k for k, _ in kinds] == ["checkout", "checkin", "checkout"], (item, kinds)
            assert (kinds[0][1], kinds[2][1]) == (lent_first, lent_next), (item, kinds)
        for entry in queued:  # each journal UUID is the gateway's idempotency key
            answer = await env.circulation.client.transaction_status(entry.id)
            assert answer.known and answer.state is LedgerState.DONE and answer.item_id == entry.item_id
