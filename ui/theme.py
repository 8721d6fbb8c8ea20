"""Look of the kiosk: colours, sizes in mm, the font, and the contrast the colours must keep.

High contrast by default. Every state is shown by an icon *and* a word *and* a colour, never colour
alone. Sizes are physical (mm on the configured panel, see `ui.metrics`): touch targets at least 15 mm
(the guidance is 9 mm; elderly patrons and children get more). `Theme.for_screen(geometry, large)` gives
the pixel sizes for one panel; `large=True` is the large-text mode (EN 301 549 5.1.4: every capital H
at least 0.7° at the viewing distance). `CONTRAST_PAIRS` lists every text/background and control/
background pair the UI draws, checked by tests/ui (≥ 4.5:1 text, ≥ 3:1 controls).
"""

# ruff: noqa: RUF009  (the palette's defaults are immutable RGBA tuples, computed once)
from __future__ import annotations

from dataclasses import dataclass, field, replace

from ui.fonts import FAMILY
from ui.metrics import ScreenGeometry

RGBA = tuple[float, float, float, float]


def hex_rgba(value: str, alpha: float = 1.0) -> RGBA:
    value = value.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return (r, g, b, alpha)


def _luminance(c: RGBA) -> float:
    def channel(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(c[0]) + 0.7152 * channel(c[1]) + 0.0722 * channel(c[2])


def contrast_ratio(a: RGBA, b: RGBA) -> float:
    """WCAG 2.x contrast ratio of two opaque colours (1.0 to 21.0)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


WHITE = hex_rgba("#FFFFFF")
INK = hex_rgba("#111111")
NAVY = hex_rgba("#0B2545")


@dataclass(frozen=True)
class Palette:
    background: RGBA = WHITE
    text: RGBA = INK
    muted_text: RGBA = hex_rgba("#3A3A3A")
    header_bg: RGBA = NAVY
    header_text: RGBA = WHITE
    primary_bg: RGBA = NAVY
    primary_text: RGBA = WHITE
    primary_pressed: RGBA = hex_rgba("#1D4E89")
    secondary_bg: RGBA = WHITE
    secondary_text: RGBA = NAVY
    secondary_pressed: RGBA = hex_rgba("#D6E4F5")
    border: RGBA = NAVY
    focus: RGBA = hex_rgba("#E65100")  # the keyboard focus ring (≥ 3:1 on white and on rows)
    row_bg: RGBA = hex_rgba("#F3F5F8")
    row_border: RGBA = hex_rgba("#5C6678")
    overlay_dim: RGBA = hex_rgba("#000000", 0.72)
    offline_bg: RGBA = hex_rgba("#FFD54F")
    offline_text: RGBA = INK
    error_bg: RGBA = hex_rgba("#FDECEE")
    error_border: RGBA = hex_rgba("#B00020")
    error_text: RGBA = hex_rgba("#7A0016")
    library_bg: RGBA = hex_rgba("#EEF3FA")  # the library system's own words, set apart
    library_text: RGBA = INK
    demo_bg: RGBA = hex_rgba("#2B2B2B")
    demo_text: RGBA = WHITE
    out_of_order_bg: RGBA = hex_rgba("#8B0000")
    # Row state badges: background, text colour, icon. The word comes from translate("row.state.<state>").
    state_working: tuple[RGBA, RGBA, str] = (hex_rgba("#37474F"), WHITE, "⟳")
    state_done: tuple[RGBA, RGBA, str] = (hex_rgba("#1B5E20"), WHITE, "✔")
    state_refused: tuple[RGBA, RGBA, str] = (hex_rgba("#B00020"), WHITE, "✘")
    state_attention: tuple[RGBA, RGBA, str] = (hex_rgba("#FFB300"), INK, "⚠")
    state_on_loan: tuple[RGBA, RGBA, str] = (hex_rgba("#0D47A1"), WHITE, "•")


def contrast_pairs(p: Palette) -> dict[str, tuple[RGBA, RGBA, float]]:
    """name -> (foreground, background, minimum ratio): every pair the UI draws."""
    text, control = 4.5, 3.0
    pairs = {
        "text": (p.text, p.background, text),
        "muted text": (p.muted_text, p.background, text),
        "row text": (p.text, p.row_bg, text),
        "muted row text": (p.muted_text, p.row_bg, text),
        "header": (p.header_text, p.header_bg, text),
        "primary button": (p.primary_text, p.primary_bg, text),
        "primary pressed": (p.primary_text, p.primary_pressed, text),
        "secondary button": (p.secondary_text, p.secondary_bg, text),
        "secondary pressed": (p.secondary_text, p.secondary_pressed, text),
        "offline marker": (p.offline_text, p.offline_bg, text),
        "error text": (p.error_text, p.error_bg, text),
        "library's words": (p.library_text, p.library_bg, text),
        "demo panel": (p.demo_text, p.demo_bg, text),
        "out of order header": (p.header_text, p.out_of_order_bg, text),
        "button border": (p.border, p.background, control),
        "row border": (p.row_border, p.background, control),
        "error border": (p.error_border, p.background, control),
        "focus ring on white": (p.focus, p.background, control),
        "focus ring on rows": (p.focus, p.row_bg, control),
    }
    for name in ("working", "done", "refused", "attention", "on_loan"):
        bg, fg, _icon = getattr(p, f"state_{name}")
        pairs[f"{name} badge"] = (fg, bg, text)
    return pairs


# Text sizes as the height of a capital H in mm (normal, large-text mode); large ≥ 6.2 mm everywhere.
CAP_MM: dict[str, tuple[float, float]] = {
    "header": (3.6, 6.2),
    "heading": (7.0, 9.0),
    "message": (4.8, 7.0),
    "body": (4.2, 6.2),
    "small": (3.4, 6.2),
    "button": (4.6, 6.2),
    "tile": (6.5, 8.0),
    "key": (7.0, 8.0),
}


@dataclass(frozen=True)
class Theme:
    library_name: str = ""
    palette: Palette = field(default_factory=Palette)
    geometry: ScreenGeometry = field(default_factory=lambda: ScreenGeometry(1280, 800))
    large: bool = False
    font: str = FAMILY
    # Pixel sizes, filled by for_screen() from the mm below
    font_header: int = 22
    font_heading: int = 40
    font_message: int = 28
    font_body: int = 24
    font_small: int = 19
    font_button: int = 26
    font_tile: int = 36
    font_key: int = 40
    header_height: int = 60
    button_height: int = 58
    button_width: int = 200
    tile_height: int = 115
    key_size: int = 68
    language_button_height: int = 50
    row_min_height: int = 58
    badge_width: int = 130
    padding: int = 20
    spacing: int = 14
    border_width: float = 2.5
    focus_width: float = 5.0
    demo_panel_width: int = 230

    def __getattr__(self, name: str) -> object:
        # colours are read as theme.text, theme.header_bg ... from the palette
        return getattr(self.palette, name)

    @classmethod
    def for_screen(
        cls,
        geometry: ScreenGeometry,
        large: bool = False,
        library_name: str = "",
        palette: Palette | None = None,
    ) -> Theme:
        g = geometry
        floor = g.min_cap_height_mm() * 1.01 if large else 0.0  # 5.1.4 at this panel's viewing distance
        fonts = {
            f"font_{name}": g.font_px_for_cap(max(floor, sizes[1 if large else 0]))
            for name, sizes in CAP_MM.items()
        }
        touch = 16.0 if large else 15.0
        return cls(
            library_name=library_name,
            palette=palette or Palette(),
            geometry=g,
            large=large,
            header_height=max(g.px(touch + 4.0), round(fonts["font_header"] * 1.9)),
            button_height=g.px(touch),
            button_width=g.px(48.0),
            tile_height=g.px(26.0),
            key_size=g.px(17.0 if not large else 18.0),
            language_button_height=g.px(13.0),
            row_min_height=g.px(touch),
            badge_width=g.px(26.0 if not large else 32.0),
            padding=g.px(5.0),
            spacing=g.px(3.0),
            border_width=max(1.5, g.px(0.6)),
            focus_width=max(3.0, g.px(1.2)),
            demo_panel_width=g.px(58.0),
            **fonts,
        )

    def larger(self, on: bool) -> Theme:
        return (
            Theme.for_screen(self.geometry, on, self.library_name, self.palette) if on != self.large else self
        )

    def state_style(self, state: str) -> tuple[RGBA, RGBA, str]:
        style: tuple[RGBA, RGBA, str] = getattr(self.palette, f"state_{state}")
        return style

    def smallest_font(self) -> int:
        return min(getattr(self, f"font_{name}") for name in CAP_MM)


DEFAULT_THEME = Theme.for_screen(ScreenGeometry(1280, 800))
__all__ = [
    "DEFAULT_THEME",
    "RGBA",
    "Palette",
    "Theme",
    "contrast_pairs",
    "contrast_ratio",
    "hex_rgba",
    "replace",
]
