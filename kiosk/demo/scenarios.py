"""Scripted patron visits for `kiosk demo --headless --scenario NAME`.

Each scenario acts like a person at the kiosk (cards and books on the simulated pad, button presses,
PIN) against the real station and the demo library system, and returns a summary built from what the
station reported, not from what the script intended.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from kiosk.core import Action, OfflinePolicy, RowState, Screen, ScreenName, SessionPolicy
from kiosk.demo.audit import audit
from kiosk.demo.environment import DemoEnvironment, DemoOptions
from kiosk.station import Observation
from server_api.demo_ils import data as demo_data

Scenario = Callable[[DemoEnvironment], Awaitable[dict[str, Any]]]


class ScenarioFailed(Exception):
    pass


def _on(name: ScreenName) -> Callable[[Screen], bool]:
    return lambda screen: screen.name is name


def _rows_settled(item_ids: list[str]) -> Callable[[Screen], bool]:
    """Every one of these items has a row, and none is still being worked on."""

    def settled(screen: Screen) -> bool:
        rows = {row.item_id: row for row in screen.rows}
        return all(i in rows and rows[i].state is not RowState.WORKING for i in item_ids)

    return settled


class Recorder:
    """Collects the station's reports for the summary."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def __call__(self, observation: Observation) -> None:
        self.records.append(observation.as_record())

    def of(self, kind: str, **match: Any) -> list[dict[str, Any]]:
        return [r for r in self.records if r["kind"] == kind and all(r.get(k) == v for k, v in match.items())]

    def secured(self, item_id: str, afi: str) -> bool:
        writes = self.of("hardware", action="write_afi", item_id=item_id, afi_after=afi)
        return bool(writes) and all(w["verified"] for w in writes)


# How long a scenario waits for the station's answer: far above what it needs (a few seconds, even on a bad
# network), so a machine busy with other work is not mistaken for a station that never answers.
ANSWER_WAIT = 45.0


async def log_in(env: DemoEnvironment, patron_id: str | None = None, pin: str | None = None) -> bool:
    """Card on the pad, PIN if asked (online), until the menu shows: True. False when the library
    system did not answer (the station says so, and the patron may try again)."""
    assert env.station is not None
    station = env.station

    def answered(screen: Screen) -> bool:
        unavailable = screen.message is not None and screen.message.key == "identify.service_unavailable"
        return screen.name in (ScreenName.PIN, ScreenName.MENU) or unavailable

    before = station.screen  # an answer is a screen that came after the card was placed
    env.place_patron_card(patron_id)
    await env.wait_for(lambda s: s is not before and answered(s), timeout=ANSWER_WAIT)
    env.remove_patron_card(patron_id)
    await env.wait_lifted([], patron_id=patron_id or env.demo_patron_id)
    if station.screen.name is ScreenName.PIN:
        station.enter_pin(pin or env.demo_patron_pin)
        await env.wait_for(lambda s: s.name is not ScreenName.PIN and answered(s), timeout=ANSWER_WAIT)
    return station.screen.name is ScreenName.MENU


async def handle_stack(env: DemoEnvironment, action: Action, item_ids: list[str]) -> Screen:
    assert env.station is not None
    env.station.press(action)
    await env.wait_for(_on(ScreenName.BORROW if action is Action.BORROW else ScreenName.RETURN))
    env.place_items(item_ids)
    screen = await env.wait_for(_rows_settled(item_ids), timeout=ANSWER_WAIT)
    env.remove_items(item_ids)
    await env.wait_lifted(item_ids)
    return screen


async def finish_visit(env: DemoEnvironment, receipt: bool) -> None:
    assert env.station is not None
    env.station.press(Action.FINISH)
    await env.wait_for(lambda s: s.name in (ScreenName.RECEIPT, ScreenName.GOODBYE))
    if env.station.screen.name is ScreenName.RECEIPT:
        env.station.press(Action.PRINT_RECEIPT if receipt else Action.NO_RECEIPT)
    await env.wait_for(_on(ScreenName.WELCOME), timeout=30)
    await env.station.settle()


