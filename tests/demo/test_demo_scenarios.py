"""End to end, as a person would run it: `kiosk demo --headless --scenario ...` in its own process,
talking SIP2 over TCP on loopback to the demo library system, with the simulated pad and printer."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from drivers.printer.layout import HoldPatronPolicy
from kiosk.i18n import format_date
from server_api.demo_ils import data as demo

ROOT = Path(__file__).resolve().parents[2]


def run_scenario(name: str, tmp_path: Path) -> list[dict]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kiosk",
            "demo",
            "--headless",
            "--scenario",
            name,
            "--workdir",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[-1]["kind"] == "summary"
    return records


@pytest.fixture(scope="module")
def borrow_return(tmp_path_factory) -> list[dict]:
    return run_scenario("borrow-return", tmp_path_factory.mktemp("borrow-return"))


@pytest.fixture(scope="module")
def transit_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("transit")


@pytest.fixture(scope="module")
def transit(transit_dir) -> list[dict]:
    return run_scenario("transit", transit_dir)


def test_borrow_return_borrows_three_and_returns_three(borrow_return):
    summary = borrow_return[-1]
    assert summary["borrowed"] == 3 and summary["returned"] == 3 and summary["ok"] is True


def test_each_tag_goes_from_in_library_to_on_loan_and_back(borrow_return):
    afi_by_uid: dict[str, list[str]] = defaultdict(list)
    for record in borrow_return:
        if record["kind"] == "hardware" and record.get("action") == "write_afi":
            assert record["verified"] is True
            if not afi_by_uid[record["uid"]]:
                afi_by_uid[record["uid"]].append(record["afi_before"])
            afi_by_uid[record["uid"]].append(record["afi_after"])
    assert len(afi_by_uid) == 3
    assert all(history == ["0x07", "0xC2", "0x07"] for history in afi_by_uid.values()), afi_by_uid


def test_the_library_system_gave_the_due_dates_shown(borrow_return):
    checkouts = {
        r["item_id"]: r for r in borrow_return if r["kind"] == "circulation" and r.get("action") == "checkout"
    }
    assert sorted(checkouts) == sorted(demo.DEMO_BORROW_ITEMS)
    borrow_screens = [r for r in borrow_return if r["kind"] == "screen" and r["screen"] == "borrow"]
    final_rows = {row["item_id"]: row for row in borrow_screens[-1]["rows"]}
    assert sorted(final_rows) == sorted(checkouts)
    for item_id, checkout in checkouts.items():
        row = final_rows[item_id]
        assert row["state"] == "done"
        day = checkout["due"][:10]  # YYYY-MM-DD from the ILS, shown in bokmål's date format
        assert format_date(day, "nb") in row["text"]


def test_no_pin_reaches_the_transcript(borrow_return):
    random_fields = {"txn", "files", "uid"}  # UUIDs, temp paths and UIDs could hold "1234" by chance
    for record in borrow_return:
        assert not any("pin" in key.lower() for key in record)
        values = json.dumps({k: v for k, v in record.items() if k not in random_fields}, ensure_ascii=False)
        assert demo.DEMO_PATRON_PIN not in values.replace(demo.DEMO_PATRON_ID, "")


def test_transit_routes_as_the_library_system_says(transit):
    summary = transit[-1]
    routes = {item["item_id"]: item for item in summary["items"]}
    assert routes[demo.HOLD_SHELF_ITEM]["route"] == "hold_shelf"
    assert routes[demo.OTHER_LIBRARY_ITEM]["route"] == "transit"
    assert routes[demo.OTHER_LIBRARY_ITEM]["destination"] == "Alta bibliotek"
    assert all(item["secured"] for item in summary["items"])
    assert summary["ok"] is True


def test_the_staff_slip_names_the_hold_but_the_patron_screen_never_does(transit, transit_dir):
    slips = {r["item_id"]: r for r in transit if r["kind"] == "slip"}
    assert slips[demo.HOLD_SHELF_ITEM]["names_hold_patron"] is True  # the demo ILS sends DA/CY
    (slip,) = [
        text
        for path in (transit_dir / "receipts").glob("*.txt")
        if demo.HOLD_SHELF_ITEM in (text := path.read_text(encoding="utf-8")) and "Reservert for" in text
    ]
    assert slips[demo.OTHER_LIBRARY_ITEM]["destination"] == "Alta bibliotek"
    # The slip lies on an open shelf: the hold patron only as far as the library allows ([receipts]
    # hold_patron, by default initials and the card's last 4 digits), never the whole name or card.
    shown = {p: HoldPatronPolicy().label(p.name, p.card) for p in demo.PATRONS}
    (held_for,) = [p for p, label in shown.items() if label in " ".join(slip.split())]
    assert held_for.card not in slip and held_for.name not in slip
    # Neither the patron's screens nor the transcript (which ends up in logs) name the hold patron.
    transcript = [json.dumps(r, ensure_ascii=False) for r in transit]
    assert any('"kind": "screen"' in line for line in transcript)
    for line in transcript:
        assert held_for.name not in line
        assert held_for.card not in line
    return_screen = [r for r in transit if r["kind"] == "screen" and r["screen"] == "return"][-1]
    assert "Alta bibliotek" in " ".join(row["text"] for row in return_screen["rows"])
