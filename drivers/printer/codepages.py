"""Which letters a printer can print as text: its profile's code pages, from python-escpos's printer
database (escpos-printer-db). A line whose letters are not all in one of the configured code pages is
printed as a raster image instead (see drivers.printer.escpos).

No common code page has all of á č đ ŋ š ŧ ž, so Northern Sámi text with ŋ ŧ đ always goes out as an
image; Norwegian, Swedish, Finnish and Danish text fits PC865 (Nordic) or PC850.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from drivers.printer import escpos_database

if TYPE_CHECKING:  # python-escpos is imported on first use, its database the fast way (escpos_database)
    from escpos.capabilities import BaseProfile
    from escpos.magicencode import Encoder

__all__ = [
    "code_page_number",
    "first_code_page_for",
    "known_code_pages",
    "known_profiles",
    "printer_profile",
    "profile_width",
]


@functools.cache
def known_profiles() -> frozenset[str]:
    return frozenset(_profiles())


def _profiles() -> dict[str, Any]:
    """Profile name → its data, from the database itself: checking `[printer]` imports no python-escpos."""
    profiles: dict[str, Any] = escpos_database.database()["profiles"]
    return profiles


def _profile(profile: str) -> BaseProfile:
    escpos_database.load()
    from escpos.capabilities import get_profile

    found: BaseProfile = get_profile(profile)
    return found


@functools.cache
def _pages(profile: str) -> dict[str, int]:
    # as python-escpos's BaseProfile.get_code_pages: the profile's {number: name}, turned round
    pages: dict[str, str] = _profiles()[profile]["codePages"]
    return {name: int(number) for number, name in pages.items() if name != "Unknown"}


def known_code_pages(profile: str) -> frozenset[str]:
    """The code page names (CP865, CP1252...) the profile says the printer has."""
    return frozenset(_pages(profile))


def code_page_number(profile: str, page: str) -> int:
    """The ``ESC t n`` number of ``page`` on this printer model (CP865 is 5 on Epson TM printers)."""
    return _pages(profile)[page]


@functools.cache
def _encoder(profile: str) -> Encoder:
    escpos_database.load()
    from escpos.magicencode import Encoder

    return Encoder(_pages(profile))


def first_code_page_for(profile: str, pages: tuple[str, ...], text: str) -> str | None:
    """The first of ``pages`` that has every letter of ``text``, or None (print it as an image)."""
    encoder = _encoder(profile)
    for page in pages:
        if all(encoder.can_encode(page, char) for char in text if char != "\n"):
            return page
    return None


def profile_width(profile: str) -> int | None:
    """The printable dots per line the printer database gives for the model (None when unknown)."""
    pixels = _profiles()[profile]["media"].get("width", {}).get("pixels")
    return pixels if isinstance(pixels, int) else None


def printer_profile(profile: str, dots_per_line: int) -> BaseProfile:
    """The python-escpos profile for ``profile`` with the configured paper width, so image checks use the
    width the kiosk prints at (and the library never guesses a missing one)."""
    escpos_database.load()
    from escpos.capabilities import BaseProfile

    data = dict(_profile(profile).profile_data)
    data["media"] = {**data.get("media", {}), "width": {"pixels": dots_per_line}}
    kind = type(f"Kiosk{dots_per_line}Profile", (BaseProfile,), {"profile_data": data})
    instance: BaseProfile = kind()
    return instance
