"""The staff screen through the real Kivy window (under Xvfb), like a librarian would use it.

The station is the real demo (demo library system over SIP2 on 127.0.0.1, simulated pad). Its journal
starts with an offline loan of an item the library system has registered as lost: the start-up sync
replays it and the library system refuses it, a conflict. Then two offline actions are journaled that
nothing has replayed yet, and a staff slip lost to the printer is a staff task. The driver (this file run as
a script in a subprocess, as in tests/test_ui_borrow.py):

    a short tap on the header  →  nothing (patrons tap; staff hold)
    hold the header 3.5 s      →  the credential prompt, not the staff screen
    a wrong passphrase         →  refused in words, still no staff screen
    the demo's passphrase      →  staff screen: online, 2 waiting, 1 conflict (item, reason), the lost slip's
                                  task with its routing  →  screenshot
    "Sync now"                 →  0 waiting, still 1 conflict, a last-sync time
    "Close"                    →  the welcome screen again
    3 wrong passphrases        →  "locked: try again in 1 min", the Open button shut
    a station without one      →  the prompt says a technician runs kiosk staff set-credential, no field

It writes a JSON result that the test asserts on, and `test-artifacts/ui-staff.png`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tests.paths import ARTIFACTS
from tests.ui.conftest import SCREEN_SIZE
from tests.ui.driver import driven_main, run_driven


@pytest.mark.ui
def test_staff_screen_shows_waiting_and_conflicts_and_syncs(xvfb_display: str, tmp_path: Path) -> None:
    screenshot = ARTIFACTS / "ui-staff.png"
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot.unlink(missing_ok=True)
    result = run_driven(__file__, xvfb_display, tmp_path, str(screenshot), str(tmp_path / "demo"))

    assert result["opened_by_tap"] is False  # a tap is not a hold
    prompt = result["prompt"]
    assert prompt["staff_screen"] is False and prompt["ask"].startswith("Skriv passordfrasen")
    assert prompt["typed_on_screen"] == "wrongpassphrase"  # the on-screen keyboard types into the field
    assert result["wrong"]["staff_screen"] is False
    assert result["wrong"]["message"].startswith("Det er ikke riktig.")
    assert result["wrong"]["typed_left"] == ""  # the field is emptied after a try
    before = result["before_sync"]
    assert before["online"] == "Tilkoblet"  # the demo station's staff language is bokmål
    assert before["pending"] == "2" and before["pending_alert"] is True
    assert before["conflicts"] == "1" and before["conflicts_alert"] is True
    assert before["conflict_rows"] == [{"item_id": result["lost_item"], "reason": "registrert som tapt"}]
    assert before["last_sync"].startswith("Sist synkronisert: ")  # the start-up sync
    # The lost slip's task with its routing, after the security writes the journal's offline loan left
    # unfinished (the station flags them at start): what can alarm at the gate comes first.
    *security, slip = before["task_rows"]
    assert slip == {"item_id": result["slip_item"], "reason": "Hentehylla, Tromsø (printer: paper out)"}
    assert security and all("security bit" in row["reason"] for row in security)

    after = result["after_sync"]
    assert after["pending"] == "0" and after["pending_alert"] is False
    assert after["conflicts"] == "1"
    assert after["message"] == "Sendt 2, allerede gjort 0, nye konflikter 0, venter fortsatt 0."
    assert result["journal_after_sync"] == {"conflict": 1, "done": 2}
    assert result["closed"] is True and result["screen"] == "welcome"
    assert (ARTIFACTS / "ui-staff.png").stat().st_size > 10_000

    locked = result["locked"]
    assert locked["message"] == "Låst etter feil forsøk: prøv igjen om 1 min."
    assert locked["may_try"] is False and locked["staff_screen"] is False
    assert result["no_credential"] == {
        "message": "Ingen tilgang for ansatte er satt på denne kiosken: en tekniker kjører kiosk staff "
        "set-credential.",
        "may_try": False,
        "field_open": False,
        "staff_screen": False,
    }


# ---------------------------------------------------------------------------------------------- driver side
# Runs in the subprocess: `python tests/test_ui_staff.py RESULT.json SHOT.png WORKDIR`.


async def _drive(result_path: Path, shot: str, work: str) -> dict[str, Any]:
    screenshot, workdir = Path(shot), Path(work)
    import asyncio
    from datetime import datetime, timedelta

    from kivy.core.window import Window

    from kiosk.core import Operation, ScreenName, TaskKind
    from kiosk.credentials import CredentialKind
    from kiosk.demo import DemoEnvironment
    from kiosk.journal import State
    from kiosk.station import StaffAccess
    from server_api.circulation import Transaction
    from server_api.demo_ils import data as demo_data
    from tests.ui.driver import Finger, running
    from ui.app import KioskApp

    steps: list[str] = []
    result: dict[str, Any] = {
        "ok": False,
        "steps": steps,
        "lost_item": demo_data.LOST_ITEM,
        "slip_item": demo_data.HOLD_SHELF_ITEM,
    }

    def staff_shown() -> dict[str, Any]:
        return {
            "online": app.staff_online.value,
            "pending": app.staff_pending.value,
            "pending_alert": app.staff_pending.alert,
            "conflicts": app.staff_conflicts.value,
            "conflicts_alert": app.staff_conflicts.alert,
            "conflict_rows": [{"item_id": r.item_id, "reason": r.reason} for r in app.staff_conflict_rows()],
            "task_rows": [
                {"item_id": r.item_id, "reason": r.reason} for r in app.staff_conflict_rows("task:")
            ],
            "last_sync": app.staff_last_sync.text,
            "message": app.staff_message.text,
        }

    env = DemoEnvironment(workdir)
    now = datetime.now().replace(microsecond=0)
    due = (now + timedelta(days=14)).replace(hour=23, minute=59)
    patron = demo_data.DEMO_PATRON_ID
    # An offline loan of an item registered lost: the start-up sync makes it a conflict.
    lost = Transaction.new(now - timedelta(hours=1), offline=True, due_date=due)
    env.journal.record(lost, Operation.CHECKOUT, demo_data.LOST_ITEM, patron, state=State.QUEUED)
    # A staff slip the printer lost: its routing is a staff task.
    slip = "Hentehylla, Tromsø (printer: paper out)"
    env.journal.add_task(TaskKind.SLIP_NOT_PRINTED, demo_data.HOLD_SHELF_ITEM, slip, now)

    async with env:
        assert env.station is not None
        station = env.station
        app = KioskApp(station, demo=env, size=SCREEN_SIZE)
        finger = Finger(app, steps)
        until, touch = finger.until, finger.touch
        async with running(app, result, screenshot):
            await until(
                "the welcome screen", lambda: app.screen and app.screen.name == ScreenName.WELCOME, 20
            )
            await station.settle()  # the start-up sync
            await until("the start-up conflict", lambda: len(station.status().conflicts) == 1)
            # Two offline actions nothing has replayed yet (the station replays at start, when it comes
            # back online, or when staff ask).
            lend = Transaction.new(now - timedelta(minutes=30), offline=True, due_date=due)
            env.journal.record(
                lend, Operation.CHECKOUT, demo_data.DEMO_BORROW_ITEMS[0], patron, state=State.QUEUED
            )
            give_back = Transaction.new(now - timedelta(minutes=20), offline=True)
            env.journal.record(give_back, Operation.CHECKIN, demo_data.DEMO_EXISTING_LOAN, state=State.QUEUED)

            await touch("staff:hold")  # a patron's tap
            await asyncio.sleep(app.staff_hold + 0.5)
            result["opened_by_tap"] = app.staff_view is not None

            async def type_passphrase(text: str) -> None:
                fields = app.staff_prompt_fields
                field = fields.inputs["passphrase"]
                field.focus = True
                await asyncio.sleep(0.1)
                for char in text:  # as a keyboard types it
                    Window.dispatch("on_textinput", char)
                await until(f"{len(text)} characters typed", lambda: len(field.text) == len(text), 5)
                steps.append(f"type {len(text)} characters")
                failures = station.staff.gate.failures  # a wrong try counts, the right one opens
                await touch("staff:unlock")
                await until(
                    "the check", lambda: app.staff_view is not None or station.staff.gate.failures != failures
                )

            async def tap_keys(text: str) -> None:
                from kivy.base import EventLoop
                from kivy.uix.vkeyboard import VKeyboard

                from tests.ui.driver import touch_type

                Touch = touch_type()

                (keyboard,) = [w for w in app.staff_prompt_view.walk() if isinstance(w, VKeyboard)]
                where: dict[str, tuple[float, float]] = {}
                for gx in range(2, 100, 2):  # find each key's middle on the keyboard (local coordinates)
                    for gy in range(2, 100, 4):
                        x, y = keyboard.width * gx / 100, keyboard.height * gy / 100
                        found = keyboard.get_key_at_pos(x, y)
                        if found:
                            where.setdefault(found[0][1], (x, y))
                for n, char in enumerate(text):
                    wx, wy = keyboard.parent.to_window(*keyboard.to_parent(*where[char]))
                    event = Touch(5000 + n, wx / (Window.width - 1), wy / (Window.height - 1))
                    EventLoop.post_dispatch_input("begin", event)
                    await asyncio.sleep(0.05)
                    EventLoop.post_dispatch_input("end", event)
                    await asyncio.sleep(0.05)
                steps.append(f"tap {len(text)} keys on the on-screen keyboard")

            await touch("staff:hold", hold=app.staff_hold + 0.5)
            await until("the credential prompt", lambda: app.find("staff:unlock"))
            fields = app.staff_prompt_fields
            result["prompt"] = {"staff_screen": app.staff_view is not None, "ask": fields.ask.text}
            await asyncio.sleep(0.3)  # one more frame for the screenshot
            app.screenshot(str(screenshot.with_name("ui-staff-prompt.png")))
            # The first (wrong) one on the prompt's on-screen keyboard, as on a kiosk without a keyboard.
            await tap_keys("wrongpassphrase")
            typed_on_screen = fields.inputs["passphrase"].text
            failures = station.staff.gate.failures
            await touch("staff:unlock")
            await until("the check", lambda: station.staff.gate.failures != failures)
            result["prompt"]["typed_on_screen"] = typed_on_screen
            result["wrong"] = {
                "staff_screen": app.staff_view is not None,
                "message": fields.message.text,
                "typed_left": fields.inputs["passphrase"].text,
            }
            await type_passphrase(env.demo_staff_passphrase)
            await until("the staff screen", lambda: app.find("staff:pending"))
            await asyncio.sleep(0.3)  # one more frame for the screenshot
            result["before_sync"] = staff_shown()
            result["screenshot"] = app.screenshot(str(screenshot))

            await touch("staff:sync")
            await until("the sync's result", lambda: app.staff_message.text.startswith("Sendt"), 20)
            result["after_sync"] = staff_shown()
            result["journal_after_sync"] = env.journal.counts()

            await touch("staff:close")
            await until("the staff screen gone", lambda: app.staff_view is None)
            result["closed"] = app.find("staff:pending") is None
            result["screen"] = app.screen.name.value if app.screen else None

            # Three wrong tries in a row lock the screen, said in minutes; then not even the right one opens.
            await touch("staff:hold", hold=app.staff_hold + 0.5)
            await until("the credential prompt again", lambda: app.find("staff:unlock"))
            fields = app.staff_prompt_fields
            for n in range(3):
                await type_passphrase(f"wrong guess number {n}")
            result["locked"] = {"message": fields.message.text, "may_try": not fields.open_button.disabled}
            await touch("staff:unlock")  # disabled: nothing happens
            await asyncio.sleep(0.3)
            result["locked"]["staff_screen"] = app.staff_view is not None
            await touch("staff:cancel")
            await until("the prompt gone", lambda: app.staff_prompt_view is None)

            # A station built without a credential ([staff] empty, as `build_station` makes it).
            station.staff = StaffAccess("", CredentialKind.PASSPHRASE, station.clock)
            await touch("staff:hold", hold=app.staff_hold + 0.5)
            await until("the prompt without a credential", lambda: app.find("staff:unlock"))
            fields = app.staff_prompt_fields
            await touch("staff:unlock")
            await asyncio.sleep(0.3)
            result["no_credential"] = {
                "message": fields.message.text,
                "may_try": not fields.open_button.disabled,
                "field_open": not fields.inputs["passphrase"].disabled,
                "staff_screen": app.staff_view is not None,
            }
            result["ok"] = True
    return result


if __name__ == "__main__":
    sys.exit(driven_main(_drive))
