"""Every screen renders (hand-made `Screen`s via `ui.preview`), one PNG each in test-artifacts/screens/."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import ARTIFACTS, ROOT


@pytest.mark.ui
def test_every_screen_renders(xvfb_display: str, tmp_path: Path) -> None:
    out = ARTIFACTS / "screens"
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()
    env = {
        **os.environ,
        "DISPLAY": xvfb_display,
        "KIVY_NO_ARGS": "1",
        "KIVY_NO_CONSOLELOG": "1",
        "KIVY_NO_FILELOG": "1",
        "KIVY_HOME": str(tmp_path / "kivy-home"),
        "PYTHONPATH": str(ROOT),
    }
    for language in ("en", "sms"):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "ui.preview",
                "--shots",
                str(out / language),
                "--demo",
                "--language",
                language,
            ],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        shots = sorted((out / language).glob("*.png"))
        names = {p.stem.split("-", 1)[1].removesuffix(f"-{language}") for p in shots}  # 00-pin-en
        assert {
            "welcome",
            "identify",
            "pin",
            "borrow",
            "return",
            "account",
            "receipt",
            "goodbye",
            "out_of_order",
            "starting",
            "borrow-idle",
        } <= names, names
        assert all(p.stat().st_size > 5_000 for p in shots)
