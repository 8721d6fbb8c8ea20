"""The window opens while the station starts (issue 15, cold start), mixed into `KioskApp`.

`kiosk run` starts the station (`station.start()`: the journal's upkeep, what the last run left to
finish) as a task and runs the app beside it with `await app.run_beside(starting)`, instead of awaiting
the start before it opens the window. When the task has ended by the time the window is ready (within
`START_PATIENCE`), the first frame is the station's own screen; otherwise the patron sees the starting
screen (`kiosk.core.starting_screen`: "One moment", in the station's language, no button) until it ends.
Before that nothing reaches the station: no button, PIN, card or language, and the staff screen does not
open; the RFID pad is not read either (the station's poller is one of the loops `start()` begins). Then the
station's own screen (welcome, or out of order) replaces it, and what waits for the first frame (the
service manager's READY) runs.

When `start()` fails, the patron sees the out-of-order screen (`kiosk.core.not_started_screen`), the
error goes to the log, and after `NOT_STARTED_HOLD` the app stops with `start_error` set: `kiosk run`
exits with an error, and the service manager starts it again (a restart loop shows "out of order", not a
flickering black screen).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from kivy.clock import Clock

from kiosk.core import not_started_screen, starting_screen

log = logging.getLogger(__name__)

NOT_STARTED_HOLD = 10.0  # seconds the out-of-order screen stays up before the app stops
# The first frame waits this long for a start that is nearly done, rather than show "One moment" for a
# frame or two (each of the first frames takes 0.05-0.3 s in software GL)
START_PATIENCE = 0.1


class StationStart:
    """Mixed into KioskApp: needs `station`, `_on_screen(screen)`, `_call(fn, *args)` and `stop()`."""

    station: Any
    _starting: asyncio.Future[None] | None = None
    _waiting: asyncio.Future[None] | None = None
    _station_shown = False  # the station's own screens are shown (it has started)
    _after_start: tuple[Callable[[], None], ...] = ()
    start_error: Exception | None = None  # why the station did not start
    not_started_hold = NOT_STARTED_HOLD
    # and KioskApp's _on_screen(screen), _call(fn, *args) and Kivy's stop()

    async def run_beside(self, starting: Awaitable[None], patience: float = START_PATIENCE) -> None:
        """Run the app (as `async_run` on asyncio) while `starting` (the station's `start()`) runs."""
        self._starting = asyncio.ensure_future(starting)
        await asyncio.wait({self._starting}, timeout=patience)
        await self.async_run(async_lib="asyncio")

    @property
    def accepts_input(self) -> bool:
        """Patrons' and staff's input reaches the station (it has started)."""
        return self._station_shown

    def after_first_frame(self, callback: Callable[[], None]) -> None:
        """Call `callback` once the station's own first screen is drawn: the service manager's READY
        (`kiosk run`). Not for the starting screen: READY says the kiosk serves patrons."""
        if self._station_shown:
            Clock.schedule_once(lambda _dt: callback(), 0)
        else:
            self._after_start = (*self._after_start, callback)

    def _show_station(self) -> None:
        """From `build()`: the station's screens, or the starting screen until it has started."""
        starting = self._starting
        if starting is None or (starting.done() and not starting.cancelled() and not starting.exception()):
            self._follow_station()
            return
        self._on_screen(starting_screen(self._language()))
        self._waiting = asyncio.ensure_future(self._until_started(starting))

    def _language(self) -> str:
        screen = getattr(self.station, "screen", None)
        return str(screen.language) if screen is not None else "nb"

    async def _until_started(self, starting: asyncio.Future[None]) -> None:
        try:
            await starting
        except Exception as error:
            self.start_error = error
            log.error(
                "the station did not start (%s: %s): out of order; the service starts it again",
                type(error).__name__,
                error,
            )
            self._on_screen(not_started_screen(self._language()))
            await asyncio.sleep(self.not_started_hold)
            self.stop()
            return
        self._follow_station()

    def _follow_station(self) -> None:
        self._station_shown = True
        self.station.add_listener(self._on_screen)  # calls back at once with the current screen
        for callback in self._after_start:
            Clock.schedule_once(lambda _dt, c=callback: c(), 0)  # after the render of that screen
        self._after_start = ()

    def _stop_starting(self) -> None:
        """From `on_stop`: a start still running is cancelled (SIGTERM while starting)."""
        for task in (self._starting, self._waiting):
            if task is not None and not task.done():
                task.cancel()

    def _to_station(self, fn: Callable[..., Any], *args: Any) -> None:
        """What a person did, to the station: dropped before it has started (or when it did not start)."""
        if not self._station_shown:
            log.info("input before the station has started: ignored (%s)", getattr(fn, "__name__", fn))
            return
        self._call(fn, *args)


__all__ = ["NOT_STARTED_HOLD", "START_PATIENCE", "StationStart"]
