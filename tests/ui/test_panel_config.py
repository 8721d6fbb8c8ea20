"""`[ui]`: the panel's size (diagonal or DPI) and the viewing distance, checked by `kiosk config check`, feed
the mm layout: a 10.1" and a 21.5" panel show the same text in mm, in different pixels, and large text keeps
EN 301 549 5.1.4's 0.7° at the configured distance."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from kiosk.cli import main
from kiosk.config import UiSection, from_mapping
from tests.cli.station_files import station_file
from tests.ui.driver import driven_main, run_driven
from ui.metrics import MIN_CAP_ANGLE_DEG, ScreenGeometry
from ui.theme import CAP_MM, Theme


def theme_for(ui: UiSection, width: int, height: int, large: bool = False) -> Theme:
    geometry = ScreenGeometry.for_panel(width, height, ui.diagonal_in, ui.dpi, ui.viewing_distance_mm)
    return Theme.for_screen(geometry, large)


def cap_mm(theme: Theme, font_px: int) -> float:
    return theme.geometry.mm(font_px * 1493 / 2048)


def test_the_ui_keys_are_read_with_their_defaults_and_values() -> None:
    assert from_mapping({}).ui == UiSection()
    ui = from_mapping({"ui": {"diagonal_in": 21.5, "viewing_distance_mm": 700, "large_text": True}}).ui
    assert (ui.diagonal_in, ui.dpi, ui.viewing_distance_mm, ui.large_text) == (21.5, 0.0, 700.0, True)


def test_a_10_inch_and_a_21_inch_panel_show_body_text_of_the_same_height_in_mm() -> None:
    small = theme_for(from_mapping({"ui": {"diagonal_in": 10.1}}).ui, 1280, 800)
    large = theme_for(from_mapping({"ui": {"diagonal_in": 21.5}}).ui, 1920, 1080)
    assert small.font_body > large.font_body  # the 10.1" panel has more pixels per mm (149 dpi, not 102)
    for theme in (small, large):
        assert cap_mm(theme, theme.font_body) == pytest.approx(CAP_MM["body"][0], abs=0.15)
        assert theme.geometry.mm(theme.button_height) == pytest.approx(15.0, abs=0.2)


def test_dpi_instead_of_the_diagonal_gives_the_same_sizes() -> None:
    by_diagonal = theme_for(UiSection(diagonal_in=15.6), 1920, 1080)
    dpi = (1920**2 + 1080**2) ** 0.5 / 15.6
    by_dpi = theme_for(from_mapping({"ui": {"dpi": round(dpi, 3)}}).ui, 1920, 1080)
    assert by_dpi.font_body == by_diagonal.font_body and by_dpi.button_height == by_diagonal.button_height


@pytest.mark.parametrize("distance", [400, 500, 700, 1000])
def test_large_text_keeps_a_capital_h_of_0_7_degrees_at_the_configured_viewing_distance(
    distance: int,
) -> None:
    ui = from_mapping({"ui": {"diagonal_in": 10.1, "viewing_distance_mm": distance}}).ui
    theme = theme_for(ui, 1280, 800, large=True)
    assert theme.geometry.cap_angle_deg(theme.smallest_font()) >= MIN_CAP_ANGLE_DEG


BAD = [
    ("diagonal_in = 2", r"\[ui\] diagonal_in: 2 is out of range: use a number from 5 to 65 inches"),
    ("dpi = 20", r"\[ui\] dpi: 20 is out of range: .* or 0 for from diagonal_in"),
    ("viewing_distance_mm = 5000", r"\[ui\] viewing_distance_mm: 5000 is out of range: .* 250 to 1500 mm"),
    ('diagonal_in = "15"', r"\[ui\] diagonal_in: expected a number, got '15'"),
    ("diagonal = 15.6", r"unknown key in \[ui\]: 'diagonal' \(did you mean 'diagonal_in'\?\)"),
    ("large_text = 1", r"\[ui\] large_text: expected true or false, got 1"),
]


@pytest.mark.parametrize(("line", "message"), BAD)
def test_kiosk_config_check_refuses_a_wrong_ui_value_and_says_what_to_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, message: str
) -> None:
    path = station_file(tmp_path, f"[ui]\n{line}")
    assert main(["config", "check", str(path)]) != 0
    assert re.search(message, capsys.readouterr().err)


def test_kiosk_config_check_passes_a_panel_given_by_its_size(tmp_path: Path) -> None:
    path = station_file(tmp_path, "[ui]\ndiagonal_in = 21.5\nviewing_distance_mm = 650")
    assert main(["config", "check", str(path)]) == 0


@pytest.mark.ui
def test_the_app_sizes_its_text_for_the_configured_panel(xvfb_display: str, tmp_path: Path) -> None:
    result = run_driven(__file__, xvfb_display, tmp_path, str(tmp_path / "demo"), timeout=90)
    expected = theme_for(
        UiSection(diagonal_in=10.1, viewing_distance_mm=650, large_text=True), 1280, 800, True
    )
    assert result["large"] is True  # [ui] large_text: sessions start in large text
    assert result["font_body"] == expected.font_body
    assert result["heading_font"] == expected.font_heading
    assert result["overflows"] == []


async def _drive(result_path: Path, work: str) -> dict[str, Any]:
    from kiosk.core import ScreenName
    from kiosk.demo import DemoEnvironment
    from tests.ui.driver import Finger, running
    from ui.app import KioskApp
    from ui.widgets import TextLabel

    result: dict[str, Any] = {"ok": False, "steps": []}
    async with DemoEnvironment(Path(work)) as env:
        assert env.station is not None
        panel = UiSection(diagonal_in=10.1, viewing_distance_mm=650, large_text=True)
        app = KioskApp(env.station, size=(1280, 800), panel=panel)
        finger = Finger(app, result["steps"])
        async with running(app, result, result_path.with_suffix(".png")):
            await finger.until(
                "the welcome screen", lambda: app.screen and app.screen.name is ScreenName.WELCOME
            )
            await finger.until("the window at its size", lambda: app.geometry.width_px == 1280)
            labels = [w for w in app.walk() if isinstance(w, TextLabel) and w.text and w.bold]
            result.update(
                large=app.theme.large,
                font_body=app.theme.font_body,
                heading_font=max(int(w.font_size) for w in labels),
                overflows=app.overflows(),
                ok=True,
            )
    return result


if __name__ == "__main__":
    import sys

    sys.exit(driven_main(_drive))
