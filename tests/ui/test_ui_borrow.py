"""Borrow three books through the real Kivy window, like a person would.

The test starts Xvfb, then runs this same file as a script in a subprocess (Kivy wants a fresh process:
its window, config and event loop are process-global). The script starts the real demo (demo library
system over SIP2 on 127.0.0.1, simulated RFID pad, file printer), opens the real `KioskApp` on the same
asyncio loop, and drives it with synthetic touches at the widgets' screen positions:

    Borrow  →  "Place card" (demo panel)  →  PIN on the on-screen keypad  →  "Place 3 books"
    →  wait until three rows say "done" with their due dates  →  screenshot

It writes a JSON result that the test asserts on, and `test-artifacts/ui-borrow.png`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tests.paths import ARTIFACTS
from tests.ui.conftest import SCREEN_SIZE
from tests.ui.driver import driven_main, run_driven

# ---------------------------------------------------------------------------------------------- pytest side


def _run_driver(display: str, tmp_path: Path, scenario: str) -> dict[str, Any]:
    screenshot = ARTIFACTS / f"ui-{scenario}.png"
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot.unlink(missing_ok=True)
    return run_driven(__file__, display, tmp_path, str(screenshot), str(tmp_path / "demo"), scenario)


@pytest.mark.ui
def test_borrow_three_books_through_the_window(xvfb_display: str, tmp_path: Path) -> None:
    result = _run_driver(xvfb_display, tmp_path, "borrow")

    rows = result["rows"]
    assert len(rows) == 3, rows
    assert sorted(r["item_id"] for r in rows) == sorted(result["demo_borrow_items"])
    for row in rows:
        assert row["state"] == "done", row
        # The due date the library system gave (SIP2 AH), in the patron's date format, is on the row.
        assert row["expected_due"], row
        assert row["expected_due"] in row["text"], row
        assert row["title"], row
    assert result["screen"] == "borrow"
    # Render less: the rows of one screen are updated in place, each row built only when it changed.
    render = result["render"]
    assert render["bodies"] == 0, render  # the borrow screen was never built again while the stack ran
    assert render["rows_built"] <= render["rows_changed"], render
    assert render["rows_built"] < render["rows_shown"], render  # not every row of every screen
    assert result["patron_name"]
    assert (ARTIFACTS / "ui-borrow.png").stat().st_size > 10_000


# ---------------------------------------------------------------------------------------------- driver side
# Runs in the subprocess: `python tests/test_ui_borrow.py borrow RESULT.json SHOT.png WORKDIR`.


async def _drive(result_path: Path, shot: str, work: str, scenario: str) -> dict[str, Any]:
    screenshot, workdir = Path(shot), Path(work)
    import asyncio
    import itertools

    from kiosk.core import RowState, ScreenName
    from kiosk.demo import DemoEnvironment
    from kiosk.i18n import format_date
    from kiosk.station import Circulated, NotCirculated
    from tests.ui.driver import Finger, running
    from ui.app import KioskApp

    steps: list[str] = []
    result: dict[str, Any] = {"ok": False, "steps": steps}

    def showing(name: ScreenName) -> bool:
        return app.screen is not None and app.screen.name == name

    circulation: list[dict[str, Any]] = []

    async with DemoEnvironment(workdir) as env:
        assert env.station is not None
        env.station.add_observer(
            lambda o: circulation.append(o.as_record()) if isinstance(o, Circulated | NotCirculated) else None
        )
        app = KioskApp(env.station, demo=env, size=SCREEN_SIZE)
        finger = Finger(app, steps)
        until, tap = finger.until, finger.touch
        async with running(app, result, screenshot):
            await until("the welcome screen", lambda: showing(ScreenName.WELCOME), 20)
            result["demo_borrow_items"] = list(env.demo_borrow_items)
            await tap("action:borrow")
            await until("the identify screen", lambda: showing(ScreenName.IDENTIFY))
            await tap("demo:place_card")
            await until("the PIN screen", lambda: showing(ScreenName.PIN))
            for digit in str(env.demo_patron_pin):
                await tap(f"key:{digit}")
            await tap("key:ok")
            await until("the borrow screen", lambda: showing(ScreenName.BORROW), 20)
            await asyncio.sleep(0.3)  # the borrow screen drawn: count from here
            shown: list[Any] = []
            env.station.add_listener(shown.append)
            before = (app.stats.renders, app.stats.bodies, app.stats.rows_built)
            await tap("demo:place_borrow")

            def three_done() -> bool:
                rows = app.rows()
                return len(rows) == 3 and all(r.state == RowState.DONE for r in rows)

            await until("three rows done", three_done, 30)
            await asyncio.sleep(0.3)  # one more frame so the screenshot shows the final rows
            renders, bodies, rows_built = app.stats.renders, app.stats.bodies, app.stats.rows_built
            borrow_screens = [x for x in shown if x.name is ScreenName.BORROW]
            changed = sum(  # rows new or different from the screen before (what must be drawn again)
                len(set(now.rows) - set(was.rows)) for was, now in itertools.pairwise(borrow_screens)
            ) + len(borrow_screens[0].rows if borrow_screens else ())
            result["render"] = {
                "renders": renders - before[0],
                "bodies": bodies - before[1],
                "rows_built": rows_built - before[2],
                "rows_changed": changed,
                "rows_shown": sum(len(x.rows) for x in borrow_screens),
            }
            language = app.screen.language if app.screen else "nb"
            due_by_item = {c["item_id"]: c.get("due") for c in circulation if c.get("action") == "checkout"}
            result["rows"] = [
                {
                    "item_id": r.ref.removeprefix("row:"),
                    "title": r.title,
                    "state": r.state,
                    "text": r.row_text,
                    "expected_due": format_date(due_by_item[r.ref.removeprefix("row:")], language)
                    if due_by_item.get(r.ref.removeprefix("row:"))
                    else "",
                }
                for r in app.rows()
            ]
            result["screen"] = app.screen.name.value if app.screen else None
            result["patron_name"] = app.screen.patron_name if app.screen else ""
            result["language"] = language
            result["screenshot"] = app.screenshot(str(screenshot))
            result["ok"] = True
    return result


if __name__ == "__main__":
    sys.exit(driven_main(_drive))
