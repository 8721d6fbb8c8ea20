"""A configuration the checks pass is one the station runs with (issue 11, finding 9), as a property:
for generated files, check passes => the station starts and serves a patron.

Each example writes a station file (numbers in and out of their ranges, infinities, missing and unusable
paths, empty and open password files), runs the checks `kiosk config check` runs, and when they pass
builds the station exactly as `kiosk run` does (`build_station`), against the demo library system on
loopback with the simulated pad, and serves a patron: card, PIN when asked, one loan with its security
bit written. Valid poll intervals are drawn up to 0.3 s: longer ones are valid too, they only slow the test.
"""

from __future__ import annotations

import asyncio
import json
import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from drivers.rfid.sim import SimulatedPad
from kiosk.cli.build import build_station
from kiosk.config import ConfigError, StationConfig, check_for_run, load
from kiosk.core import AFI_ON_LOAN, Action, RowState, Screen, ScreenName
from kiosk.demo import make_tags
from kiosk.station import Station
from server_api.demo_ils import data as demo_data
from server_api.demo_ils.server import DemoIls

ITEM = demo_data.DEMO_BORROW_ITEMS[0]


# Each key: values in its range, and values that are not (a file is generated valid, then maybe broken).
KEYS: dict[tuple[str, str], tuple[st.SearchStrategy[Any], tuple[Any, ...]]] = {
    ("session", "idle_timeout"): (st.integers(21, 1800), (0, 5, 86_400_000)),
    ("session", "idle_warning"): (st.integers(0, 19), (-1, 700)),
    ("session", "goodbye_time"): (st.integers(0, 120), (-3, 10_000)),
    ("session", "max_pin_attempts"): (st.integers(1, 10), (0, -1, 1000)),
    ("session", "pin_cooldown"): (st.sampled_from([0, 60, 300, 86400]), (1, -60, 10**9)),
    ("session", "pin_required"): (st.booleans(), ("yes",)),
    ("rfid", "security_attempts"): (st.integers(1, 10), (0, -2)),
    ("rfid", "poll_interval"): (st.sampled_from([0.05, 0.1, 0.3]), (0, 0.001, -1.0, math.inf, math.nan)),
    ("rfid", "leave_after"): (st.integers(1, 20), (0, 500)),
    ("rfid", "security_failure"): (st.sampled_from(["flag", "undo"]), ("ignore",)),
    ("sip2", "timeout"): (st.sampled_from([0.5, 2.0, 5.0, 120.0]), (0, 0.01, 1e9, math.inf)),
    ("sip2", "pool_size"): (st.integers(1, 16), (0, 100)),
    ("sip2", "keepalive"): (st.sampled_from([0, 5, 30]), (0.001, -5, 1e12)),
    ("offline", "loan_days"): (st.integers(1, 365), (0, 3_000_000)),
    ("offline", "max_items_per_session"): (st.integers(1, 100), (0, -1)),
    ("offline", "known_for_days"): (st.integers(1, 365), (0, 100_000)),
    ("offline", "card_check_digit"): (st.sampled_from(["none", "luhn", "damm"]), ("md5",)),
    ("network", "failure_budget"): (st.integers(1, 100), (0,)),
    ("network", "probe_interval"): (st.sampled_from([1.0, 15.0, 3600.0]), (0, math.inf)),
    ("journal", "purge_after_days"): (st.integers(1, 365), (0, 100_000)),
}
FINE_PLACES = {"journal": "fine", "receipts": "fine", "password": "fine"}
BAD_PLACES = [("journal", "proc"), ("journal", "directory"), ("receipts", "file"), ("password", "empty")]
BAD_PLACES.append(("password", "open"))


@st.composite
def station_files(draw: st.DrawFn) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """A valid file (some keys left to their defaults), then perhaps one value or one path broken."""
    values: dict[str, dict[str, Any]] = {}
    for (section, key), (valid, _wrong) in KEYS.items():
        if draw(st.booleans()):
            values.setdefault(section, {})[key] = draw(valid)
    places = dict(FINE_PLACES)
    broken = draw(st.sampled_from(["nothing", "value", "place"]))
    if broken == "value":
        section, key = draw(st.sampled_from(sorted(KEYS)))
        values.setdefault(section, {})[key] = draw(st.sampled_from(KEYS[section, key][1]))
    elif broken == "place":
        which, how = draw(st.sampled_from(BAD_PLACES))
        places[which] = how
    return values, places


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value == math.inf else repr(value))
    return json.dumps(value) if isinstance(value, str) else str(value)