async def borrow_return(env: DemoEnvironment) -> dict[str, Any]:
    """Card + PIN, borrow three items, then (a new visit) return them."""
    assert env.station is not None
    recorder = Recorder()
    env.station.add_observer(recorder)
    items = env.demo_borrow_items[:3]

    if not await log_in(env):
        raise ScenarioFailed("the library system did not answer the login")
    await handle_stack(env, Action.BORROW, items)
    await finish_visit(env, receipt=True)

    await handle_stack(env, Action.RETURN, items)
    await finish_visit(env, receipt=True)

    borrowed = [
        i
        for i in items
        if recorder.of("circulation", action="checkout", item_id=i, ok=True) and recorder.secured(i, "0xC2")
    ]
    returned = [
        i
        for i in items
        if recorder.of("circulation", action="checkin", item_id=i, ok=True) and recorder.secured(i, "0x07")
    ]
    return {
        "scenario": "borrow-return",
        "borrowed": len(borrowed),
        "returned": len(returned),
        "items": [{"item_id": i, "afi_now": [f"0x{a:02X}" for a in env.item_afi(i)]} for i in items],
        "receipts": len(recorder.of("hardware", action="print", receipt="patron", ok=True)),
        "ok": len(borrowed) == len(returned) == len(items),
    }


async def transit(env: DemoEnvironment) -> dict[str, Any]:
    """Return an item another patron has on hold and one owned by another library, without a card."""
    assert env.station is not None
    recorder = Recorder()
    env.station.add_observer(recorder)
    items = env.demo_return_items
    await handle_stack(env, Action.RETURN, items)
    await finish_visit(env, receipt=False)
    routes = []
    for item_id in items:
        checkins = recorder.of("circulation", action="checkin", item_id=item_id, ok=True)
        routes.append(
            {
                "item_id": item_id,
                "route": checkins[-1]["route"] if checkins else "not returned",
                "destination": checkins[-1]["destination"] if checkins else "",
                "secured": recorder.secured(item_id, "0x07"),
            }
        )
    return {
        "scenario": "transit",
        "returned": sum(1 for r in routes if r["route"] != "not returned"),
        "items": routes,
        "slips": len(recorder.of("slip")),
        "ok": all(r["route"] != "not returned" and r["secured"] for r in routes),
    }


async def bookmobile(env: DemoEnvironment, sessions: int = 500, seed: int = 2026) -> dict[str, Any]:
    """A bookmobile's day: the station learns one blocked card while in coverage, drives out of it,
    serves `sessions` patron visits offline (returns and loans), comes back, syncs, and is audited
    against the library system's own transaction log: nothing lost, nothing twice."""
    assert env.station is not None
    station = env.station
    recorder = Recorder()
    station.add_observer(recorder)
    rng = random.Random(seed)

    # In coverage: a blocked patron tries to borrow; the station remembers the block.
    blocked = demo_data.BLOCKED_PATRON_ID
    blocked_pin = next(p.pin for p in demo_data.PATRONS if p.card == blocked)
    if not await log_in(env, blocked, blocked_pin):
        raise ScenarioFailed("the library system did not answer the login")
    await finish_visit(env, receipt=False)
    started = time.monotonic()

    shelf = await lendable_items(env)  # what is on the bus's shelves this morning
    env.cut_network()
    if await station.check_connection() or station.online:
        raise ScenarioFailed("the station did not notice the network was gone")

    patrons = [p.card for p in demo_data.PATRONS if p.card != blocked]
    holdings: dict[str, list[str]] = {}
    refused_blocked = 0
    for visit in range(sessions):
        patron = blocked if visit % 100 == 50 else rng.choice(patrons)
        if not await log_in(env, patron):
            raise ScenarioFailed(f"visit {visit}: the patron could not log in")
        if patron == blocked:
            refused_blocked += Action.BORROW not in station.screen.actions
            await finish_visit(env, receipt=False)
            continue
        wanted = rng.sample(shelf, min(len(shelf), rng.randint(1, 3)))
        if visit == 7:
            wanted = [demo_data.LOST_ITEM]  # lying on the bus's shelf, lost in the catalogue
        await _offline_visit(env, recorder, patron, wanted, shelf, holdings)
    offline_seconds = time.monotonic() - started

    # Back in coverage: the station notices by itself and replays the journal.
    sync_started = time.monotonic()
    env.restore_network()
    async with asyncio.timeout(180):
        while not station.online or station.journal.unsettled():
            await asyncio.sleep(0.1)
    await station.settle()
    sync_seconds = time.monotonic() - sync_started
    return {
        "scenario": "bookmobile",
        "sessions": sessions,
        "blocked_card_refused_offline": refused_blocked,
        "offline_seconds": round(offline_seconds, 1),
        "sync_seconds": round(sync_seconds, 1),
        **_audit(env, recorder),
    }


