"""Sizes in millimetres on the kiosk's real screen, and the text sizes EN 301 549 5.1.4 asks for.

A kiosk knows its panel: its resolution and diagonal (or DPI), and how far a patron's eyes are from it
(the default viewing distance, 500 mm for a standing patron at a kiosk). Every size in the theme is
given in mm and turned into pixels here, so a 15.6" 1920×1080 panel and a 10" 1280×800 one show the
same physical sizes, in landscape and in portrait.

5.1.4 (functionality closed to text enlargement): the station offers a large-text mode in which the
capital H of every text is at least 0.7° of visual angle at the viewing distance, i.e.
2·d·tan(0.35°), 6.1 mm at 500 mm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MM_PER_INCH = 25.4
# DejaVu Sans: cap height 1493 units of 2048 per em (the font's OS/2 sCapHeight), i.e. 0.729 em.
CAP_HEIGHT_EM = 1493 / 2048
MIN_CAP_ANGLE_DEG = 0.7  # EN 301 549 5.1.4


@dataclass(frozen=True)
class ScreenGeometry:
    width_px: int
    height_px: int
    diagonal_in: float = 15.6  # the common kiosk panel
    viewing_distance_mm: float = 500.0

    @classmethod
    def from_dpi(
        cls, width_px: int, height_px: int, dpi: float, viewing_distance_mm: float = 500.0
    ) -> ScreenGeometry:
        diagonal = math.hypot(width_px, height_px) / dpi
        return cls(width_px, height_px, diagonal, viewing_distance_mm)

    @classmethod
    def for_panel(
        cls,
        width_px: int,
        height_px: int,
        diagonal_in: float,
        dpi: float = 0.0,
        viewing_distance_mm: float = 500.0,
    ) -> ScreenGeometry:
        """The configured panel (`[ui]`: its diagonal, or its DPI when given) at this resolution."""
        if dpi > 0:
            return cls.from_dpi(width_px, height_px, dpi, viewing_distance_mm)
        return cls(width_px, height_px, diagonal_in, viewing_distance_mm)

    @property
    def px_per_mm(self) -> float:
        return math.hypot(self.width_px, self.height_px) / (self.diagonal_in * MM_PER_INCH)

    @property
    def portrait(self) -> bool:
        return self.height_px > self.width_px

    def px(self, mm: float) -> int:
        return max(1, round(mm * self.px_per_mm))

    def mm(self, px: float) -> float:
        return px / self.px_per_mm

    def min_cap_height_mm(self) -> float:
        """The capital H height 5.1.4 asks for at this viewing distance."""
        return 2 * self.viewing_distance_mm * math.tan(math.radians(MIN_CAP_ANGLE_DEG / 2))

    def font_px_for_cap(self, cap_mm: float) -> int:
        """The font size (px per em) whose capital H is at least `cap_mm` tall."""
        return math.ceil(cap_mm * self.px_per_mm / CAP_HEIGHT_EM)

    def cap_angle_deg(self, font_px: float) -> float:
        """The visual angle of a capital H in a font of `font_px`, at the viewing distance."""
        cap_mm = self.mm(font_px * CAP_HEIGHT_EM)
        return math.degrees(2 * math.atan(cap_mm / (2 * self.viewing_distance_mm)))
