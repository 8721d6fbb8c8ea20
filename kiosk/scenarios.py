"""Scripted patron visits for `kiosk demo --headless --scenario NAME`.

Each scenario acts like a person at the kiosk (cards and books on the simulated pad, button presses,
PIN) against the real station and the demo library system, and returns a summary built from what the
station reported, not from what the script intended.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from kiosk.demo import DemoEnvironment
from kiosk.screens import Action, RowState, Screen, ScreenName

Scenario = Callable[[DemoEnvironment], Awaitable[dict[str, Any]]]


class ScenarioFailed(Exception):
    pass


def _on(name: ScreenName) -> Callable[[Screen], bool]:
    return lambda screen: screen.name is name


def _rows_settled(count: int) -> Callable[[Screen], bool]:
    def settled(screen: Screen) -> bool:
        return len(screen.rows) >= count and all(row.state is not RowState.WORKING for row in screen.rows)

    return settled


class Recorder:
    """Collects the station's reports for the summary."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def __call__(self, record: dict[str, Any]) -> None:
        self.records.append(record)

    def of(self, kind: str, **match: Any) -> list[dict[str, Any]]:
        return [r for r in self.records if r["kind"] == kind and all(r.get(k) == v for k, v in match.items())]

    def secured(self, item_id: str, afi: str) -> bool:
        writes = self.of("hardware", action="write_afi", item_id=item_id, afi_after=afi)
        return bool(writes) and all(w["verified"] for w in writes)


async def _log_in(env: DemoEnvironment) -> None:
    assert env.station is not None
    env.place_patron_card()
    await env.wait_for(_on(ScreenName.PIN))
    env.remove_patron_card()
    env.station.enter_pin(env.demo_patron_pin)
    await env.wait_for(_on(ScreenName.MENU))


async def _handle_stack(env: DemoEnvironment, action: Action, item_ids: list[str]) -> Screen:
    assert env.station is not None
    env.station.press(action)
    await env.wait_for(_on(ScreenName.BORROW if action is Action.BORROW else ScreenName.RETURN))
    env.place_items(item_ids)
    screen = await env.wait_for(_rows_settled(len(item_ids)), timeout=20)
    env.remove_items(item_ids)
    return screen


async def _finish(env: DemoEnvironment, receipt: bool) -> None:
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

    await _log_in(env)
    await _handle_stack(env, Action.BORROW, items)
    await _finish(env, receipt=True)

    await _handle_stack(env, Action.RETURN, items)
    await _finish(env, receipt=True)

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
    await _handle_stack(env, Action.RETURN, items)
    await _finish(env, receipt=False)
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


SCENARIOS: dict[str, Scenario] = {"borrow-return": borrow_return, "transit": transit}
