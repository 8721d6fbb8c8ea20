"""The UI's font: DejaVu Sans with its real bold face, registered with Kivy under one name.

Kivy bundles only DejaVu Sans regular (its default Roboto lacks the Skolt Sámi ǥ ǩ ʒ ǯ ʹ); a `bold=True`
label with a font *file* renders regular. Registering the family with its bold file (Debian's
fonts-dejavu-core) makes `bold=True` use the real DejaVu Sans Bold. tests/i18n checks that both faces
have every letter of every catalogue.
"""

from __future__ import annotations

import os
from pathlib import Path

import kivy

FAMILY = "KioskSans"
KIVY_REGULAR = Path(kivy.__file__).parent / "data" / "fonts" / "DejaVuSans.ttf"
SYSTEM_DIR = Path("/usr/share/fonts/truetype/dejavu")
REGULAR = SYSTEM_DIR / "DejaVuSans.ttf" if (SYSTEM_DIR / "DejaVuSans.ttf").exists() else KIVY_REGULAR
BOLD = SYSTEM_DIR / "DejaVuSans-Bold.ttf"


class FontMissing(RuntimeError):
    """The bold face is not installed; the message says which package has it."""


def register_fonts() -> str:
    """Register the family with Kivy (idempotent) and return its name for `font_name`."""
    from kivy.core.text import LabelBase

    if not BOLD.exists():
        raise FontMissing(f"{BOLD} is missing: apt-get install fonts-dejavu-core (bold text needs it)")
    LabelBase.register(name=FAMILY, fn_regular=os.fspath(REGULAR), fn_bold=os.fspath(BOLD))
    return FAMILY
