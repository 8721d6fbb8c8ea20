"""A private Xvfb for the UI tests and bench/ui.py. Xvfb picks its own free display (`-displayfd`: it
takes the display's lock itself and writes the number once it accepts connections), so two test
processes starting one at the same moment never collide and no display number is guessed here."""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import time
from collections.abc import Iterator


class XvfbFailed(RuntimeError):
    """Xvfb exited or did not become ready."""


@contextlib.contextmanager
def private_xvfb(size: tuple[int, int], ready_within: float = 10.0) -> Iterator[str]:
    """Xvfb with one screen of `size` for one block; yields its DISPLAY (":N"). Raises `XvfbFailed`."""
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", f"{size[0]}x{size[1]}x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        pass_fds=(write_end,),
    )
    os.close(write_end)
    try:
        display = _read_display(read_end, proc, ready_within)
        yield f":{display}"
    finally:
        os.close(read_end)
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _read_display(fd: int, proc: subprocess.Popen[bytes], seconds: float) -> int:
    said, deadline = b"", time.monotonic() + seconds
    while not said.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise XvfbFailed(f"Xvfb gave no display within {seconds:g} s")
        chunk = os.read(fd, 16)
        if not chunk:  # the pipe closed: Xvfb exited
            raise XvfbFailed(f"Xvfb exited before it was ready (exit {proc.wait(5)})")
        said += chunk
    return int(said)
