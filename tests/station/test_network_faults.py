"""A bad network between station and library system: dropped connections, swallowed and delayed
replies, through a real TCP proxy (server_api.faulty_link). Patrons do what patrons do: when a row says
it did not work, they try again. At the end the library system's own event log must show every intended
loan and return exactly once: the station found out what happened to every unanswered request before
it told the patron, and never sent anything twice."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from pathlib import Path

import pytest

from kiosk.core import Action, OfflinePolicy, SessionPolicy
from kiosk.demo import DemoEnvironment, audit, finish_visit, handle_stack, log_in
from kiosk.station import Observation
from server_api.faulty_link import FaultPlan
from tests.crash import workload

VISITS = 20
TRIES_PER_VISIT = 8


async def _settle_unknowns(env: DemoEnvironment, plan: list[workload.Visit]) -> None:
    """Before trying again, let the station find out what became of requests nobody answered."""
    assert env.station is not None
    for _ in range(20):
        _done, unknown = workload.progress(plan, env.journal.entries())
        if not unknown:
            return
        await env.station.sync()
        await asyncio.sleep(0.2)
    raise AssertionError("the station never found out what happened to an unanswered request")


@pytest.mark.parametrize("gateway", [False, True], ids=["sip2-direct", "through-the-gateway"])
async def test_a_bad_network_loses_nothing_and_doubles_nothing(tmp_path: Path, gateway: bool) -> None:
    """Through the gateway the bad network lies between the gateway and the library system: the
    gateway's ledger finds out, the station asks the gateway what happened to each UUID."""
    faults = FaultPlan(drop_connection=0.06, swallow_reply=0.04, delay_reply=0.1, delay_seconds=0.4)
    async with DemoEnvironment(
        tmp_path,
        # A visit that finds the station offline borrows with the card alone: the card rules are
        # tests/core's subject (a patron's first visit may come in a spell offline).
        policy=SessionPolicy(goodbye_time=timedelta(0), offline=OfflinePolicy(known_card=False)),
        poll_interval=0.01,
        tick_interval=0.05,
        failure_budget=3,
        probe_interval=0.3,
        sip2_timeout=1.0,
        link_plan=faults,
        link_seed=11,
        gateway=gateway,
    ) as env:
        assert env.station is not None and env.ils is not None and env.link is not None
        station = env.station
        seen: list[Observation] = []
        station.add_observer(seen.append)
        await station.settle()
        plan = workload.make_workload(random.Random(3), workload.lendable_items(env.ils.db_path), VISITS)
        steps = workload.steps(plan)
        tries = 0
        for number, visit in enumerate(plan):
            for _ in range(TRIES_PER_VISIT):
                await _settle_unknowns(env, plan)
                done, _unknown = workload.progress(plan, env.journal.entries())
                todo = [s for s in steps if s.visit == number and s not in done]
                if not todo:
                    break
                tries += 1
                if await log_in(env, visit.patron, visit.pin):
                    for action, operation in ((Action.RETURN, "checkin"), (Action.BORROW, "checkout")):
                        items = [s.item_id for s in todo if s.operation == operation]
                        if items:
                            await handle_stack(env, action, items)
                    await finish_visit(env, receipt=False)
            else:
                raise AssertionError(f"visit {number} never got done: {todo}; station said {seen[-20:]}")

        # The network heals; whatever went offline or stayed unsure is replayed and reconciled.
        env.link.plan = FaultPlan()
        async with asyncio.timeout(60):
            while not station.online or station.journal.unsettled():
                if station.online:
                    await station.sync()
                await asyncio.sleep(0.1)
        await station.settle()

        stats = env.link.stats
        print(
            {
                "link": stats,
                "tries": tries,
                "visits": VISITS,
                "replayed": audit(env.journal, env.ils.db_path)["replayed"],
            }
        )
        assert stats["dropped"] + stats["swallowed"] > 5, stats  # the faults really happened
        verdict = workload.compare(plan, env.ils.db_path)
        assert verdict["lost"] == 0, verdict
        assert verdict["duplicated"] == 0, verdict
        assert verdict["out_of_order"] == 0 and verdict["wrong_final_holder"] == 0, verdict
        second_opinion = audit(env.journal, env.ils.db_path)
        assert (second_opinion["lost"], second_opinion["duplicated"]) == (0, 0), second_opinion
        assert second_opinion["unsettled"] == 0
        assert tries > VISITS  # some visits needed a second try: the faults reached the patrons
