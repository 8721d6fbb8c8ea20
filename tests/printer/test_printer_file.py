import asyncio
import importlib.util
import os
import re
import stat
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image, ImageFont

from drivers.printer.base import (
    FontNotFound,
    PaperOut,
    Printer,
    PrinterError,
    PrinterOffline,
    PrinterStatus,
)
from drivers.printer.file_printer import THERMAL_80MM_WIDTH_PX, FilePrinter, ReceiptRenderer, render_text
from drivers.printer.fonts import FONT_PACKAGE, find_receipt_font, missing_glyphs
from drivers.printer.receipt import Receipt, ReceiptLine

SAMI_AND_CYRILLIC = "ŋ ŧ đ č š ž á ǥ ǩ ʒ Жизнь"
WHEN = datetime(2025, 3, 14, 9, 26, 53)


def make_receipt(lines: tuple[ReceiptLine, ...], footer: str = "Giitu!", kind: str = "patron") -> Receipt:
    return Receipt(
        kind=kind,  # type: ignore[arg-type]
        title="Luoikkahat",
        lines=lines,
        footer=footer,
        library_name="Kárášjoga girjerádju",
        printed_at=WHEN,
        language="se",
    )


LOAN_RECEIPT = make_receipt(
    (
        ReceiptLine("Áddjá ja njoammil", "bold"),
        ReceiptLine("Máhcat: 2025-04-04"),
        ReceiptLine("Ǥǥ ǩ ʒ — Сказки народов Севера", "normal"),
        ReceiptLine("Maŋimuš beaivi ŧ đ č š ž", "small", "center"),
    )
)


def ink_rows(image: Image.Image) -> list[int]:
    """Indexes of pixel rows that contain any dark pixel."""
    gray = image.convert("L")
    width, height = gray.size
    pixels = gray.load()
    assert pixels is not None
    return [y for y in range(height) if any(pixels[x, y] < 128 for x in range(width))]  # type: ignore[operator]


def bands(rows: list[int], max_gap: int = 3) -> list[tuple[int, int]]:
    """Runs of inked rows, one per printed line. Gaps of up to ``max_gap`` rows are bridged because an
    accent on a capital (Ǥ) can float a row or two above its letter; lines are ~10 rows apart."""
    runs: list[tuple[int, int]] = []
    for y in rows:
        if runs and y <= runs[-1][1] + 1 + max_gap:
            runs[-1] = (runs[-1][0], y)
        else:
            runs.append((y, y))
    return runs


