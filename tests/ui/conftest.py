"""The UI tests' virtual screen: a private Xvfb per test, torn down after it."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SCREEN_SIZE = (1280, 800)


def _first_display() -> int:
    """Where this test process looks for a free display: a range of its own per pytest-xdist worker
    (gw0, gw1, ...), so two workers do not pick the same number at once."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    return 90 + 40 * (index % 8)


def _free_display(after: int) -> int:
    for number in range(after, after + 400):
        if not Path(f"/tmp/.X{number}-lock").exists() and not Path(f"/tmp/.X11-unix/X{number}").exists():
            return number
    raise RuntimeError(f"no free X display number from :{after}")


def _start_xvfb(size: tuple[int, int]) -> tuple[int, subprocess.Popen[bytes]]:
    """Xvfb on the first free display; one taken between the look and the start (another test process)
    makes Xvfb exit at once, and the next number is tried."""
    number = _first_display() - 1
    for _ in range(5):
        number = _free_display(number + 1)
        proc = subprocess.Popen(
            ["Xvfb", f":{number}", "-screen", "0", f"{size[0]}x{size[1]}x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{number}").exists() and proc.poll() is None:
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                pytest.fail(f"Xvfb :{number} did not start within 10 s")
            time.sleep(0.05)
        if proc.poll() is None:
            return number, proc
    pytest.fail(f"Xvfb exited at once on five displays up to :{number} (exit {proc.returncode})")


@contextlib.contextmanager
def xvfb(size: tuple[int, int] = SCREEN_SIZE) -> Iterator[str]:
    """A private Xvfb of `size` for one block; yields its DISPLAY."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb): the UI tests need a virtual X server")
    number, proc = _start_xvfb(size)
    try:
        yield f":{number}"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def xvfb_display() -> Iterator[str]:
    with xvfb() as display:
        yield display
