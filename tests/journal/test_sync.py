"""The replay, one rule per test, against the demo library system over TCP.

An entry left SENDING is what a crash or a lost reply leaves behind: the action may or may not have
reached the library system. The replayer must ask before it sends (63 for a loan, 17 for a return),
and whatever it sends goes with *no block* and the original transaction date."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from kiosk.core import Operation
from kiosk.journal import TOLD_FAILED, Journal, Replayer, State
from server_api.circulation import Transaction
from server_api.demo_ils import data as demo_data
from server_api.demo_ils.data import iso
from server_api.demo_ils.server import DemoIls
from server_api.sip2.circulation import Sip2Circulation, Sip2Settings

PATRON = demo_data.DEMO_PATRON_ID
NOW = datetime.now().replace(microsecond=0)


class World:
    def __init__(self, ils: DemoIls, circulation: Sip2Circulation, journal: Journal) -> None:
        self.ils = ils
        self.circulation = circulation
        self.journal = journal
        self.replayer = Replayer(journal, circulation)

    def events(self, item_id: str) -> list[tuple[str, str | None, str, int, str | None]]:
        with sqlite3.connect(self.ils.db_path) as db:
            return db.execute(
                "SELECT kind, patron, at, no_block, nb_due FROM events WHERE item_id = ? ORDER BY id",
                (item_id,),
            ).fetchall()

    def record(self, operation: Operation, item_id: str, patron: str = "", **txn: object):  # type: ignore[no-untyped-def]
        state = State.QUEUED if txn.get("offline") else State.SENDING
        at = txn.pop("at", NOW)
        assert isinstance(at, datetime)
        return self.journal.record(Transaction.new(at, **txn), operation, item_id, patron, state=state)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with DemoIls(db_path=tmp_path / "ils.sqlite3") as ils:
        user, password = demo_data.KIOSK_LOGIN
        circulation = Sip2Circulation(
            Sip2Settings(
                host="127.0.0.1",
                port=ils.port,
                user=user,
                password=password,
                location=demo_data.KIOSK_LIBRARY.number,
                institution=demo_data.KIOSK_LIBRARY.number,
                timeout=3.0,
            )
        )
        journal = Journal(tmp_path / "journal.sqlite3")
        try:
            yield World(ils, circulation, journal)
        finally:
            await circulation.close()
            journal.close()


def shelf_items(world: World, count: int) -> list[str]:
    from tests.crash.workload import lendable_items

    return lendable_items(world.ils.db_path)[:count]


async def test_offline_actions_are_replayed_with_no_block_and_their_original_dates(world: World) -> None:
    (item,) = shelf_items(world, 1)
    lent_at, returned_at = NOW - timedelta(hours=5), NOW - timedelta(hours=2)
    due = (NOW + timedelta(days=28)).replace(hour=23, minute=59, second=0)
    world.record(Operation.CHECKOUT, item, PATRON, offline=True, at=lent_at, due_date=due)
    world.record(Operation.CHECKIN, item, offline=True, at=returned_at)

    report = await world.replayer.sync()

    assert (report.replayed, report.conflicts, report.remaining) == (2, 0, 0)
    assert world.events(item) == [
        ("checkout", PATRON, iso(lent_at), 1, iso(due)),  # the due date the patron was given
        ("checkin", PATRON, iso(returned_at), 1, None),  # in order: the loan first, then the return
    ]
    assert all(e.state is State.DONE and e.replayed for e in world.journal.entries())


async def test_a_loan_whose_reply_was_lost_is_found_and_not_sent_again(world: World) -> None:
    (item,) = shelf_items(world, 1)
    entry = world.record(Operation.CHECKOUT, item, PATRON)
    await world.circulation.checkout(PATRON, item, entry.transaction())  # it went out; the reply is lost

    report = await world.replayer.sync()

    assert (report.reconciled, report.replayed) == (1, 0)
    assert [kind for kind, *_ in world.events(item)] == ["checkout"]  # once, not a renewal on top
    stored = world.journal.get(entry.id)
    assert stored is not None and stored.state is State.DONE and stored.outcome["reconciled"]


async def test_a_loan_that_never_went_out_is_sent_once(world: World) -> None:
    (item,) = shelf_items(world, 1)
    world.record(Operation.CHECKOUT, item, PATRON)  # journaled, then the station died before sending

    report = await world.replayer.sync()
    again = await world.replayer.sync()

    assert (report.reconciled, report.replayed) == (0, 1)
    assert (again.replayed, again.reconciled) == (0, 0)
    ((kind, _patron, _at, no_block, _due),) = world.events(item)
    assert (kind, no_block) == ("checkout", 0)  # as first sent: nobody was promised it


async def test_an_unconfirmed_online_loan_is_not_forced_through_by_the_replay(world: World) -> None:
    """The station died with a loan of a reference copy in flight: the patron was never told yes, so
    the replay asks as the station first asked, and the library system's refusal stands."""
    entry = world.record(Operation.CHECKOUT, demo_data.NOT_FOR_LOAN_ITEM, PATRON)

    report = await world.replayer.sync()

    assert (report.abandoned, report.replayed, report.conflicts) == (1, 0, 0)
    stored = world.journal.get(entry.id)
    assert stored is not None and stored.state is State.REFUSED
    assert world.events(demo_data.NOT_FOR_LOAN_ITEM) == []


