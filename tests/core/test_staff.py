"""The staff screen's rules (kiosk.core.staff): when it may open, when it closes, what it shows. The UI
only renders them; tests/ui/test_ui_staff.py drives the same rules through the real window."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from kiosk.core import (
    STAFF_FREE_ATTEMPTS,
    STAFF_HOLD,
    STAFF_IDLE_CLOSE,
    STAFF_LOCKOUT,
    STAFF_LOCKOUT_MAX,
    ScreenName,
    StaffGate,
    StaffTask,
    TaskKind,
    Text,
    staff_may_open,
    staff_must_close,
    staff_prompt,
    staff_view,
    sync_outcome,
)
from kiosk.journal import SyncReport
from kiosk.station import ConflictNote, StationStatus

AT = datetime(2026, 11, 22, 10, 15)


def status(online: bool = True, pending: int = 0, conflicts: int = 0) -> StationStatus:
    notes = tuple(
        ConflictNote(f"entry-{n}", f"item{n}", "checkout", "item_lost", AT) for n in range(conflicts)
    )
    return StationStatus(online=online, pending=pending, conflicts=notes, last_sync=None)


def test_staff_hold_the_header_longer_than_a_patrons_tap():
    assert timedelta(seconds=2) <= STAFF_HOLD


def test_the_staff_screen_opens_only_between_patrons_and_only_once():
    assert staff_may_open(ScreenName.WELCOME, already_open=False)
    assert staff_may_open(None, already_open=False)  # before the first screen arrives
    assert not staff_may_open(ScreenName.WELCOME, already_open=True)
    for name in PATRON_SCREENS:
        assert not staff_may_open(name, already_open=False), name


def test_staff_open_the_staff_screen_on_a_kiosk_put_out_of_order_and_it_stays_open_there():
    assert staff_may_open(ScreenName.OUT_OF_ORDER, already_open=False)
    assert not staff_must_close(ScreenName.OUT_OF_ORDER, timedelta(0), syncing=False)


PATRON_SCREENS = [n for n in ScreenName if n not in (ScreenName.WELCOME, ScreenName.OUT_OF_ORDER)]


@pytest.mark.parametrize("name", PATRON_SCREENS)
def test_the_staff_screen_closes_the_moment_a_patron_starts_even_during_a_sync(name: ScreenName):
    assert staff_must_close(name, timedelta(0), syncing=True)


def test_the_staff_screen_closes_after_a_minute_without_a_touch_but_not_during_a_sync():
    assert not staff_must_close(ScreenName.WELCOME, STAFF_IDLE_CLOSE, syncing=False)
    assert staff_must_close(ScreenName.WELCOME, STAFF_IDLE_CLOSE + timedelta(seconds=1), syncing=False)
    assert not staff_must_close(ScreenName.WELCOME, STAFF_IDLE_CLOSE * 5, syncing=True)


def test_the_staff_screen_marks_what_staff_should_act_on():
    calm = staff_view(status())
    assert calm.online.value == Text("staff.state.online") and not calm.online.alert
    assert (calm.pending.value, calm.pending.alert) == ("0", False)
    assert (calm.conflicts.value, calm.conflicts.alert) == ("0", False)
    assert calm.rows == () and calm.empty == Text("staff.no_conflicts") and calm.hint is None
    busy = staff_view(status(online=False, pending=2, conflicts=1))
    assert busy.online.value == Text("staff.state.offline") and busy.online.alert
    assert (busy.pending.value, busy.pending.alert) == ("2", True)
    assert (busy.conflicts.value, busy.conflicts.alert) == ("1", True)
    assert busy.empty is None and busy.hint == Text("staff.conflict_hint")


def test_a_conflict_line_says_item_what_when_and_why_and_never_whose():
    (row,) = staff_view(status(conflicts=1)).rows
    assert (row.ref, row.item_id, row.at) == ("conflict:entry-0", "item0", AT)
    assert row.operation == Text("staff.operation.checkout") and row.operation_name == "checkout"
    assert row.reason == Text("staff.reason.item_lost") and row.reason_name == "item_lost"
    assert not hasattr(row, "patron_id")


def test_the_last_sync_is_shown_or_never_synced():
    assert staff_view(status()).last_sync is None
    synced = StationStatus(online=True, pending=0, conflicts=(), last_sync=AT)
    assert staff_view(synced).last_sync == AT


def test_sync_now_says_what_it_did_or_why_it_stopped():
    done = sync_outcome(SyncReport(replayed=2, reconciled=1, conflicts=0, remaining=0))
    assert done == Text.of("staff.sync_done", replayed=2, reconciled=1, conflicts=0, remaining=0)
    stopped = sync_outcome(SyncReport(replayed=1, stopped="library system unreachable"))
    assert stopped == Text.of("staff.sync_stopped", reason="library system unreachable")
    failed = sync_outcome(None, "journal is locked")
    assert failed == Text.of("staff.sync_stopped", reason="journal is locked")


# ------------------------------------------------------------ the credential's lockout (issue 11, finding 5)

T0 = datetime(2026, 12, 1, 9, 0)


def test_without_a_credential_the_staff_screen_never_opens():
    gate = StaffGate(has_credential=False)
    assert gate.locked_for(T0) == timedelta.max and not gate.tried(True, T0)


def test_wrong_staff_credentials_lock_the_screen_for_a_doubling_time():
    gate = StaffGate(has_credential=True)
    for n in range(STAFF_FREE_ATTEMPTS - 1):
        assert not gate.tried(False, T0 + timedelta(seconds=n)) and gate.locked_for(T0) is None
    last = T0 + timedelta(seconds=10)
    gate.tried(False, last)
    assert gate.locked_for(last) == STAFF_LOCKOUT
    assert not gate.tried(True, last + timedelta(seconds=30))  # not even the right one, while locked
    after = last + STAFF_LOCKOUT
    gate.tried(False, after)
    assert gate.locked_for(after) == 2 * STAFF_LOCKOUT
    assert gate.tried(True, after + 2 * STAFF_LOCKOUT) and gate.failures == 0


def test_the_longest_staff_lockout_is_bounded():
    gate = StaffGate(has_credential=True, failures=40, failed_at=T0)
    assert gate.locked_for(T0) == STAFF_LOCKOUT_MAX


def test_the_prompt_says_when_no_credential_is_set_and_offers_no_try():
    prompt = staff_prompt("passphrase", timedelta.max)
    assert prompt.message == Text("staff.prompt.no_credential") and not prompt.may_try


def test_the_prompt_asks_for_the_configured_kind_of_credential():
    assert staff_prompt("passphrase", None).ask == Text("staff.prompt.passphrase")
    assert staff_prompt("card_pin", None).ask == Text("staff.prompt.card_pin")
    assert staff_prompt("passphrase", None).may_try and staff_prompt("passphrase", None).message is None


def test_a_wrong_credential_is_said_and_a_lockout_says_how_long_in_whole_minutes():
    wrong = staff_prompt("passphrase", None, wrong=True)
    assert wrong.message == Text("staff.prompt.wrong") and wrong.may_try
    locked = staff_prompt("passphrase", timedelta(seconds=61), wrong=True)
    assert locked.message == Text.of("staff.prompt.locked", minutes=2) and not locked.may_try
    assert staff_prompt("card_pin", timedelta(seconds=5)).message == Text.of("staff.prompt.locked", minutes=1)


# ------------------------------------------------------------ staff tasks (issue 11, finding 2)


def test_staff_tasks_come_reader_first_then_security_writes_then_lost_slips_oldest_first():
    tasks = (
        StaffTask(1, TaskKind.SLIP_NOT_PRINTED, "slip1", "hold shelf: Tromsø (printer: paper out)", AT),
        StaffTask(2, TaskKind.SECURITY_FAILED, "late", "AFI 0x07 could not be set", AT + timedelta(hours=1)),
        StaffTask(3, TaskKind.SECURITY_FAILED, "early", "AFI 0x07 could not be set", AT),
        StaffTask(4, TaskKind.SECURITY_UNFINISHED, "crash", "AFI 0xC2 intended", AT + timedelta(hours=2)),
        StaffTask(5, TaskKind.READER_DEAD, "", "the RFID reader does not answer", AT + timedelta(hours=3)),
    )
    view = staff_view(StationStatus(online=True, pending=0, conflicts=(), last_sync=None, tasks=tasks))
    assert [line.ref for line in view.tasks] == ["task:5", "task:4", "task:3", "task:2", "task:1"]
    reader, unfinished, *_rest, slip = view.tasks
    assert reader.what == Text("staff.task.reader_dead") and reader.item_id == ""
    assert unfinished.what == Text("staff.task.security_unfinished") and unfinished.item_id == "crash"
    assert slip.what == Text("staff.task.slip_not_printed") and slip.detail.startswith("hold shelf: Tromsø")


def test_a_task_line_carries_no_patron():
    task = StaffTask(7, TaskKind.SECURITY_FAILED, "item7", "AFI 0x07 could not be set", AT)
    (line,) = staff_view(StationStatus(True, 0, (), None, tasks=(task,))).tasks
    assert (line.item_id, line.detail, line.at) == ("item7", "AFI 0x07 could not be set", AT)
    assert not any("patron" in name for name in vars(line))


def test_no_tasks_no_task_lines():
    assert staff_view(status()).tasks == ()
