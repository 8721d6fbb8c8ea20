"""The demo offers the Sámi languages and Kven as drafts, through the real Kivy window (under Xvfb):

    welcome: a button for each of se, smj, sma, sms, fkv (the demo enables every draft)
    → the Sámi speaker's card and PIN: the library system keeps "sme" for him, so the borrow screen is in
      davvisámegiella, with its notice; after the visit the station is bokmål again
    → Julevsámegiella: the screen in Lule Sámi, with the draft notice (in Lule Sámi and bokmål), no overflow
    → Norsk bokmål: no notice

It writes test-artifacts/ui-draft-smj.png and ui-draft-se-menu.png.
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
def test_the_demo_shows_the_drafts_with_their_notice_and_switches_to_the_patrons_language(
    xvfb_display: str, tmp_path: Path
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    result = run_driven(__file__, xvfb_display, tmp_path, str(ARTIFACTS), str(tmp_path / "demo"))
    assert result["draft_buttons"] == ["se", "smj", "sma", "sms", "fkv"]
    smj = result["smj"]
    assert smj["heading"] == "Buorre boahtem girjjevuorkkáj"
    assert smj["notice"].startswith("✎ Dát jårggålus") and "ikke er gjennomgått" in smj["notice"]
    assert smj["overflows"] == []
    assert result["nb_notice"] is None
    menu = result["sami_speaker_menu"]
    assert menu["language"] == "se" and menu["notice"].startswith("✎ Dát jorgalus")
    assert menu["overflows"] == []
    assert result["after_visit"] == "nb"


async def _drive(result_path: Path, shots: str, work: str) -> dict[str, Any]:
    from kiosk.core import ScreenName
    from kiosk.demo import DemoEnvironment
    from server_api.demo_ils import data
    from tests.ui.driver import Finger, running
    from ui.app import KioskApp

    steps: list[str] = []
    result: dict[str, Any] = {"ok": False, "steps": steps}
    async with DemoEnvironment(Path(work)) as env:
        assert env.station is not None
        app = KioskApp(env.station, demo=env, size=SCREEN_SIZE)
        finger = Finger(app, steps)
        until, tap = finger.until, finger.touch

        def on(name: ScreenName, language: str) -> bool:
            return app.screen is not None and app.screen.name is name and app.screen.language == language

        def notice() -> str | None:
            found = app.find("draft-notice")
            return str(found.text) if found is not None else None

        async with running(app, result, Path(shots) / "ui-draft-failed.png"):
            await until("the welcome screen", lambda: on(ScreenName.WELCOME, "nb"), 20)
            codes = ("se", "smj", "sma", "sms", "fkv")
            result["draft_buttons"] = [code for code in codes if app.find(f"lang:{code}") is not None]
            sami = next(p for p in data.PATRONS if p.card == data.SAMI_PATRON_ID)
            await tap("action:borrow")
            await tap("demo:place_card:Sámi speaker")
            await until(
                "the PIN screen", lambda: app.screen is not None and app.screen.name is ScreenName.PIN
            )
            for digit in sami.pin:
                await tap(f"key:{digit}")
            await tap("key:ok")
            await until("the borrow screen in davvisámegiella", lambda: on(ScreenName.BORROW, "se"), 20)
            await until("its notice", notice)
            result["sami_speaker_menu"] = {"language": "se", "notice": notice(), "overflows": app.overflows()}
            app.screenshot(str(Path(shots) / "ui-draft-se-menu.png"))
            await tap("action:finish")
            await until("the welcome screen again", lambda: on(ScreenName.WELCOME, "nb"), 30)
            result["after_visit"] = app.screen.language if app.screen else ""
            await tap("lang:smj")
            await until("Lule Sámi", lambda: on(ScreenName.WELCOME, "smj") and notice())
            headings = [w.text for w in app.walk() if getattr(w, "bold", False) and getattr(w, "text", "")]
            result["smj"] = {
                "heading": next(h for h in headings if h.startswith("Buorre")),
                "notice": notice(),
                "overflows": app.overflows(),
            }
            app.screenshot(str(Path(shots) / "ui-draft-smj.png"))
            await tap("lang:nb")
            await until("bokmål", lambda: on(ScreenName.WELCOME, "nb"))
            result["nb_notice"] = notice()
            result["ok"] = True
    return result


if __name__ == "__main__":
    sys.exit(driven_main(_drive))
