"""No key a patron can reach ends or leaves the kiosk app (issue 11, finding 6).

Under Xvfb, the real `KioskApp` on the demo station gets real X key events (xdotool, through SDL2 as a
keyboard or USB keypad would send them): Escape, F1 (Kivy's settings panel, our speech key), Alt+F4, the
window manager's close request, Ctrl+Q, Ctrl+W, F10, F11, F12. After each the app still runs, shows the
patron's screen, opens no settings panel and still reacts to a touch. Only the system service stops it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.paths import ARTIFACTS, ROOT
from tests.ui.conftest import SCREEN_SIZE

KEYS = ("Escape", "F1", "alt+F4", "ctrl+q", "ctrl+w", "F10", "F11", "F12", "ctrl+alt+Escape", "super+q")


@pytest.mark.ui
def test_no_key_a_patron_can_reach_quits_or_leaves_the_app(xvfb_display: str, tmp_path: Path) -> None:
    if shutil.which("xdotool") is None:
        pytest.skip("xdotool is not installed (apt-get install xdotool): it sends the real key events")
    result_path = tmp_path / "result.json"
    env = {
        **os.environ,
        "DISPLAY": xvfb_display,
        "KIVY_NO_ARGS": "1",
        "KIVY_NO_CONSOLELOG": "1",
        "KIVY_NO_FILELOG": "1",
        "KIVY_HOME": str(tmp_path / "kivy-home"),
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.run(
        [sys.executable, __file__, str(result_path), str(tmp_path / "demo")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result_path.exists(), f"no result (exit {proc.returncode})\n{proc.stderr[-4000:]}"
    result = json.loads(result_path.read_text(encoding="utf-8"))
    assert result["ok"], f"{result.get('error')}\nsteps: {result.get('steps')}"
    for key in KEYS:
        after = result["after"][key]
        assert after == {"running": True, "screen": "welcome", "settings_open": False}, (key, after)
    assert result["reacts"] == "return"  # and a touch still works afterwards


async def _drive(result_path: Path, workdir: Path) -> dict[str, Any]:
    import asyncio

    from kivy.app import App
    from kivy.core.window import Window

    from kiosk.core import ScreenName
    from kiosk.demo import DemoEnvironment
    from tests.ui.driver import Finger, running
    from ui.app import KioskApp

    steps: list[str] = []
    result: dict[str, Any] = {"ok": False, "steps": steps, "after": {}}
    async with DemoEnvironment(workdir) as env:
        assert env.station is not None
        app = KioskApp(env.station, demo=env, size=SCREEN_SIZE)
        finger = Finger(app, steps)
        async with running(app, result, ARTIFACTS / "ui-no-way-out.png"):
            await finger.until(
                "the welcome screen", lambda: app.screen and app.screen.name is ScreenName.WELCOME, 20
            )
            await asyncio.sleep(0.5)
            subprocess.run(["xdotool", "mousemove", "200", "200"], check=True, timeout=10)
            for key in KEYS:
                subprocess.run(["xdotool", "key", "--clearmodifiers", key], check=True, timeout=10)
                steps.append(f"key {key}")
                await asyncio.sleep(0.4)
                if key == "alt+F4":  # what a window manager's close button sends
                    Window.dispatch("on_request_close")
                    await asyncio.sleep(0.2)
                result["after"][key] = {
                    "running": App.get_running_app() is app
                    and app.root is not None
                    and app.root.get_root_window() is not None,
                    "screen": app.screen.name.value if app.screen else None,
                    "settings_open": app._app_settings is not None and app._app_settings.parent is not None,
                }
            await finger.touch("action:return")
            await finger.until(
                "the return screen", lambda: app.screen and app.screen.name is ScreenName.RETURN
            )
            result["reacts"] = app.screen.name.value if app.screen else None
            result["ok"] = True
    result_path.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


def main(argv: list[str]) -> int:
    import asyncio

    result_path, workdir = Path(argv[0]), Path(argv[1])
    sys.path.insert(0, str(ROOT))
    try:
        result = asyncio.run(_drive(result_path, workdir))
    except BaseException:
        import traceback

        result = {"ok": False, "error": traceback.format_exc(), "steps": []}
        result_path.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
