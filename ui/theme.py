"""Look of the kiosk: colours, sizes, font.

High contrast by default (near-black text on white, WCAG AAA for body text). Every state is shown by an icon
*and* a word *and* a colour, never colour alone. Touch targets are at least 15 mm (EN 301 549 / UU-forskriften
guidance is 9 mm; we go well above it for elderly patrons and children).

Nothing here imports kivy at module level except `kivy.metrics`-free constants, so the theme can be read by
tools without opening a window. Sizes are in pixels for a 1280x800 panel; `scale()` adapts them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import kivy

# DejaVu Sans ships with Kivy and covers Sámi (á č đ ŋ š ŧ ž, Skolt ǥ ǧ ǩ ǯ ʒ ʹ) and Cyrillic.
# Roboto (Kivy's default) lacks the Skolt Sámi letters.
FONT = os.path.join(os.path.dirname(kivy.__file__), "data", "fonts", "DejaVuSans.ttf")

RGBA = tuple[float, float, float, float]


def hex_rgba(value: str, alpha: float = 1.0) -> RGBA:
    value = value.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return (r, g, b, alpha)


_BACKGROUND = hex_rgba("#FFFFFF")
_TEXT = hex_rgba("#111111")
_MUTED_TEXT = hex_rgba("#3A3A3A")
_HEADER_BG = hex_rgba("#0B2545")
_HEADER_TEXT = hex_rgba("#FFFFFF")
_PRIMARY_BG = hex_rgba("#0B2545")
_PRIMARY_TEXT = hex_rgba("#FFFFFF")
_PRIMARY_PRESSED = hex_rgba("#1D4E89")
_SECONDARY_BG = hex_rgba("#FFFFFF")
_SECONDARY_TEXT = hex_rgba("#0B2545")
_SECONDARY_PRESSED = hex_rgba("#D6E4F5")
_BORDER = hex_rgba("#0B2545")
_ROW_BG = hex_rgba("#F3F5F8")
_ROW_BORDER = hex_rgba("#8A94A6")
_OVERLAY_DIM = hex_rgba("#000000", 0.72)
_OFFLINE_BG = hex_rgba("#FFD54F")
_OFFLINE_TEXT = hex_rgba("#111111")
_DEMO_BG = hex_rgba("#2B2B2B")
_DEMO_TEXT = hex_rgba("#FFFFFF")
_OUT_OF_ORDER_BG = hex_rgba("#8B0000")
_STATE_WORKING: tuple[RGBA, RGBA, str] = (hex_rgba("#37474F"), hex_rgba("#FFFFFF"), "⟳")
_STATE_DONE: tuple[RGBA, RGBA, str] = (hex_rgba("#1B5E20"), hex_rgba("#FFFFFF"), "✔")
_STATE_REFUSED: tuple[RGBA, RGBA, str] = (hex_rgba("#B00020"), hex_rgba("#FFFFFF"), "✘")
_STATE_ATTENTION: tuple[RGBA, RGBA, str] = (hex_rgba("#FFB300"), hex_rgba("#111111"), "⚠")


@dataclass(frozen=True)
class Theme:
    library_name: str = ""

    # Colours (contrast against their own background ≥ 7:1 where text sits on them)
    background: RGBA = _BACKGROUND
    text: RGBA = _TEXT
    muted_text: RGBA = _MUTED_TEXT
    header_bg: RGBA = _HEADER_BG  # dark navy band with the library name
    header_text: RGBA = _HEADER_TEXT
    primary_bg: RGBA = _PRIMARY_BG
    primary_text: RGBA = _PRIMARY_TEXT
    primary_pressed: RGBA = _PRIMARY_PRESSED
    secondary_bg: RGBA = _SECONDARY_BG
    secondary_text: RGBA = _SECONDARY_TEXT
    secondary_pressed: RGBA = _SECONDARY_PRESSED
    border: RGBA = _BORDER
    row_bg: RGBA = _ROW_BG
    row_border: RGBA = _ROW_BORDER
    overlay_dim: RGBA = _OVERLAY_DIM
    offline_bg: RGBA = _OFFLINE_BG
    offline_text: RGBA = _OFFLINE_TEXT
    demo_bg: RGBA = _DEMO_BG
    demo_text: RGBA = _DEMO_TEXT
    out_of_order_bg: RGBA = _OUT_OF_ORDER_BG

    # Row state badges: background, text colour, icon. The word comes from translate("row.state.<state>").
    state_working: tuple[RGBA, RGBA, str] = _STATE_WORKING
    state_done: tuple[RGBA, RGBA, str] = _STATE_DONE
    state_refused: tuple[RGBA, RGBA, str] = _STATE_REFUSED
    state_attention: tuple[RGBA, RGBA, str] = _STATE_ATTENTION

    # Sizes in px at 1280x800
    font: str = FONT
    font_header: int = 30
    font_heading: int = 46
    font_message: int = 32
    font_body: int = 28
    font_small: int = 22
    font_button: int = 34
    font_tile: int = 44
    font_key: int = 46
    header_height: int = 76
    button_height: int = 100  # ≥ 15 mm on a 15.6" 1280x800 panel (~97 dpi → 15 mm ≈ 57 px)
    tile_height: int = 170
    key_size: int = 92
    language_button_height: int = 72
    row_height: int = 112
    badge_width: int = 250
    padding: int = 28
    spacing: int = 20
    border_width: float = 2.5
    demo_panel_width: int = 260

    def state_style(self, state: str) -> tuple[RGBA, RGBA, str]:
        return {
            "working": self.state_working,
            "done": self.state_done,
            "refused": self.state_refused,
            "attention": self.state_attention,
        }[state]


DEFAULT_THEME = Theme()
