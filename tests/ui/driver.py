"""Drives the real Kivy kiosk app like a finger would, for the UI tests' subprocesses (under Xvfb).

Imported only inside the driven subprocess: importing it opens Kivy's window machinery."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from kivy.base import EventLoop
from kivy.core.window import Window
from kivy.input.motionevent import MotionEvent


class Touch(MotionEvent):
    """A finger on the screen, dispatched through Kivy's own input path (not a widget call)."""

    def __init__(self, touch_id: int, sx: float, sy: float) -> None:
        super().__init__("ui-driver", touch_id, {"sx": sx, "sy": sy}, is_touch=True, type_id="touch")
        self.profile = ["pos"]

    def depack(self, args: dict[str, float]) -> None:
        self.sx, self.sy = args["sx"], args["sy"]
        super().depack(args)


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
        widget = await self.until(f"a widget {ref!r} on screen", lambda: self.app.find(ref))
        await asyncio.sleep(0.1)  # let layout settle so the widget has its final position
        x, y = widget.to_window(*widget.center)
        event = Touch(next(self._ids), x / (Window.width - 1), y / (Window.height - 1))
        EventLoop.post_dispatch_input("begin", event)
        await asyncio.sleep(hold)
        EventLoop.post_dispatch_input("end", event)
        self.steps.append(f"touch {ref}" if hold < 0.5 else f"touch {ref} for {hold} s")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running(app: Any, result: dict[str, Any], screenshot: Path) -> AsyncIterator[None]:
    """Run the app for the body. A failure is reported through `result` (with a screenshot of what was
    on screen, and the steps done so far), not raised: Kivy hides a subprocess's stderr."""
    app_task = asyncio.ensure_future(app.async_run(async_lib="asyncio"))
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