async def _offline_visit(
    env: DemoEnvironment,
    recorder: Recorder,
    patron: str,
    wanted: list[str],
    shelf: list[str],
    holdings: dict[str, list[str]],
) -> None:
    """One logged-in patron on the bus: returns what they hold, borrows `wanted`, leaves."""
    returning = holdings.pop(patron, [])
    if returning:
        await handle_stack(env, Action.RETURN, returning)
    seen = len(recorder.records)
    await handle_stack(env, Action.BORROW, wanted)
    lent = [
        r["item_id"]
        for r in recorder.records[seen:]
        if r["kind"] == "circulation" and r["action"] == "checkout" and r["ok"] and r["item_id"] in wanted
    ]
    for item_id in lent:
        if item_id in shelf:
            shelf.remove(item_id)
    if demo_data.LOST_ITEM not in lent:
        holdings.setdefault(patron, []).extend(lent)
    shelf.extend(returning)  # back on the shelf for the next patron, not for the one who returned it
    await finish_visit(env, receipt=False)


async def lendable_items(env: DemoEnvironment) -> list[str]:
    """Single-part items on the shelf and free of holds at the start of the day."""
    assert env.circulation is not None
    statuses = await asyncio.gather(*(env.circulation.item_status(i) for i in env.item_tags))
    return [
        s.item_id
        for s in statuses
        if s.available and s.hold_queue_length == 0 and len(env.item_tags[s.item_id]) == 1
    ]


def _audit(env: DemoEnvironment, recorder: Recorder) -> dict[str, Any]:
    """What the station told patrons, what it journaled, and what the library system recorded."""
    assert env.ils is not None, "the audit reads the demo library system's own database"
    report = audit(env.journal, env.ils.db_path)
    journaled = {str(e.id) for e in env.journal.entries()}
    accepted = [
        r for r in recorder.of("circulation") if r.get("ok") and r.get("action") in ("checkout", "checkin")
    ]
    # Told "done" but never made durable would be lost on a crash: there must be none.
    told_not_journaled = sum(1 for r in accepted if r["txn"] not in journaled)
    return {
        "loans": sum(1 for r in accepted if r["action"] == "checkout"),
        "returns": sum(1 for r in accepted if r["action"] == "checkin"),
        **report,
        "told_but_not_journaled": told_not_journaled,
        "ok": report["lost"] == 0
        and report["duplicated"] == 0
        and report["unsettled"] == 0
        and told_not_journaled == 0
        and report["original_dates_kept"],
    }


def scenario_options(scenario_name: str) -> DemoOptions:
    """How `kiosk demo --headless --scenario NAME` sets the demo up for a scenario."""
    if scenario_name != "bookmobile":
        return {"policy": SessionPolicy(goodbye_time=timedelta(seconds=1))}
    # A day compressed into a minute: quick ticks, and a bookmobile's generous offline limits
    # (its patrons come once a fortnight and borrow for the whole interval). Its patrons were not seen
    # online by this bus in the last known_for_days: a bookmobile library switches the known-card rule
    # off (docs/OFFLINE.md) until the central service's list of cards reaches the station.
    return {
        "policy": SessionPolicy(
            goodbye_time=timedelta(0),
            offline=OfflinePolicy(
                max_items_per_session=5, max_items_per_patron=1000, loan_days=28, known_card=False
            ),
        ),
        "branch": "bookmobile",
        "tick_interval": 0.05,
        "poll_interval": 0.01,
        "probe_interval": 0.5,
        "sip2_timeout": 2.0,
    }


SCENARIOS: dict[str, Scenario] = {
    "borrow-return": borrow_return,
    "transit": transit,
    "bookmobile": bookmobile,
}