def test_receipt_validates_kind_style_and_alignment() -> None:
    with pytest.raises(ValueError, match="kind"):
        make_receipt((), kind="invoice")
    with pytest.raises(ValueError, match="style"):
        ReceiptLine("x", "gigantic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="alignment"):
        ReceiptLine("x", "normal", "right")  # type: ignore[arg-type]


def test_text_is_normalised_to_composed_form() -> None:
    decomposed = "c\u030c"  # c + combining caron
    assert ReceiptLine(decomposed).text == "č"
    assert make_receipt((), footer=decomposed).footer == "č"


def test_layout_has_header_body_and_footer() -> None:
    texts = [line.text for line in LOAN_RECEIPT.layout()]
    assert texts[:3] == ["Kárášjoga girjerádju", "Luoikkahat", "2025-03-14 09:26"]
    assert "Máhcat: 2025-04-04" in texts
    assert texts[-1] == "Giitu!"


def test_text_rendering_wraps_and_centres() -> None:
    long = "Dát girji galgá máhcahuvvot ovdal go loatnaáigi nohká, muđui boahtá máksu " * 2
    receipt = make_receipt((ReceiptLine(long), ReceiptLine("ŋ", align="center")))
    text = render_text(receipt, width_chars=32)
    lines = text.splitlines()
    assert all(len(line) <= 32 for line in lines)
    assert " ".join(long.split()) in " ".join(" ".join(lines).split())
    centred = next(line for line in lines if line.strip() == "ŋ")
    assert len(centred) - 1 in (15, 16)  # leading spaces put it in the middle of 32 columns


def test_large_lines_wrap_at_half_width() -> None:
    receipt = make_receipt((ReceiptLine("abcdefghij " * 4, "large"),))
    lines = render_text(receipt, width_chars=20).splitlines()
    body = [line for line in lines if line.startswith("abc")]
    assert body and all(len(line) <= 10 for line in body)


def test_font_has_sami_and_cyrillic_glyphs() -> None:
    font = ImageFont.truetype(str(find_receipt_font()), 24)
    assert missing_glyphs(font, SAMI_AND_CYRILLIC) == []
    # The check is live: DejaVu Sans has no CJK, so those come back as missing.
    assert missing_glyphs(font, "ŋ中文") == ["中", "文"]


def test_missing_glyph_check_catches_roboto_lacking_skolt_sami() -> None:
    spec = importlib.util.find_spec("kivy")
    if spec is None or spec.origin is None:
        pytest.skip("Kivy (which bundles Roboto) is not installed")
    roboto = Path(spec.origin).parent / "data" / "fonts" / "Roboto-Regular.ttf"
    font = ImageFont.truetype(str(roboto), 24)
    assert missing_glyphs(font, SAMI_AND_CYRILLIC) == ["ǥ", "ǩ", "ʒ"]


def test_renderer_reports_no_missing_glyphs_for_a_sami_receipt() -> None:
    renderer = ReceiptRenderer(find_receipt_font())
    assert renderer.missing_glyphs(LOAN_RECEIPT) == []


def test_png_has_ink_for_every_line_inside_the_margins() -> None:
    image = ReceiptRenderer(find_receipt_font()).render(LOAN_RECEIPT)
    assert image.width == THERMAL_80MM_WIDTH_PX
    non_blank_lines = [line for line in LOAN_RECEIPT.layout() if line.text]
    assert len(bands(ink_rows(image))) == len(non_blank_lines)
    left, top, right, bottom = image.point(lambda value: 255 - value).getbbox() or (0, 0, 0, 0)
    assert left >= 10 and right <= image.width - 10
    assert top >= 10 and bottom <= image.height - 10


def test_png_centres_centred_lines_and_left_aligns_the_rest() -> None:
    renderer = ReceiptRenderer(find_receipt_font())
    for align in ("center", "left"):
        receipt = make_receipt((ReceiptLine("ǥǩʒ", "large", align),), footer="")
        image = renderer.render(receipt)
        top, bottom = bands(ink_rows(image))[-1]
        last_line = image.crop((0, top, image.width, bottom + 1)).point(lambda value: 255 - value)
        left, _, right, _ = last_line.getbbox() or (0, 0, 0, 0)
        if align == "center":
            assert abs(left - (image.width - right)) <= 4
        else:
            assert left < 24


def test_long_text_is_wrapped_within_the_paper() -> None:
    receipt = make_receipt((ReceiptLine("Čuoččuhus " * 30), ReceiptLine("x" * 200)))
    image = ReceiptRenderer(find_receipt_font()).render(receipt)
    _, _, right, _ = image.point(lambda value: 255 - value).getbbox() or (0, 0, 0, 0)
    assert right <= image.width - 10
    short = ReceiptRenderer(find_receipt_font()).render(make_receipt((ReceiptLine("Čuoččuhus"),)))
    assert image.height > short.height + 200


async def test_print_writes_text_and_png(tmp_path: Path) -> None:
    printer = FilePrinter(tmp_path / "receipts")
    assert isinstance(printer, Printer)
    result = await printer.print(LOAN_RECEIPT)
    text_path, image_path = result.files
    assert text_path.name == "20250314T092653-patron-1.txt"
    assert image_path.name == "20250314T092653-patron-1.png"
    assert result.job_name == "20250314T092653-patron-1"
    text = text_path.read_text(encoding="utf-8")
    assert "Ǥǥ ǩ ʒ — Сказки народов Севера" in text
    assert text == render_text(LOAN_RECEIPT, 42)
    with Image.open(image_path) as image:
        assert image.width == 576
        assert ink_rows(image)
    assert not list(tmp_path.rglob("*.tmp"))


async def test_numbers_never_overwrite_earlier_receipts(tmp_path: Path) -> None:
    first = FilePrinter(tmp_path)
    names = [r.job_name for r in await asyncio.gather(*(first.print(LOAN_RECEIPT) for _ in range(3)))]
    assert sorted(names) == [f"20250314T092653-patron-{n}" for n in (1, 2, 3)]
    # A printer started later (after a reboot) on the same folder continues instead of overwriting.
    again = await FilePrinter(tmp_path).print(make_receipt((), kind="staff_slip"))
    assert again.job_name == "20250314T092653-staff_slip-1"
    later = await FilePrinter(tmp_path).print(LOAN_RECEIPT)
    assert later.job_name == "20250314T092653-patron-4"
    assert len(list(tmp_path.iterdir())) == 10


async def test_paper_out(tmp_path: Path) -> None:
    printer = FilePrinter(tmp_path)
    assert await printer.status() is PrinterStatus.OK
    printer.simulate_paper_out()
    assert await printer.status() is PrinterStatus.PAPER_OUT
    with pytest.raises(PaperOut, match="out of paper") as caught:
        await printer.print(LOAN_RECEIPT)
    assert isinstance(caught.value, PrinterError)
    assert caught.value.status is PrinterStatus.PAPER_OUT
    assert list(tmp_path.iterdir()) == []
    printer.refill_paper()
    assert await printer.status() is PrinterStatus.OK
    await printer.print(LOAN_RECEIPT)


async def test_unusable_folder_means_offline(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    printer = FilePrinter(blocker / "receipts")
    assert await printer.status() is PrinterStatus.OFFLINE
    with pytest.raises(PrinterOffline, match="not available") as caught:
        await printer.print(LOAN_RECEIPT)
    assert caught.value.status is PrinterStatus.OFFLINE


def test_missing_font_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(FontNotFound, match=re.escape(FONT_PACKAGE)):
        find_receipt_font(tmp_path / "DejaVuSans.ttf", kivy_package="no_such_package_for_fonts")


def test_falls_back_to_kivy_font_without_importing_kivy(tmp_path: Path) -> None:
    if importlib.util.find_spec("kivy") is None:
        pytest.skip("Kivy is not installed")
    kivy_was_imported = "kivy" in sys.modules
    found = find_receipt_font(tmp_path / "absent.ttf")
    assert found.name == "DejaVuSans.ttf"
    assert found.parts[-3:-1] == ("data", "fonts")
    if not kivy_was_imported:
        assert "kivy" not in sys.modules


def test_renders_with_kivy_font_that_has_no_bold_face(tmp_path: Path) -> None:
    if importlib.util.find_spec("kivy") is None:
        pytest.skip("Kivy is not installed")
    renderer = ReceiptRenderer(find_receipt_font(tmp_path / "absent.ttf"))
    assert renderer.missing_glyphs(LOAN_RECEIPT) == []
    assert ink_rows(renderer.render(LOAN_RECEIPT))


async def test_receipts_are_the_kiosk_users_alone_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        result = await FilePrinter(tmp_path / "receipts").print(LOAN_RECEIPT)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "receipts").stat().st_mode) == 0o700
    assert [stat.S_IMODE(path.stat().st_mode) for path in result.files] == [0o600, 0o600]


