"""One bounded wait for the tests: poll a condition until it holds, or fail with TimeoutError."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def until(what: Callable[[], T], timeout: float = 10.0, every: float = 0.02) -> T:
    """`what()` once it is truthy, asked every `every` seconds; TimeoutError after `timeout` seconds.
    For state that stays (a screen up until the test acts, a count that only grows): a state that may
    come and go between two looks wants the station's observations instead (`DemoEnvironment.wait_for`)."""
    async with asyncio.timeout(timeout):
        while not (found := what()):
            await asyncio.sleep(every)
    return found
