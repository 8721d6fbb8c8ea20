"""The UI's fonts have a glyph for every letter of every catalogue (Roboto, Kivy's default, lacks the
Skolt Sámi ǥ ǩ ʒ ǯ ʹ; DejaVu Sans has them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from kiosk.i18n import COMPLETE_LANGUAGES, DRAFT_LANGUAGES, LANGUAGES
from kiosk.i18n.catalogues import read_catalogue, source

REGULAR = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
SKOLT = "ǥǧǩǯʒʹ"


def _letters() -> set[str]:
    text = "".join(LANGUAGES.values()) + SKOLT
    for language in (*COMPLETE_LANGUAGES, *DRAFT_LANGUAGES):
        for message in read_catalogue(source(language)):
            forms = message.string if isinstance(message.string, tuple) else (message.string,)
            text += "".join(forms)
    return {ch for ch in text if not ch.isspace()}


def _missing(font: Path, letters: set[str]) -> list[str]:
    cmap = TTFont(font).getBestCmap()
    return sorted(f"{ch} U+{ord(ch):04X}" for ch in letters if ord(ch) not in cmap)


@pytest.mark.parametrize("font", [REGULAR, BOLD], ids=["regular", "bold"])
def test_the_ui_font_covers_every_letter_of_every_catalogue(font: Path) -> None:
    assert _missing(font, _letters()) == []


def test_roboto_would_not_do() -> None:
    import kivy

    roboto = Path(kivy.__file__).parent / "data" / "fonts" / "Roboto-Regular.ttf"
    assert _missing(roboto, set(SKOLT)), "Roboto gained the Skolt letters: the font choice may be revisited"
