"""A stack is sent at once, not two items at a time (issue 17), and one item's actions never overlap.

The demo library system sits behind a proxy that delays every reply by one round trip (200 ms). What is
asserted is counted on that link (how many requests were waiting for their replies at once, and which),
not how long the test took: a stack of ten sent together has ten requests out at once, a pool of two
never more than two, so the stack takes one round trip instead of five."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from kiosk.core import Action, Checkin, Checkout, SessionPolicy
from kiosk.demo import DemoEnvironment, handle_stack, log_in
from server_api.demo_ils.server import applied_transactions
from server_api.faulty_link import FaultPlan, FaultyLink
from tests.crash import workload

ROUND_TRIP = 0.2
STACK = 10


def _environment(tmp_path: Path, pool: tuple[int, int]) -> DemoEnvironment:
    return DemoEnvironment(
        tmp_path,
        policy=SessionPolicy(goodbye_time=timedelta(0)),
        poll_interval=0.01,
        tick_interval=0.05,
        sip2_timeout=5.0,
        sip2_pool=pool,
        link_plan=FaultPlan(delay_reply=1.0, delay_seconds=ROUND_TRIP),
    )


async def _pool_open(env: DemoEnvironment, connections: int) -> None:
    pool = getattr(env.circulation, "pool", None)
    assert pool is not None
    async with asyncio.timeout(20):
        while pool.open_connections < connections:
            await asyncio.sleep(0.05)


ACTIONS = (b"11", b"09", b"29")  # SIP2 checkout, checkin, renew (not the lookups that name the item too)


class Peaks:
    """The most circulation actions on one item (SIP2 AB field) out at once on a link."""

    def __init__(self, link: FaultyLink, item: str) -> None:
        self.of_item = 0
        self._item = f"|AB{item}|".encode()
        link.watch = self

    def __call__(self, in_flight: dict[int, bytes]) -> None:
        mine = sum(r[:2] in ACTIONS and self._item in r for r in in_flight.values())
        self.of_item = max(self.of_item, mine)


async def _peak_of_a_borrowed_stack(tmp_path: Path, pool: tuple[int, int]) -> int:
    """The most checkouts waiting for their replies at once while a stack of ten is borrowed."""
    async with _environment(tmp_path, pool) as env:
        assert env.station is not None and env.ils is not None and env.link is not None
        await _pool_open(env, pool[0])  # opened at start, ahead of the first stack
        items = workload.lendable_items(env.ils.db_path)[:STACK]
        assert await log_in(env)
        checkouts = [0]
        env.link.watch = lambda out: checkouts.__setitem__(
            0, max(checkouts[0], sum(r.startswith(b"11") for r in out.values()))
        )
        await handle_stack(env, Action.BORROW, items)
        await env.station.settle()
        loans = [t for t in applied_transactions(env.ils.db_path) if t.operation == "checkout"]
        assert sorted(t.item_id for t in loans) == sorted(items)
        return checkouts[0]


async def test_a_stack_of_ten_is_sent_at_once_over_a_pool_opened_at_start(tmp_path: Path) -> None:
    # Ten requests out together: the stack costs one round trip to the library system, not five.
    assert await _peak_of_a_borrowed_stack(tmp_path / "pool-10", (STACK, STACK)) == STACK


async def test_a_stack_grows_the_pool_up_to_its_ceiling_and_no_further(tmp_path: Path) -> None:
    # Two connections opened at start, ceiling six: the stack opens four more and waits for the rest.
    assert await _peak_of_a_borrowed_stack(tmp_path / "pool-2-6", (2, 6)) == 6


async def test_with_the_old_pool_of_two_a_stack_goes_two_at_a_time(tmp_path: Path) -> None:
    # What the count above tells apart: the pool the station had before issue 17 (five round trips).
    assert await _peak_of_a_borrowed_stack(tmp_path / "pool-2", (1, 2)) == 2


async def test_two_actions_on_one_item_are_never_in_flight_at_once(tmp_path: Path) -> None:
    async with _environment(tmp_path, (4, 4)) as env:
        assert env.station is not None and env.ils is not None
        assert env.link is not None
        await _pool_open(env, 4)
        item = workload.lendable_items(env.ils.db_path)[0]
        peaks = Peaks(env.link, item)
        sending = env.station.sending
        # Both start in the same loop turn; with four idle connections they could go out together.
        await asyncio.gather(
            sending.circulate(Checkout(env.demo_patron_id, item)),
            sending.circulate(Checkin(item)),
            sending.circulate(Checkout(env.demo_patron_id, item)),
        )
        applied = [t for t in applied_transactions(env.ils.db_path) if t.item_id == item]
        assert [t.operation for t in applied] == ["checkout", "checkin", "checkout"]
        assert peaks.of_item == 1  # each went out only after the reply to the one before came back
        assert [e.state.value for e in env.journal.entries() if e.item_id == item] == ["done"] * 3
