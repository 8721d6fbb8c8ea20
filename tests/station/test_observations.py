"""What the station tells its observers: typed values, and the transcript's JSON records at the edge."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import pytest

from kiosk import station as station_package
from kiosk.core import Mode, Operation, Stage, Unexpected
from kiosk.journal import ConflictForStaff, EntryReplayed, SyncReport
from kiosk.station import (
    Circulated,
    ConflictFound,
    JournalPurged,
    NetworkChanged,
    NotCirculated,
    Observation,
    PatronLookup,
    Printed,
    ReaderHealth,
    Replayed,
    SecurityWrite,
    SessionSurprised,
    StaffSlip,
    StationFault,
    Synced,
    from_replayer,
)
from server_api.circulation import CheckinOutcome, CheckoutOutcome, RefusalReason, Route, RouteKind

TXN = uuid.UUID("12345678-1234-5678-1234-567812345678")


def _kinds() -> list[type[Observation]]:
    return [
        value
        for name in station_package.__all__
        if isinstance(value := getattr(station_package, name), type)
        and issubclass(value, Observation)
        and value is not Observation
    ]


@pytest.mark.parametrize("kind", _kinds(), ids=lambda k: k.__name__)
def test_every_observation_kind_names_itself_in_its_record(kind: type[Observation]) -> None:
    assert kind.KIND, f"{kind.__name__} has no KIND"
    assert kind.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_a_loan_becomes_the_transcripts_circulation_record() -> None:
    due = datetime(2026, 12, 15, 23, 59)
    loan = Circulated(Operation.CHECKOUT, "item-1", TXN, CheckoutOutcome("item-1", ok=True, due=due))
    assert loan.ok
    assert loan.as_record() == {
        "kind": "circulation",
        "action": "checkout",
        "item_id": "item-1",
        "ok": True,
        "txn": str(TXN),
        "offline": False,
        "due": "2026-12-15T23:59:00",
        "reason": None,
        "screen_message": "",
    }


def test_a_return_record_names_the_destination_library_not_the_hold_patron() -> None:
    route = Route(RouteKind.TRANSIT, "1902000", "Harstad bibliotek", hold_patron_name="Áile")
    returned = CheckinOutcome("item-2", ok=True, route=route)
    record = Circulated(Operation.CHECKIN, "item-2", TXN, returned, offline=True).as_record()
    assert (record["route"], record["destination"], record["offline"]) == (
        "transit",
        "Harstad bibliotek",
        True,
    )
    assert "Áile" not in json.dumps(record, ensure_ascii=False)


def test_a_refusal_carries_its_reason_and_a_failure_whether_it_was_sent() -> None:
    refused = CheckoutOutcome(
        "item-3", ok=False, reason=RefusalReason.ITEM_NOT_FOR_LOAN, screen_message="Nei"
    )
    record = Circulated(Operation.CHECKOUT, "item-3", TXN, refused).as_record()
    assert (record["ok"], record["reason"], record["screen_message"]) == (False, "item_not_for_loan", "Nei")
    failed = NotCirculated(Operation.RENEW, "item-4", TXN, "no reply", sent=True)
    assert not failed.ok
    assert failed.as_record() == {
        "kind": "circulation",
        "action": "renew",
        "item_id": "item-4",
        "ok": False,
        "txn": str(TXN),
        "error": "no reply",
        "sent": True,
    }


def test_hardware_records_keep_their_actions_and_show_afis_as_people_write_them() -> None:
    write = SecurityWrite("item-1", bytes.fromhex("e004"), 0x07, 0xC2, verified=True, attempts=1)
    assert write.as_record() == {
        "kind": "hardware",
        "action": "write_afi",
        "item_id": "item-1",
        "uid": "e004",
        "afi_before": "0x07",
        "afi_after": "0xC2",
        "verified": True,
        "attempts": 1,
        "error": "",
    }
    assert Printed("patron", ok=True, files=("a.png",)).as_record() == {
        "kind": "hardware",
        "action": "print",
        "receipt": "patron",
        "ok": True,
        "files": ["a.png"],
    }
    assert Printed("patron", ok=False, error="paper out").as_record()["error"] == "paper out"
    assert ReaderHealth(ok=True).as_record() == {"kind": "hardware", "action": "reader", "ok": True}
    assert StationFault("RuntimeError()").as_record() == {
        "kind": "hardware",
        "action": "station",
        "error": "RuntimeError()",
        "ok": False,
    }


def test_a_patron_lookup_says_only_whether_it_worked() -> None:
    assert PatronLookup(ok=True).as_record() == {"kind": "circulation", "action": "patron", "ok": True}
    failed = PatronLookup(ok=False, error="no connection").as_record()
    assert failed == {"kind": "circulation", "action": "patron", "ok": False, "error": "no connection"}


def test_a_staff_slip_record_says_whether_it_names_a_hold_patron_not_who() -> None:
    slip = StaffSlip("item-5", "hold_shelf", "Tromsø", names_hold_patron=True)
    assert slip.as_record() == {
        "kind": "slip",
        "item_id": "item-5",
        "route": "hold_shelf",
        "destination": "Tromsø",
        "names_hold_patron": True,
    }


def test_a_result_the_session_could_not_take_is_a_record_with_the_mode_and_stage() -> None:
    surprise = SessionSurprised(Unexpected("CheckoutDone", Mode.RETURN, "item-6", Stage.DONE))
    assert surprise.as_record() == {
        "kind": "session",
        "action": "unexpected",
        "event": "CheckoutDone",
        "mode": "return",
        "item_id": "item-6",
        "stage": "done",
    }


def test_the_replayers_reports_become_typed_observations() -> None:
    report = SyncReport(replayed=2, conflicts=1, conflict_ids=["c1"])
    synced = from_replayer(report)
    assert synced == Synced(report)
    assert synced.as_record() == {"kind": "sync", **report.as_dict()}
    replayed = from_replayer(EntryReplayed("e1", "i1", "done", {"operation": "checkout", "due": None}))
    assert replayed == Replayed("e1", "i1", "done", {"operation": "checkout", "due": None})
    assert replayed.as_record() == {
        "kind": "replay",
        "id": "e1",
        "item_id": "i1",
        "result": "done",
        "operation": "checkout",
        "due": None,
    }
    conflict = from_replayer(
        ConflictForStaff(
            entry_id="e2", item_id="i2", operation="checkin", patron_id="", reason="r", screen_message="m"
        )
    )
    assert isinstance(conflict, ConflictFound) and conflict.as_record()["id"] == "e2"


def test_to_json_is_the_record_as_one_line_of_json() -> None:
    for observation in (NetworkChanged(online=False), JournalPurged(purged=3)):
        line = observation.to_json()
        assert "\n" not in line and json.loads(line) == observation.as_record()
