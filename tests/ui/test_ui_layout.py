"""Every screen fits every kiosk panel: no label's text larger than its box or broken inside a word, in
landscape and portrait, normal and large text; the theme's contrast; EN 301 549 5.1.4's capital H.

The screenshots land in test-artifacts/layout/<panel>/. The full matrix (every screen × every offered
language and every draft that would be offered when enabled × four panels × normal and large text) is
marked `long` (`make test-long`); the normal suite runs three screens × two languages × four panels,
and large text on the smallest panel.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.i18n import DRAFT_LANGUAGES, offered_languages, status
from kiosk.i18n.template import patron_keys
from tests.paths import ARTIFACTS, ROOT
from tests.ui.conftest import xvfb
from ui.metrics import ScreenGeometry
from ui.theme import Palette, Theme, contrast_pairs, contrast_ratio

# The four panels: pixels and diagonal (a 10.4" 4:3 kiosk, 15.4" 16:10, 15.6" full HD, a 21.5" totem).
PANELS = {
    "800x600": ScreenGeometry(800, 600, 10.4),
    "1280x800": ScreenGeometry(1280, 800, 15.4),
    "1920x1080": ScreenGeometry(1920, 1080, 15.6),
    "1080x1920": ScreenGeometry(1080, 1920, 21.5),
}


def _layout(
    tmp_path: Path, panel: str, languages: list[str], screens: str = "", large: bool = False
) -> dict[str, list[str]]:
    """Run ui.preview on `panel` (drafts among `languages` enabled as a library would)."""
    g = PANELS[panel]
    shots = ARTIFACTS / "layout" / f"{panel}{'-large' if large else ''}"
    shots.mkdir(parents=True, exist_ok=True)
    report = tmp_path / f"report-{panel}-{large}.json"
    command = [
        sys.executable,
        "-m",
        "ui.preview",
        "--shots",
        str(shots),
        "--report",
        str(report),
        "--size",
        f"{g.width_px}x{g.height_px}@{g.diagonal_in}",
    ]
    command += [arg for language in languages for arg in ("--language", language)]
    command += ["--screens", screens] if screens else []
    command += ["--large"] if large else []
    command += ["--extra-languages", " ".join(code for code in languages if code in DRAFT_LANGUAGES)]
    with xvfb((g.width_px, g.height_px)) as display:
        env = {
            **os.environ,
            "DISPLAY": display,
            "KIVY_NO_ARGS": "1",
            "KIVY_NO_CONSOLELOG": "1",
            "KIVY_NO_FILELOG": "1",
            "KIVY_HOME": str(tmp_path / "kivy-home"),
            "PYTHONPATH": str(ROOT),
        }
        proc = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found: dict[str, list[str]] = json.loads(report.read_text(encoding="utf-8"))
    assert found, "the preview rendered no screen"
    return found


def complete_drafts() -> list[str]:
    """The drafts a library could enable and see offered (every patron message drafted): all five today."""
    return [code for code in DRAFT_LANGUAGES if status(code, patron_keys()).complete]


def _problems(found: dict[str, list[str]]) -> dict[str, list[str]]:
    return {screen: labels for screen, labels in found.items() if labels}


@pytest.mark.ui
@pytest.mark.parametrize("panel", sorted(PANELS))
def test_three_screens_fit_in_two_languages(panel: str, tmp_path: Path) -> None:
    found = _layout(tmp_path, panel, ["nb", "ru"], screens="welcome,pin,borrow")
    assert len(found) == 8  # welcome, pin, borrow and borrow with the idle warning, in each language
    assert _problems(found) == {}


@pytest.mark.ui
def test_large_text_fits_the_smallest_panel(tmp_path: Path) -> None:
    found = _layout(tmp_path, "800x600", ["fi"], screens="identify,return,receipt", large=True)
    assert _problems(found) == {}


@pytest.mark.ui
@pytest.mark.long
@pytest.mark.timeout(900)  # 72 screens per run; a busy 2-core machine takes minutes
@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
@pytest.mark.parametrize("panel", sorted(PANELS))
def test_every_screen_fits_in_every_offered_language(panel: str, large: bool, tmp_path: Path) -> None:
    languages = list(offered_languages()) + complete_drafts()
    found = _layout(tmp_path, panel, languages, large=large)
    assert len(found) == 13 * len(languages)
    assert _problems(found) == {}


def test_the_theme_keeps_text_and_control_contrast() -> None:
    low = {
        name: round(contrast_ratio(fg, bg), 2)
        for name, (fg, bg, minimum) in contrast_pairs(Palette()).items()
        if contrast_ratio(fg, bg) < minimum
    }
    assert low == {}


@pytest.mark.parametrize("panel", sorted(PANELS))
def test_large_text_has_a_capital_h_of_at_least_0_7_degrees(panel: str) -> None:
    g = PANELS[panel]
    large = Theme.for_screen(g, large=True)
    assert g.cap_angle_deg(large.smallest_font()) >= 0.7
    assert g.min_cap_height_mm() == pytest.approx(6.11, abs=0.01)  # at the default 500 mm


@pytest.mark.parametrize("panel", sorted(PANELS))
def test_touch_targets_are_at_least_15_mm_on_every_panel(panel: str) -> None:
    g = PANELS[panel]
    for theme in (Theme.for_screen(g), Theme.for_screen(g, large=True)):
        assert g.mm(theme.button_height) >= 14.9
        assert g.mm(theme.key_size) >= 16.9


def test_a_longer_viewing_distance_asks_for_larger_text() -> None:
    near, far = ScreenGeometry(1920, 1080, 15.6, 400), ScreenGeometry(1920, 1080, 15.6, 700)
    assert Theme.for_screen(far, large=True).font_body > Theme.for_screen(near, large=True).font_body


@pytest.mark.ui
@pytest.mark.parametrize("panel", ["800x600", "1080x1920"])
def test_the_account_screen_with_a_renew_button_per_loan_fits(panel: str, tmp_path: Path) -> None:
    found = _layout(tmp_path, panel, ["nb", "ru", "fi"], screens="account")
    assert len(found) == 3
    assert _problems(found) == {}
