"""The UI tests' virtual screen: a private Xvfb per test, torn down after it."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SCREEN_SIZE = (1280, 800)


def _free_display() -> int:
    for number in range(90, 400):
        if not Path(f"/tmp/.X{number}-lock").exists() and not Path(f"/tmp/.X11-unix/X{number}").exists():
            return number
    raise RuntimeError("no free X display number between :90 and :399")


@contextlib.contextmanager
def xvfb(size: tuple[int, int] = SCREEN_SIZE) -> Iterator[str]:
    """A private Xvfb of `size` for one block; yields its DISPLAY."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb): the UI tests need a virtual X server")
    number = _free_display()
    proc = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", f"{size[0]}x{size[1]}x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{number}").exists():
            if proc.poll() is not None:
                pytest.fail(f"Xvfb :{number} exited with {proc.returncode}")
            if time.monotonic() > deadline:
                pytest.fail(f"Xvfb :{number} did not start within 10 s")
            time.sleep(0.05)
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
