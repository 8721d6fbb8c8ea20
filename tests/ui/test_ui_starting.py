"""The window opens while the station starts (issue 15, cold start), through the real Kivy window (Xvfb)
on the demo's real station, whose `start()` the test holds back as a slow journal would:

    held: the starting screen ("Et øyeblikk", no button); a touch on the screen, the Return button's press,
      digits and Enter on the keyboard, a patron card on the pad and the staff hold reach nothing: the
      station is still at its welcome, no session, no staff prompt, and the service's READY not sent
    released: the welcome screen replaces it, READY follows, and a touch on Return works
    failed: a start that raises shows the out-of-order screen, and the app ends by itself with the error
    `kiosk run --windowed` (the real command, the demo library system, systemd's socket): READY once the
      window shows the station's screen, and a clean stop on SIGTERM

It writes test-artifacts/ui-starting.png.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from server_api.demo_ils.server import DemoIls
from tests.paths import ARTIFACTS
from tests.service.systemd import FakeSystemd, station_config
from tests.ui.conftest import SCREEN_SIZE
from tests.ui.driver import driven_main, kivy_environment, run_driven


@pytest.mark.ui
def test_before_the_station_has_started_the_starting_screen_shows_and_nothing_reaches_the_station(
    xvfb_display: str, tmp_path: Path
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    result = run_driven(__file__, xvfb_display, tmp_path, "held", str(tmp_path / "demo"))
    held = result["held"]
    assert held["app_screen"] == "starting" and "Et øyeblikk" in held["texts"]
    assert held["buttons"] == []  # nothing to press but the header's tools
    assert held["station_screen"] == "welcome" and held["session_active"] is False  # no input reached it
    assert held["staff_prompt"] is False and held["ready"] is False
    assert result["released"] == {"app_screen": "welcome", "ready": True}
    assert result["after_start"] == "return"  # and input reaches the station once it has started


@pytest.mark.ui
def test_a_station_that_does_not_start_shows_out_of_order_and_the_app_ends_with_the_error(
    xvfb_display: str, tmp_path: Path
) -> None:
    result = run_driven(__file__, xvfb_display, tmp_path, "failing", str(tmp_path / "demo"))
    assert result["shown"] == ["starting", "out_of_order"] or result["shown"] == ["out_of_order"]
    assert result["error"] == "RuntimeError: the journal cannot be opened"
    assert result["ended_by_itself"] is True and result["ready"] is False


@pytest.mark.ui
async def test_kiosk_run_windowed_says_ready_once_its_window_serves_and_stops_cleanly(
    xvfb_display: str, tmp_path: Path
) -> None:
    systemd = FakeSystemd()
    async with DemoIls(db_path=tmp_path / "ils.sqlite3") as ils:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "kiosk", "run", "--config", str(station_config(tmp_path, ils.port)),
            "--windowed",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env={**kivy_environment(xvfb_display, tmp_path), "NOTIFY_SOCKET": systemd.name,
                 "KIOSK_RUN_DIR": str(tmp_path / "run")},
        )  # fmt: skip
        try:
            ready = await systemd.until("READY", 60)
            assert ready["READY"] == "1" and "serving patrons" in ready["STATUS"]
            process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                _out, err = await process.communicate()
            assert process.returncode == 0, err.decode()[-3000:]
            assert "Traceback" not in err.decode()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            systemd.socket.close()


async def _drive(result_path: Path, case: str, work: str) -> dict[str, Any]:
    from kivy.base import EventLoop
    from kivy.core.window import Window

    from kiosk.core import Action, ScreenName
    from kiosk.demo import DemoEnvironment
    from kiosk.station import Station
    from tests.ui.driver import Finger, running, touch_type
    from ui.app import KioskApp

    steps: list[str] = []
    result: dict[str, Any] = {"ok": False, "steps": steps}
    real_start = Station.start

    async def not_yet(_station: Station) -> None:
        """The environment builds its station; the test starts it."""

    Station.start = not_yet  # type: ignore[method-assign]
    async with DemoEnvironment(Path(work)) as env:
        Station.start = real_start  # type: ignore[method-assign]
        station = env.station
        assert station is not None
        app = KioskApp(station, demo=env, size=SCREEN_SIZE, staff_hold=0.3)
        ready: list[bool] = []
        app.after_first_frame(lambda: ready.append(True))
        finger = Finger(app, steps)

        def showing() -> str:
            return app.screen.name.value if app.screen is not None else ""

        if case == "failing":
            shown: list[str] = []
            app._on_screen = lambda s, show=app._on_screen: (shown.append(s.name.value), show(s))[1]  # type: ignore[method-assign]
            app.not_started_hold = 0.5

            async def failing() -> None:
                await asyncio.sleep(0.3)
                raise RuntimeError("the journal cannot be opened")

            task = asyncio.ensure_future(app.run_beside(failing()))
            await finger.until("the out-of-order screen", lambda: showing() == "out_of_order", 20)
            await asyncio.wait_for(task, 10)  # the app stops by itself
            error = app.start_error
            result.update(
                shown=list(dict.fromkeys(shown)),
                error=f"{type(error).__name__}: {error}" if error else "",
                ended_by_itself=True,
                ready=bool(ready),
                ok=True,
            )
            return result

        release = asyncio.Event()

        async def held_start() -> None:
            await release.wait()
            await station.start()

        async with running(app, result, ARTIFACTS / "ui-starting.png", beside=held_start()):
            await finger.until("the starting screen", lambda: showing() == "starting", 20)
            await asyncio.sleep(0.3)  # drawn
            app.screenshot(str(ARTIFACTS / "ui-starting.png"))
            buttons = [
                ref
                for w in app.walk()
                if (ref := getattr(w, "ref", "")).startswith(("action:", "key:", "lang:"))
                and w.get_root_window() is not None
            ]
            await finger.touch("staff:hold", hold=0.6)  # the staff hold, twice its time
            event = touch_type()(1, 0.5, 0.5)  # a finger in the middle of the screen
            EventLoop.post_dispatch_input("begin", event)
            await asyncio.sleep(0.05)
            EventLoop.post_dispatch_input("end", event)
            app._press(Action.RETURN)  # what the Return button calls
            for code in (49, 50, 51, 52, 13):  # "1234", Enter: a card number typed on a keypad
                Window.dispatch("on_key_down", code, 0, chr(code), [])
                Window.dispatch("on_key_up", code, 0)
            env.place_patron_card()
            steps.append("touched, pressed Return, typed 1234 Enter, placed the card, held the header")
            await asyncio.sleep(1.0)  # many pad polls
            result["held"] = {
                "app_screen": showing(),
                "texts": [str(w.text) for w in app.walk() if getattr(w, "text", "")],
                "buttons": buttons,
                "station_screen": station.screen.name.value,
                "session_active": station.session_active,
                "staff_prompt": app.staff_prompt_view is not None or app.staff_view is not None,
                "ready": bool(ready),
            }
            env.remove_patron_card()
            await asyncio.sleep(0.2)
            release.set()
            await finger.until("the welcome screen", lambda: showing() == "welcome", 20)
            await finger.until("READY", lambda: ready, 5)
            result["released"] = {"app_screen": showing(), "ready": bool(ready)}
            await finger.touch("action:return")
            await finger.until("the return screen", lambda: app.screen.name is ScreenName.RETURN, 10)
            result["after_start"] = showing()
            result["ok"] = True
    return result


if __name__ == "__main__":
    sys.exit(driven_main(_drive))
