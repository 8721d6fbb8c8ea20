"""What the station's jobs share (the clock, the observers, the session's input), and the tasks they run in.

Slow commands (a circulation call, a security write, a receipt) run as tasks, so the session and the
screen never wait on one item. `Tasks.settle()` waits for all of them (tests and scripted scenarios);
`never_hanging` turns a bug inside a task into the failure the session already knows how to show.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kiosk.core import Event
from kiosk.station.device_observations import StationFault
from kiosk.station.observations import Observation, Observer

log = logging.getLogger(__name__)

Work = Coroutine[Any, Any, object]


@dataclass(frozen=True)
class Shell:
    """The four things every job of the station needs from it."""

    clock: Callable[[], datetime]  # the library's local time
    observe: Callable[[Observation], None]  # tell the observers
    feed: Callable[[Event], None]  # give the session an event (and run its commands)
    spawn: Callable[[Work, str], None]  # run a command as a task that `settle()` waits for


class Observers:
    """The station's observers; calling it tells every one of them."""

    def __init__(self) -> None:
        self._observers: list[Observer] = []

    def add(self, observer: Observer) -> None:
        self._observers.append(observer)

    def remove(self, observer: Observer) -> None:
        self._observers.remove(observer)

    def __call__(self, observation: Observation) -> None:
        for observer in list(self._observers):
            observer(observation)


class Tasks:
    """The station's command tasks: started, awaited, cancelled together."""

    def __init__(self) -> None:
        self._running: set[asyncio.Task[object]] = set()

    def spawn(self, work: Work, name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._running.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[object]) -> None:
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("station task %s failed", task.get_name(), exc_info=task.exception())

    async def settle(self) -> None:
        """Wait until every task already started has finished (and what they started in turn)."""
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)

    async def cancel(self, *others: asyncio.Task[object]) -> None:
        """Cancel every task (and these loops), and wait until they are gone."""
        doomed = [*others, *self._running]
        for task in doomed:
            task.cancel()
        for task in doomed:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._running.clear()


async def never_hanging(
    shell: Shell, work: Coroutine[Any, Any, None], failed: Callable[[str], Event]
) -> None:
    """A bug in the station must not leave a patron looking at "working..." until the idle timeout
    cannot even fire (the session waits for every item in flight): an unexpected error becomes
    the failure event the session already knows how to show (a loan of unknown fate, a security
    bit not set), and it is logged for the technician."""
    try:
        await work
    except asyncio.CancelledError:
        raise
    except Exception as error:
        report_fault(shell, error)
        shell.feed(failed(f"internal error: {error!r}"))


def report_fault(shell: Shell, error: Exception) -> None:
    """A bug, for the technician: in the log with its traceback, and to the observers."""
    log.error("station: unexpected error", exc_info=error)
    shell.observe(StationFault(repr(error)))


__all__ = ["Observers", "Shell", "Tasks", "Work", "never_hanging", "report_fault"]
