"""A loan and a return with the keypad alone, heard through the speech simulator (EN 301 549 5.1.3,
5.1.6): no touch on the patron's screen. The demo panel's pad stands in for the patron's hands on the
RFID pad (placing the card and the books), which is not the screen.

    speech key (F1)  →  Tab to Borrow, Enter  →  card on the pad  →  PIN on the numeric keypad, Enter
    →  three books on the pad  →  Tab to Finish, Enter  →  Tab to No receipt, Enter
    →  Tab to Return, Enter  →  two books on the pad  →  done

The speaker records what was said: each screen's text in the patron's language (bokmål), PIN digits
as tones and never as digits, a sound per item done.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tests.paths import ARTIFACTS
from tests.ui.conftest import SCREEN_SIZE
from tests.ui.driver import driven_main, run_driven

F1, TAB, ENTER, KP_ENTER = 282, 9, 13, 271


@pytest.mark.ui
def test_a_loan_and_a_return_with_the_keypad_alone_are_spoken(xvfb_display: str, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = str(ARTIFACTS / "ui-keypad.png")
    result = run_driven(__file__, xvfb_display, tmp_path, shot, str(tmp_path / "demo"))
    said = "\n".join(text for text, _lang in result["said"])
    assert {lang for _text, lang in result["said"]} == {"nb"}
    for heading in ("Lånekortet ditt", "PIN-koden din", "Lån", "Vil du ha kvittering?", "Lever"):
        assert heading in said, heading
    assert "3 ferdige." in said  # the summary line, counted in words
    assert result["pin"] not in said  # a PIN is never spoken
    assert result["tones"].count("key") >= len(result["pin"])  # a neutral tone per digit
    assert result["tones"].count("done") >= 5  # a sound per item done: 3 borrowed, 2 returned
    assert result["returned_rows"] == 2


# ---------------------------------------------------------------------------------------------- driver side


async def _drive(result_path: Path, shot: str, work: str) -> dict[str, Any]:
    screenshot, workdir = Path(shot), Path(work)
    import asyncio

    from kivy.core.window import Window

    from drivers.speech import SimulatedSpeaker
    from kiosk.core import RowState, ScreenName
    from kiosk.demo import DemoEnvironment
    from tests.ui.driver import Finger, running
    from ui.app import KioskApp

    steps: list[str] = []
    result: dict[str, Any] = {"ok": False, "steps": steps}
    speaker = SimulatedSpeaker()

    async with DemoEnvironment(workdir) as env:
        assert env.station is not None
        app = KioskApp(env.station, demo=env, size=SCREEN_SIZE, speaker=speaker)
        until = Finger(app, steps).until

        def showing(name: ScreenName) -> bool:
            return app.screen is not None and app.screen.name == name

        async def key(code: int, what: str) -> None:
            Window.dispatch("on_key_down", code, 0, "", [])
            steps.append(what)
            await asyncio.sleep(0.15)

        async def choose(ref: str) -> None:
            await until(f"{ref} on screen", lambda: app.find(ref))
            await asyncio.sleep(0.2)
            for _ in range(30):
                if app.keys.focused is not None and app.keys.focused.ref == ref:
                    break
                await key(TAB, "Tab")
            else:
                raise AssertionError(f"Tab never reached {ref}")
            await key(ENTER, f"Enter on {ref}")

        def rows_done(count: int) -> bool:
            rows = app.rows()
            return len(rows) == count and all(r.state == RowState.DONE for r in rows)

        async with running(app, result, screenshot):
            await until("the welcome screen", lambda: showing(ScreenName.WELCOME), 20)
            await key(F1, "speech key")
            await choose("action:borrow")
            await until("the identify screen", lambda: showing(ScreenName.IDENTIFY))
            env.place_patron_card()
            await until("the PIN screen", lambda: showing(ScreenName.PIN))
            for digit in str(env.demo_patron_pin):
                await key(256 + int(digit), "keypad digit")
            await key(KP_ENTER, "keypad Enter")
            await until("the borrow screen", lambda: showing(ScreenName.BORROW), 20)
            env.place_items(list(env.demo_borrow_items))
            await until("three rows done", lambda: rows_done(3), 30)
            await asyncio.sleep(0.5)
            env.clear_pad()
            await choose("action:finish")
            await until("the receipt question", lambda: showing(ScreenName.RECEIPT))
            await asyncio.sleep(0.3)
            await choose("action:no_receipt")
            await until("the welcome screen again", lambda: showing(ScreenName.WELCOME), 20)
            await key(F1, "speech key")
            await choose("action:return")
            await until("the return screen", lambda: showing(ScreenName.RETURN))
            env.place_items(list(env.demo_return_items))
            await until("two rows done", lambda: rows_done(2), 30)
            await asyncio.sleep(0.5)
            result["returned_rows"] = len(app.rows())
            result["screenshot"] = app.screenshot(str(screenshot))
            result["said"] = [(s.text, s.language) for s in speaker.said]
            result["tones"] = [str(t) for t in speaker.tones]
            result["pin"] = str(env.demo_patron_pin)
            result["ok"] = True
    return result


if __name__ == "__main__":
    sys.exit(driven_main(_drive))
