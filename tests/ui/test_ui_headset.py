"""Speech with a headset, through the real Kivy window (under Xvfb) and the demo station:

    welcome → the demo panel plugs the (simulated) headset in → the screen is read, through the headset
    → card and PIN → 3 books borrowed (read as they are done) → Finish → the receipt screen offers
    "Les opp kvitteringen": touched, the receipt is read (heading and the three loans)
    → the keypad's pause key stops speech at once → the headset pulled out: nothing more is said

It writes test-artifacts/ui-headset.png.
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
def test_a_headset_plugged_in_reads_the_visit_and_the_receipt_through_it(
    xvfb_display: str, tmp_path: Path
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = str(ARTIFACTS / "ui-headset.png")
    result = run_driven(__file__, xvfb_display, tmp_path, shot, str(tmp_path / "demo"))
    assert result["read_on_plug"][0] == "Velkommen til biblioteket"  # plugging in starts speech at once
    assert result["all_through_headset"] is True
    assert result["receipt_tool"] is True
    receipt = result["receipt_said"]
    assert receipt[0] == "Kvittering" and len(receipt) == 4, receipt  # the heading and the three loans
    assert all(": Lånt. Leveres " in line for line in receipt[1:])
    assert result["paused"] is True and result["interrupted"] >= 1
    assert result["said_after_unplug"] == [] and result["active_after_unplug"] is False


async def _drive(result_path: Path, shot: str, work: str) -> dict[str, Any]:
    import asyncio

    from drivers.speech import SimulatedJack, SimulatedSpeaker
    from kiosk.core import RowState, ScreenName
    from kiosk.demo import DemoEnvironment
    from tests.ui.driver import Finger, running
    from ui.app import KioskApp

    steps: list[str] = []
    result: dict[str, Any] = {"ok": False, "steps": steps}
    speaker = SimulatedSpeaker(seconds_per_char=0.004)  # speaking takes time: a pause has something to cut
    async with DemoEnvironment(Path(work)) as env:
        assert env.station is not None
        app = KioskApp(env.station, demo=env, size=SCREEN_SIZE, speaker=speaker, jack=SimulatedJack())
        finger = Finger(app, steps)
        until, tap = finger.until, finger.touch

        def showing(name: ScreenName) -> bool:
            return app.screen is not None and app.screen.name is name

        async with running(app, result, Path(shot)):
            await until("the welcome screen", lambda: showing(ScreenName.WELCOME), 20)
            await tap("demo:headset")
            await until("speech through the headset", lambda: speaker.said and app.reader.headset)
            result["read_on_plug"] = [s.text for s in speaker.said]
            await tap("action:borrow")
            await tap("demo:place_card")
            await until("the PIN screen", lambda: showing(ScreenName.PIN))
            for digit in env.demo_patron_pin:
                await tap(f"key:{digit}")
            await tap("key:ok")
            await until("the borrow screen", lambda: showing(ScreenName.BORROW), 20)
            await tap("demo:place_borrow")
            await until(
                "three rows done",
                lambda: len(app.rows()) == 3 and all(r.state == RowState.DONE for r in app.rows()),
                30,
            )
            await tap("action:finish")
            await until("the receipt screen", lambda: showing(ScreenName.RECEIPT))
            result["receipt_tool"] = app.find("ui:speak_receipt") is not None
            await until("the receipt screen read", lambda: not app.reader.speaking, 30)
            before = len(speaker.said)
            await tap("ui:speak_receipt")
            await until("the receipt read", lambda: len(speaker.said) >= before + 4)
            result["receipt_said"] = [s.text for s in speaker.said[before : before + 4]]
            app.speak_screen()  # a long reading, for the pause key to cut
            await asyncio.sleep(0.1)
            app.keys.key(267)  # the keypad's "/": pause
            await asyncio.sleep(0.2)
            result["paused"], result["interrupted"] = app.reader.paused, speaker.interrupted
            result["all_through_headset"] = all(s.headset for s in speaker.said)
            app.screenshot(shot)
            await tap("demo:headset")  # pulled out
            await until("the headset out", lambda: not app.reader.headset)
            count = len(speaker.said)
            await tap("action:no_receipt")
            await until("the goodbye screen", lambda: showing(ScreenName.GOODBYE), 20)
            await asyncio.sleep(0.3)
            result["said_after_unplug"] = [s.text for s in speaker.said[count:]]
            result["active_after_unplug"] = app.reader.active
            result["ok"] = True
    return result


if __name__ == "__main__":
    sys.exit(driven_main(_drive))
