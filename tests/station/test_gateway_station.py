"""The station through the consortium's gateway: kiosk -> kiosk-gateway (uvicorn on 127.0.0.1, SQLite) ->
demo ILS on TCP, all real. A stack goes as one request with every item's own key, "what happened to UUID
X?" is asked of the gateway, heartbeats and the offline data travel, and nothing is lost or doubled."""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import timedelta
from pathlib import Path

import httpx

from kiosk.core import Action, Operation, SessionPolicy
from kiosk.demo import DemoEnvironment, finish_visit, handle_stack, log_in
from kiosk.journal import State
from kiosk.station import CentralCardBook, GatewayLink
from server_api.circulation import PatronAccount, Transaction
from server_api.demo_ils.data import BLOCKED_PATRON_ID, DEMO_PATRON_ID
from server_api.gateway.wire import LedgerState
from tests.crash import workload


def gateway_env(tmp_path: Path) -> DemoEnvironment:
    return DemoEnvironment(
        tmp_path, gateway=True, policy=SessionPolicy(goodbye_time=timedelta(0)), tick_interval=0.05
    )


def ils_events(db: Path, item_id: str) -> list[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT kind FROM events WHERE item_id = ? ORDER BY rowid", (item_id,))
        return [row[0] for row in rows]


async def test_a_stack_placed_together_goes_to_the_gateway_as_one_request_with_each_items_own_key(
    tmp_path: Path,
) -> None:
    async with gateway_env(tmp_path) as env:
        assert env.station is not None and isinstance(env.circulation, GatewayLink)
        link = env.circulation
        items = env.demo_borrow_items[:3]
        before = link.requests
        assert await log_in(env)
        await handle_stack(env, Action.BORROW, items)
        await finish_visit(env, receipt=False)
        assert link.requests - before == 1  # three loans, one POST /v1/checkouts
        entries = [e for e in env.journal.entries() if e.operation is Operation.CHECKOUT]
        assert sorted(e.item_id for e in entries) == sorted(items)
        assert {e.state for e in entries} == {State.DONE}
        for entry in entries:  # the gateway's ledger holds each journal UUID, for its own item
            answer = await link.client.transaction_status(entry.id)
            assert answer.known and answer.state is LedgerState.DONE and answer.item_id == entry.item_id


async def test_reconciliation_asks_the_gateway_what_happened_and_sends_only_what_never_arrived(
    tmp_path: Path,
) -> None:
    async with gateway_env(tmp_path) as env:
        assert env.station is not None and env.ils is not None and isinstance(env.circulation, GatewayLink)
        link, journal = env.circulation, env.journal
        await env.station.settle()  # the start-up check and its replay are over
        arrived, lost = workload.lendable_items(env.ils.db_path)[:2]
        # A crash after the request went out: the gateway has it, the journal says SENDING.
        sent = Transaction.new(env.clock())
        journal.record(sent, Operation.CHECKOUT, arrived, DEMO_PATRON_ID)
        assert (await link.client.checkout(DEMO_PATRON_ID, arrived, sent)).ok
        # A crash before it went out.
        journal.record(Transaction.new(env.clock()), Operation.CHECKOUT, lost, DEMO_PATRON_ID)
        asked_loans: list[str] = []
        original = link.client.patron

        async def counting_patron(patron_id: str, pin: str | None, txn: Transaction) -> PatronAccount:
            asked_loans.append(patron_id)
            return await original(patron_id, pin, txn)

        link.client.patron = counting_patron  # type: ignore[method-assign]
        report = await env.station.sync()
        assert (report.reconciled, report.replayed, report.remaining) == (1, 1, 0)
        assert asked_loans == []  # the gateway's ledger answered, not the patron's loans
        assert ils_events(env.ils.db_path, arrived) == ["checkout"]
        assert ils_events(env.ils.db_path, lost) == ["checkout"]


async def test_the_station_reports_its_heartbeat_to_the_gateway(tmp_path: Path) -> None:
    async with gateway_env(tmp_path) as env:
        assert env.station is not None and env.gateway is not None and env.station.gateway is not None
        beat = await env.station.gateway.beat()
        assert beat.online and beat.reader == "ok" and beat.printer == "ok"
        assert beat.journal_depth == 0 and beat.sip2_rtt_ms is not None and beat.version
        async with httpx.AsyncClient() as client:  # the gateway runs in this event loop
            metrics = (await client.get(f"{env.gateway.url}/metrics", timeout=10)).text
        online = [line for line in metrics.splitlines() if line.startswith("kiosk_online{")]
        assert any("Demo kiosk" in line and line.endswith(" 1.0") for line in online), online


async def test_offline_data_from_the_gateway_blocks_and_vouches_for_cards_offline(tmp_path: Path) -> None:
    async with gateway_env(tmp_path) as env:
        assert env.station is not None and isinstance(env.circulation, GatewayLink)
        assert env.station.gateway is not None
        for card in (BLOCKED_PATRON_ID, DEMO_PATRON_ID):  # the library system answers for both
            await env.circulation.patron(card, None, Transaction.new(env.clock()))
        lists = await env.station.gateway.refresh()
        assert lists.is_blocked(BLOCKED_PATRON_ID) and not lists.is_blocked(DEMO_PATRON_ID)
        assert lists.is_known(DEMO_PATRON_ID) and not lists.is_known("219099999999")
        cards = env.station.session.identity.cards
        assert isinstance(cards, CentralCardBook)
        assert cards.recall(BLOCKED_PATRON_ID).blocked  # refused offline, never seen at this station
        assert cards.recall(DEMO_PATRON_ID).listed  # known to borrow offline from the central list
        stored = tmp_path / "journal.sqlite3.offline-data.json"
        assert stat.S_IMODE(os.stat(stored).st_mode) == 0o600  # it holds the library's key
        assert DEMO_PATRON_ID not in stored.read_text()  # pseudonyms only


async def test_a_blocked_card_the_consortium_knows_is_refused_offline(tmp_path: Path) -> None:
    async with gateway_env(tmp_path) as env:
        assert env.station is not None and env.station.gateway is not None
        assert isinstance(env.circulation, GatewayLink)
        await env.circulation.patron(BLOCKED_PATRON_ID, None, Transaction.new(env.clock()))
        await env.station.gateway.refresh()
        env.cut_network()
        while env.station.online:
            await env.station.check_connection()
        env.station.press(Action.BORROW)
        env.place_patron_card(BLOCKED_PATRON_ID)
        screen = await env.wait_for(
            lambda s: s.message is not None and s.message.key.startswith("menu."), timeout=10
        )
        assert screen.message is not None and screen.message.key == "menu.offline_blocked"
