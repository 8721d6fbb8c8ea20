"""Images on receipts, the same for every printer: the library's logo and the QR code, fitted to the
paper width, and text rasters made strictly black and white."""

from __future__ import annotations

from pathlib import Path

import qrcode
from PIL import Image

__all__ = ["black_and_white", "centred", "fit_logo", "qr_image"]

_QR_BOX_DOTS = 6


def black_and_white(image: Image.Image) -> Image.Image:
    """Text at a hard threshold: python-escpos dithers grey, which frays the thin strokes (ŧ đ ǥ)."""
    return image.convert("L").point(lambda value: 0 if value < 128 else 255).convert("1")


def centred(image: Image.Image, width: int) -> Image.Image:
    """``image`` in the middle of a white strip ``width`` wide."""
    paper = Image.new("L", (width, image.height), 255)
    paper.paste(image.convert("L"), ((width - image.width) // 2, 0))
    return paper


def fit_logo(path: Path, width: int) -> Image.Image:
    """The logo on white (transparency flattened), scaled down to fit ``width``, centred."""
    with Image.open(path) as source:
        logo = source.convert("RGBA")
    white = Image.new("RGBA", logo.size, (255, 255, 255, 255))
    flat = Image.alpha_composite(white, logo).convert("L")
    if flat.width > width:
        flat = flat.resize((width, max(1, round(flat.height * width / flat.width))))
    return centred(flat, width)


def qr_image(content: str, width: int) -> Image.Image:
    """A QR code (error correction M, 6 dots a module: about 0.75 mm at 203 dpi), centred."""
    code = qrcode.QRCode(box_size=_QR_BOX_DOTS, border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(content)
    code.make(fit=True)
    image = code.make_image().get_image().convert("L")
    if image.width > width:
        image = image.resize((width, width), Image.Resampling.NEAREST)
    return centred(image, width)