async def test_an_offline_loan_is_recorded_even_where_the_rules_would_refuse_it(world: World) -> None:
    """Offline, the patron walked out with it: the replay records it (no block), it is not a refusal."""
    world.record(Operation.CHECKOUT, demo_data.NOT_FOR_LOAN_ITEM, PATRON, offline=True)

    report = await world.replayer.sync()

    assert report.replayed == 1
    ((kind, patron, _at, no_block, _due),) = world.events(demo_data.NOT_FOR_LOAN_ITEM)
    assert (kind, patron, no_block) == ("checkout", PATRON, 1)


async def test_a_return_whose_reply_was_lost_is_found_by_the_item_status(world: World) -> None:
    (item,) = shelf_items(world, 1)
    await world.circulation.checkout(PATRON, item, Transaction.new(NOW))
    entry = world.record(Operation.CHECKIN, item)
    await world.circulation.checkin(item, entry.transaction())

    report = await world.replayer.sync()

    assert report.reconciled == 1 and report.replayed == 0
    assert [kind for kind, *_ in world.events(item)] == ["checkout", "checkin"]


async def test_a_patron_told_it_failed_gets_a_conflict_when_it_happened_after_all(world: World) -> None:
    (item,) = shelf_items(world, 1)
    entry = world.record(Operation.CHECKOUT, item, PATRON)
    await world.circulation.checkout(PATRON, item, entry.transaction())
    world.journal.settle(entry.id, State.SENDING, outcome={"told_patron": TOLD_FAILED}, durable=True)

    report = await world.replayer.sync()

    assert report.conflicts == 1
    stored = world.journal.get(entry.id)
    assert stored is not None and stored.state is State.CONFLICT and stored.outcome["happened"] is True
    assert [kind for kind, *_ in world.events(item)] == ["checkout"]


async def test_a_patron_told_it_failed_is_believed_when_it_did_not_happen(world: World) -> None:
    (item,) = shelf_items(world, 1)
    entry = world.record(Operation.CHECKOUT, item, PATRON)
    world.journal.settle(entry.id, State.SENDING, outcome={"told_patron": TOLD_FAILED}, durable=True)

    report = await world.replayer.sync()

    assert (report.abandoned, report.replayed) == (1, 0)  # never sent: the patron did not take it
    stored = world.journal.get(entry.id)
    assert stored is not None and stored.state is State.REFUSED
    assert world.events(item) == []


async def test_a_refused_replay_is_a_conflict_with_the_library_systems_words(world: World) -> None:
    entry = world.record(Operation.CHECKOUT, demo_data.LOST_ITEM, PATRON, offline=True)
    world.record(Operation.CHECKIN, shelf_items(world, 1)[0], offline=True, clock_synchronised=False)

    report = await world.replayer.sync()

    assert (report.conflicts, report.replayed) == (1, 1)
    (conflict,) = world.journal.conflicts()
    assert conflict.id == entry.id and conflict.reason == "item_lost"
    assert "tapt" in conflict.screen_message and conflict.outcome["happened"] is False
    untrusted = [e for e in world.journal.entries() if not e.clock_synchronised]
    assert untrusted and untrusted[0].outcome.get("time_untrusted") is True  # flagged for staff


async def test_with_the_library_system_gone_nothing_is_settled_and_nothing_is_lost(world: World) -> None:
    items = shelf_items(world, 2)
    for item in items:
        world.record(Operation.CHECKOUT, item, PATRON, offline=True)
    await world.ils.stop()

    report = await world.replayer.sync()

    assert report.remaining == 2 and report.stopped
    assert len(world.journal.unsettled()) == 2


async def test_an_entry_settled_while_the_replay_ran_is_not_sent_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    (item,) = shelf_items(world, 1)
    entry = world.record(Operation.CHECKOUT, item, PATRON)
    read_before = world.journal.unsettled()  # the replay read the journal ...
    world.journal.settle(entry.id, State.REFUSED, reason="not sent")  # ... then the station settled it
    monkeypatch.setattr(world.journal, "unsettled", lambda: read_before)

    report = await world.replayer.sync()

    assert "journal changed while replaying" in report.stopped and report.remaining == 0
    stored = world.journal.get(entry.id)
    assert stored is not None and stored.state is State.REFUSED
    assert world.events(item) == []  # the table refused refused -> replaying: nothing went out
