"""Finding a font that can draw every language the kiosk speaks.

Receipt printers' code pages lack Sámi letters (ŋ ŧ đ, Skolt Sámi ǥ ǩ ʒ), so receipts are rendered as
images. DejaVu Sans covers Latin with all Sámi letters and Cyrillic; Kivy's bundled Roboto does not.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from PIL import ImageFont

from drivers.printer.base import FontNotFound

SYSTEM_DEJAVU_SANS = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_PACKAGE = "fonts-dejavu-core"
_BOLD_FILE_NAME = "DejaVuSans-Bold.ttf"
# A private-use code point no text font maps: what it draws is the font's "missing glyph" box.
_UNMAPPED_CODE_POINT = "\U0010fffd"


def find_receipt_font(system_font: Path = SYSTEM_DEJAVU_SANS, kivy_package: str = "kivy") -> Path:
    """Return the path of DejaVu Sans: the system copy, else the copy bundled with Kivy.

    Raises ``FontNotFound`` naming the package to install.
    """
    candidates = [system_font]
    bundled = _kivy_bundled_font(kivy_package)
    if bundled is not None:
        candidates.append(bundled)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(candidate) for candidate in candidates)
    raise FontNotFound(
        f"No font that can print Sámi and Cyrillic receipts was found (looked at: {looked}). "
        f"Install the Debian package {FONT_PACKAGE}."
    )


def bold_variant(regular: Path) -> Path | None:
    """DejaVu Sans Bold next to the regular face, if installed (Kivy bundles only the regular one)."""
    bold = regular.with_name(_BOLD_FILE_NAME)
    return bold if bold.is_file() else None


def missing_glyphs(font: ImageFont.FreeTypeFont, text: str) -> list[str]:
    """The characters of ``text`` that ``font`` would draw as its missing-glyph box, in order of first use."""
    notdef = _glyph_fingerprint(font, _UNMAPPED_CODE_POINT)
    missing: list[str] = []
    for char in dict.fromkeys(text):
        if char.isspace() or not char.isprintable():
            continue
        if _glyph_fingerprint(font, char) == notdef:
            missing.append(char)
    return missing


def _glyph_fingerprint(font: ImageFont.FreeTypeFont, char: str) -> tuple[tuple[int, int], bytes]:
    mask = font.getmask(char)
    return mask.size, bytes(mask)


def _kivy_bundled_font(package: str) -> Path | None:
    # find_spec locates the package without importing it: importing kivy starts its window machinery,
    # and drivers/ must not depend on the UI toolkit.
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "data" / "fonts" / "DejaVuSans.ttf"