async def test_receipts_are_kept_only_as_long_as_the_printer_needs_them(tmp_path: Path) -> None:
    printer = FilePrinter(tmp_path, keep=timedelta(hours=1))
    old = await printer.print(LOAN_RECEIPT)
    two_hours_ago = time.time() - 7200
    for path in old.files:
        os.utime(path, (two_hours_ago, two_hours_ago))
    (tmp_path / "left-by-a-crash.png.tmp").write_text("")
    os.utime(tmp_path / "left-by-a-crash.png.tmp", (two_hours_ago, two_hours_ago))
    fresh = await printer.print(LOAN_RECEIPT)
    assert printer.sweep() == 3  # the old receipt's two files and the crash's leftover
    assert sorted(tmp_path.iterdir()) == sorted(fresh.files)


async def test_a_printer_sweeps_at_its_first_print_and_then_once_an_hour(tmp_path: Path) -> None:
    old = await FilePrinter(tmp_path).print(LOAN_RECEIPT)
    long_ago = time.time() - 3 * 86400
    for path in old.files:
        os.utime(path, (long_ago, long_ago))
    printer = FilePrinter(tmp_path)  # after a restart: the default keeps a day
    await printer.print(LOAN_RECEIPT)
    assert not any(path.exists() for path in old.files)
    again = await printer.print(LOAN_RECEIPT)
    for path in again.files:
        os.utime(path, (long_ago, long_ago))
    await printer.print(LOAN_RECEIPT)
    assert all(path.exists() for path in again.files)  # not swept again within the hour
