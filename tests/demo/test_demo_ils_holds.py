"""The demo ILS over TCP: renew all (65), holds (15) with real semantics, its circulation log, pooled
parallel checkouts per branch account, and `kiosk sip2 probe` against it."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from server_api.circulation import RefusalReason, RouteKind, Transaction
from server_api.demo_ils import (
    BLOCKED_PATRON_ID,
    DEMO_BORROW_ITEMS,
    DEMO_PATRON_ID,
    DEMO_PATRON_PIN,
    KIOSK_LOCATION,
    KIOSK_LOGIN,
    LIBRARY_NAMES,
    TRANSIT_HOLD_ITEM,
    DemoIls,
    applied_transactions,
)
from server_api.demo_ils.data import ALTA, DEMO_EXISTING_LOAN, HARSTAD, HOLD_SHELF_ITEM, NOT_FOR_LOAN_ITEM
from server_api.sip2 import Sip2Circulation
from server_api.sip2.probe import run_probe
from tests.demo.kiosks import kiosk

NOW = datetime(2024, 3, 5, 14, 0, 0)


def txn(at: datetime = NOW, **kw: object) -> Transaction:
    return Transaction.new(at, **kw)


@pytest.fixture
async def ils(tmp_path: Path) -> AsyncIterator[DemoIls]:
    async with DemoIls(tmp_path / "ils.sqlite", clock=lambda: NOW) as server:
        yield server


@pytest.fixture
async def circ(ils: DemoIls) -> AsyncIterator[Sip2Circulation]:
    c = kiosk(ils)
    yield c
    await c.close()


async def test_renew_all_renews_what_it_may_and_lists_the_rest(circ: Sip2Circulation) -> None:
    mine = await circ.renew_all(DEMO_PATRON_ID, txn(), pin=DEMO_PATRON_PIN)
    assert mine.ok and mine.renewed == (DEMO_EXISTING_LOAN,) and mine.not_renewed == ()
    assert "1 fornyet" in mine.screen_message
    status = await circ.item_status(DEMO_EXISTING_LOAN)
    assert status.due is not None and status.due.date() == (NOW + timedelta(days=28)).date()
    # 219000000004 has an item someone else is waiting for: refused, and said so per item.
    held = await circ.renew_all("219000000004", txn())
    assert held.ok and held.renewed == () and held.not_renewed == (HOLD_SHELF_ITEM,)
    unknown = await circ.renew_all("000", txn())
    assert not unknown.ok and unknown.reason is RefusalReason.PATRON_NOT_FOUND
    wrong_pin = await circ.renew_all(DEMO_PATRON_ID, txn(), pin="0000")
    assert not wrong_pin.ok and wrong_pin.reason is RefusalReason.PIN_INVALID


async def test_a_hold_placed_at_the_kiosk_traps_the_item_at_checkin(circ: Sip2Circulation) -> None:
    item = DEMO_BORROW_ITEMS[0]
    placed = await circ.hold(DEMO_PATRON_ID, txn(), item_id=item, pin=DEMO_PATRON_PIN)
    assert placed.ok and placed.available and placed.queue_position == 1
    assert placed.pickup_id == KIOSK_LOCATION and placed.pickup_library == LIBRARY_NAMES[KIOSK_LOCATION]
    again = await circ.hold(DEMO_PATRON_ID, txn(), item_id=item)
    assert (
        not again.ok
        and again.reason is RefusalReason.HOLD_REFUSED
        and "allerede reservert" in again.screen_message
    )
    # The item comes back over the counter: the hold decides where it goes.
    back = await circ.checkin(item, txn())
    assert back.route.kind is RouteKind.HOLD_SHELF and back.route.hold_patron_id == DEMO_PATRON_ID
    account = await circ.patron(DEMO_PATRON_ID, DEMO_PATRON_PIN, txn())
    assert item in {h.item_id for h in account.holds_ready}


async def test_hold_queue_pickup_change_cancel_and_refusals(circ: Sip2Circulation) -> None:
    queued = await circ.hold(DEMO_PATRON_ID, txn(), item_id=TRANSIT_HOLD_ITEM)
    assert queued.ok and not queued.available and queued.queue_position == 2  # behind a Harstad patron
    moved = await circ.hold(DEMO_PATRON_ID, txn(), item_id=TRANSIT_HOLD_ITEM, mode="*", pickup=ALTA)
    assert moved.ok and moved.pickup_library == LIBRARY_NAMES[ALTA]
    cancelled = await circ.hold(DEMO_PATRON_ID, txn(), item_id=TRANSIT_HOLD_ITEM, mode="-")
    assert cancelled.ok
    nothing = await circ.hold(DEMO_PATRON_ID, txn(), item_id=TRANSIT_HOLD_ITEM, mode="-")
    assert not nothing.ok and nothing.reason is RefusalReason.HOLD_REFUSED
    blocked = await circ.hold(BLOCKED_PATRON_ID, txn(), item_id=TRANSIT_HOLD_ITEM)
    assert not blocked.ok and blocked.reason is RefusalReason.PATRON_BLOCKED
    reference = await circ.hold(DEMO_PATRON_ID, txn(), item_id=NOT_FOR_LOAN_ITEM)
    assert not reference.ok and reference.reason is RefusalReason.ITEM_NOT_FOR_LOAN
    by_title = await circ.hold(DEMO_PATRON_ID, txn(), title="Sult")
    assert by_title.ok and by_title.item_id and by_title.title == "Sult"
    unknown = await circ.hold(DEMO_PATRON_ID, txn(), title="Finnes ikke")
    assert not unknown.ok
    with pytest.raises(ValueError, match="hold mode"):
        await circ.hold(DEMO_PATRON_ID, txn(), item_id="x", mode="?")


async def test_circulation_log_counts_each_applied_transaction_with_its_date(
    ils: DemoIls, circ: Sip2Circulation
) -> None:
    item = DEMO_BORROW_ITEMS[1]
    at = NOW - timedelta(hours=3)
    offline = txn(at, offline=True, due_date=at + timedelta(days=14))
    assert (await circ.checkout(DEMO_PATRON_ID, item, offline)).ok
    assert (await circ.checkin(item, txn(at + timedelta(hours=1), offline=True))).ok
    assert (await circ.checkout(DEMO_PATRON_ID, item, offline)).ok  # the same replay once more
    log = applied_transactions(ils.db_path)
    assert log == ils.applied_transactions()
    counts = Counter((t.operation, t.item_id, t.transaction_date) for t in log)
    assert counts[("checkout", item, at)] == 2  # a duplicate replay is visible
    assert counts[("checkin", item, at + timedelta(hours=1))] == 1
    first = next(t for t in log if t.operation == "checkout")
    assert first.no_block and first.nb_due == at + timedelta(days=14) and first.branch == KIOSK_LOCATION
    assert first.recorded_at == NOW and first.patron == DEMO_PATRON_ID


async def test_a_stack_checks_out_in_parallel_through_the_branch_account(ils: DemoIls) -> None:
    tromso = kiosk(ils, pool_size=3)
    harstad = kiosk(ils, login=("kiosk-harstad", "demo-harstad"), location=HARSTAD)
    try:
        items = list(DEMO_BORROW_ITEMS[:3])
        outcomes = await asyncio.gather(*(tromso.checkout(DEMO_PATRON_ID, i, txn()) for i in items))
        assert all(o.ok for o in outcomes), outcomes
        assert tromso.pool is not None and tromso.pool.created == 3
        returned = await harstad.checkin(items[0], txn())
        assert returned.ok and returned.route.kind is RouteKind.TRANSIT  # Tromsø's item returned in Harstad
        branches = {(t.operation, t.item_id): t.branch for t in ils.applied_transactions()}
        assert {branches[("checkout", i)] for i in items} == {KIOSK_LOCATION}
        assert branches[("checkin", items[0])] == HARSTAD  # the branch comes from the login
    finally:
        await tromso.close()
        await harstad.close()


async def test_probe_against_the_demo_ils_and_a_closed_port(
    ils: DemoIls, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    password = tmp_path / "password"
    password.write_text(KIOSK_LOGIN[1] + "\n")
    password.chmod(0o600)
    common = {"host": "127.0.0.1", "user": KIOSK_LOGIN[0], "password_file": str(password), "timeout": 2.0}
    code = await asyncio.to_thread(run_probe, port=ils.port, profile="koha", **common)  # type: ignore[arg-type]
    out = capsys.readouterr().out
    assert code == 0
    assert (
        "login and status succeeded" in out
        and "Off-line transactions accepted later (no block replay): yes" in out
    )
    assert (
        "renew all (65)" in out and "Not supported: block patron (01)" in out and "Retries allowed: 3" in out
    )
    assert KIOSK_LOGIN[1] not in out
    latin1 = await asyncio.to_thread(
        run_probe,
        port=ils.port,
        profile="bibliofil",
        **common,  # type: ignore[arg-type]
    )
    out = capsys.readouterr().out
    assert latin1 == 0 and "Charset iso-8859-1: cannot send" in out and "ŋ" in out  # Sámi ŋ is not Latin-1
    assert "UNVERIFIED profile" in out
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    code = await asyncio.to_thread(run_probe, port=closed, **common)  # type: ignore[arg-type]
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "cannot connect" in err
    wrong = tmp_path / "wrong"
    wrong.write_text("nope")
    code = await asyncio.to_thread(run_probe, port=ils.port, **{**common, "password_file": str(wrong)})  # type: ignore[arg-type]
    err = capsys.readouterr().err
    assert code == 1 and "login refused" in err and "nope" not in err
    assert run_probe(port=ils.port, **{**common, "password_file": str(tmp_path / "missing")}) == 2  # type: ignore[arg-type]
