"""The UI tests' virtual screen: a private Xvfb per test, torn down after it."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator

import pytest

from tests.ui.xvfb import XvfbFailed, private_xvfb

SCREEN_SIZE = (1280, 800)


@contextlib.contextmanager
def xvfb(size: tuple[int, int] = SCREEN_SIZE) -> Iterator[str]:
    """A private Xvfb of `size` for one block; yields its DISPLAY."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb): the UI tests need a virtual X server")
    try:
        with private_xvfb(size) as display:
            yield display
    except XvfbFailed as failed:
        pytest.fail(str(failed))


@pytest.fixture
def xvfb_display() -> Iterator[str]:
    with xvfb() as display:
        yield display