def write_station_file(
    work: Path, port: int, values: dict[str, dict[str, Any]], places: dict[str, str]
) -> Path:
    password = work / "sip2-password"
    password.write_text("" if places["password"] == "empty" else demo_data.KIOSK_LOGIN[1] + "\n")
    password.chmod(0o644 if places["password"] == "open" else 0o600)
    var = work / "var"
    var.mkdir(mode=0o700)
    journal = {"fine": var / "journal.sqlite3", "proc": Path("/proc/kiosk/j.sqlite3"), "directory": var}
    receipts = var / "receipts"
    if places["receipts"] == "file":
        receipts.write_text("not a directory")
    keys: dict[str, dict[str, Any]] = {
        "sip2": {
            "port": port,
            "user": demo_data.KIOSK_LOGIN[0],
            "password_file": str(password),
            "location": demo_data.KIOSK_LIBRARY.number,
        },
        "journal": {"path": str(journal[places["journal"]])},
        "printer": {"directory": str(receipts)},
        "clock": {"trust": "always"},
    }
    for section, drawn in values.items():
        keys.setdefault(section, {}).update(drawn)
    text = "".join(
        f"[{name}]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in body.items())
        for name, body in keys.items()
    )
    path = work / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def until(station: Station, wanted: Callable[[Screen], bool], timeout: float = 20.0) -> Screen:
    async with asyncio.timeout(timeout):
        while not wanted(station.screen):
            await asyncio.sleep(0.02)
    return station.screen


async def serve_a_patron(config: StationConfig) -> None:
    """Start the station `kiosk run` would build and lend one item to the demo patron."""
    pad = SimulatedPad()
    items, cards = make_tags()
    station = build_station(config, reader=pad)
    await station.start()
    try:
        card = cards[demo_data.DEMO_PATRON_ID]
        pad.place(card.uid, card.data, 0x07)
        screen = await until(station, lambda s: s.name in (ScreenName.PIN, ScreenName.MENU))
        if screen.name is ScreenName.PIN:
            station.enter_pin(demo_data.DEMO_PATRON_PIN)
        await until(station, lambda s: s.name is ScreenName.MENU)
        station.press(Action.BORROW)
        await until(station, lambda s: s.name is ScreenName.BORROW)
        (tag,) = items[ITEM]
        pad.place(tag.uid, tag.data, 0x07)
        screen = await until(
            station, lambda s: any(r.item_id == ITEM and r.state is not RowState.WORKING for r in s.rows)
        )
        assert [r.state for r in screen.rows if r.item_id == ITEM] == [RowState.DONE], screen.rows
        assert {memory.uid: memory.afi for memory in pad.tags()}[tag.uid] == AFI_ON_LOAN  # secured as lent
    finally:
        await station.stop()
        await station.circulation.close()
        station.journal.close()


async def one_example(values: dict[str, dict[str, Any]], places: dict[str, str]) -> str:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        async with DemoIls(db_path=work / "ils.sqlite3", host="127.0.0.1", port=0) as ils:
            path = write_station_file(work, ils.port, values, places)
            try:
                config = load(path)
                check_for_run(config)
            except ConfigError as error:
                assert str(error).startswith(str(path)), str(error)  # every refusal names the file
                return "refused"
            await serve_a_patron(config)
            return "served"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(station_files())
def test_a_configuration_the_checks_pass_starts_a_station_that_serves_a_patron(
    file: tuple[dict[str, dict[str, Any]], dict[str, str]],
) -> None:
    values, places = file
    event(asyncio.run(one_example(values, places)))  # --hypothesis-show-statistics: how many were served


def test_the_generated_files_are_not_all_refused() -> None:
    """The property is not vacuous: the plainest generated file is served."""
    assert (
        asyncio.run(one_example({}, {"journal": "fine", "receipts": "fine", "password": "fine"})) == "served"
    )
