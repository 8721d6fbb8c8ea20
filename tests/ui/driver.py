"""The UI tests' two sides of one driven run of the real Kivy kiosk app under Xvfb.

Kivy wants a fresh process (its window, config and event loop are process-global), so each UI test runs
its own file again as a script in a subprocess:

- pytest side, `run_driven(__file__, display, tmp_path, *args)`: starts the script with the environment
  Kivy needs (DISPLAY, no Kivy arguments or logs, a private KIVY_HOME), waits for it and returns the JSON
  result it wrote, failing the test with the script's error, steps and stderr when it did not succeed.
- driven side, `driven_main(drive)` under `if __name__ == "__main__"`: runs `drive(result_path, *args)`
  on a fresh asyncio loop and writes a failure into the result file (Kivy hides a subprocess's stderr);
  `Finger` touches widgets like a finger would, `running(app, ...)` runs the app around a block.

Nothing here imports Kivy at import time: the pytest side must never open a window.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import subprocess
import sys
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.paths import ROOT

# ---------------------------------------------------------------------------------------------- pytest side


def kivy_environment(display: str, tmp_path: Path) -> dict[str, str]:
    """What a driven subprocess needs: the Xvfb display, Kivy without its own arguments and logs, a
    KIVY_HOME of its own (no config left by another run), and the repository on the path."""
    return {
        **os.environ,
        "DISPLAY": display,
        "KIVY_NO_ARGS": "1",
        "KIVY_NO_CONSOLELOG": "1",
        "KIVY_NO_FILELOG": "1",
        "KIVY_HOME": str(tmp_path / "kivy-home"),
        "PYTHONPATH": str(ROOT),
    }


def run_driven(script: str, display: str, tmp_path: Path, *args: str, timeout: float = 110) -> dict[str, Any]:
    """Run `script` (a UI test file) as the driven subprocess: `script RESULT.json *args`. Returns its
    result; the test fails with what went wrong when the script wrote none or did not succeed."""
    result_path = tmp_path / "result.json"
    result_path.unlink(missing_ok=True)
    proc = subprocess.run(
        [sys.executable, script, str(result_path), *args],
        env=kivy_environment(display, tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if not result_path.exists():
        pytest.fail(
            f"UI driver wrote no result (exit {proc.returncode})\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
        )
    result: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
    assert result["ok"], f"{result.get('error')}\nsteps: {result.get('steps')}\n{proc.stderr[-3000:]}"
    assert proc.returncode == 0, proc.stderr[-3000:]
    return result


# ---------------------------------------------------------------------------------------------- driven side

Drive = Callable[..., Awaitable[dict[str, Any]]]


def driven_main(drive: Drive, argv: list[str] | None = None) -> int:
    """The driven script's entry: `drive(Path(result), *rest)` returns the result dict (with "ok"); it is
    written to the result file, and so is a failure's traceback."""
    result_path, *rest = sys.argv[1:] if argv is None else argv
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    sys.path.insert(0, str(ROOT))
    try:
        result = asyncio.run(drive(Path(result_path), *rest))
    except BaseException:
        result = {"ok": False, "error": traceback.format_exc(), "steps": []}
    Path(result_path).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0 if result.get("ok") else 1


@functools.cache
def touch_type() -> type:
    """Kivy's MotionEvent as a finger: `touch_type()(touch_id, sx, sy)`, made when Kivy is imported."""
    from kivy.input.motionevent import MotionEvent

    class Touch(MotionEvent):  # type: ignore[misc]
        """A finger on the screen, dispatched through Kivy's own input path (not a widget call)."""

        def __init__(self, touch_id: int, sx: float, sy: float) -> None:
            super().__init__("ui-driver", touch_id, {"sx": sx, "sy": sy}, is_touch=True, type_id="touch")
            self.profile = ["pos"]

        def depack(self, args: dict[str, float]) -> None:
            self.sx, self.sy = args["sx"], args["sy"]
            super().depack(args)

    return Touch


class Finger:
    """Touches widgets of `app` by their reference (`app.find(ref)`) and waits for what follows."""

    def __init__(self, app: Any, steps: list[str]) -> None:
        self.app = app
        self.steps = steps
        self._ids = iter(range(1000, 100000))

    async def until(self, what: str, predicate: Any, timeout: float = 15.0) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                screen = getattr(self.app, "screen", None)
                shown = screen.name.value if screen is not None else None
                raise TimeoutError(f"timed out after {timeout} s waiting for {what} (screen shown: {shown})")
            await asyncio.sleep(0.05)

    async def touch(self, ref: str, hold: float = 0.08) -> None:
        """Touch down in the middle of the widget, keep the finger there `hold` seconds, lift it."""
        from kivy.base import EventLoop
        from kivy.core.window import Window

        widget = await self.until(f"a widget {ref!r} on screen", lambda: self.app.find(ref))
        await asyncio.sleep(0.1)  # let layout settle so the widget has its final position
        x, y = widget.to_window(*widget.center)
        event = touch_type()(next(self._ids), x / (Window.width - 1), y / (Window.height - 1))
        EventLoop.post_dispatch_input("begin", event)
        await asyncio.sleep(hold)
        EventLoop.post_dispatch_input("end", event)
        self.steps.append(f"touch {ref}" if hold < 0.5 else f"touch {ref} for {hold} s")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running(
    app: Any, result: dict[str, Any], screenshot: Path, beside: Awaitable[None] | None = None
) -> AsyncIterator[None]:
    """Run the app for the body (beside `beside`, the station's start, as `kiosk run` does). A failure is
    reported through `result` (with a screenshot of what was on screen, and the steps done so far), not
    raised: Kivy hides a subprocess's stderr."""
    run = app.run_beside(beside) if beside is not None else app.async_run(async_lib="asyncio")
    app_task = asyncio.ensure_future(run)
    try:
        yield
    except Exception as error:
        result["error"] = f"{type(error).__name__}: {error}"
        with contextlib.suppress(Exception):
            failed = screenshot.with_name(screenshot.stem + "-failed.png")
            result["screenshot"] = app.screenshot(str(failed))
    finally:
        app.stop()
        try:
            await asyncio.wait_for(app_task, 10)
        except Exception as error:
            result.setdefault("error", f"app did not stop: {error!r}")
