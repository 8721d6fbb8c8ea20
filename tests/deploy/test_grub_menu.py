"""The kiosk's GRUB menu (deploy/image/grub.cfg.in) chooses the slot to boot: run by GRUB itself
(grub-emu, Debian's package of GRUB as a program) on a small amd64 image whose root slots are real ext4
file systems with or without a kernel, and whose grubenv holds RAUC's slot variables. The menu is
sourced, then the chosen slot is printed and grub-emu ends: nothing is booted."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.images import synthetic

MIB = 2**20
WRAPPER = """search --no-floppy --set=root --file /EFI/kiosk/grub.cfg
set kiosk_dir=($root)/EFI/kiosk
export kiosk_dir
source $kiosk_dir/grub.cfg
echo "CHOSEN slot=${slot} rootpart=${rootpart}"
reboot
"""


def _need_grub_emu() -> None:
    for tool in ("grub-emu", "grub-editenv", "script"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (apt-get install grub-emu grub-common bsdutils)")


def _sfdisk_starts(image: Path) -> list[int]:
    out = subprocess.run(["sfdisk", "-d", str(image)], capture_output=True, text=True, check=True).stdout
    return [int(start) * 512 for start in re.findall(r"start=\s*(\d+)", out)]


def _fill_slot_b(image: Path, folder: Path, *, kernel: bool) -> None:
    """Slot B as an update leaves it: an ext4 root, with or without /vmlinuz and /initrd.img."""
    tree = folder / "slot-b"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc/os-release").write_text("ID=debian\n")
    if kernel:
        (tree / "vmlinuz").write_bytes(bytes(4096))
        (tree / "initrd.img").write_bytes(bytes(4096))
    part = folder / "slot-b.ext4"
    subprocess.run(
        ["mkfs.ext4", "-q", "-F", "-L", "kiosk-root", "-d", str(tree), str(part), "12M"], check=True
    )
    starts = _sfdisk_starts(image)
    subprocess.run(["dd", f"if={part}", f"of={image}", "bs=1M", f"seek={starts[2] // MIB}", "conv=notrunc",
                    "status=none"], check=True)  # fmt: skip


def _grubenv(image: Path, folder: Path, **values: str) -> None:
    env = folder / "grubenv"
    env.unlink(missing_ok=True)
    subprocess.run(["grub-editenv", str(env), "create"], check=True)
    subprocess.run(["grub-editenv", str(env), "set", *(f"{k}={v}" for k, v in values.items())], check=True)
    boot = f"{image}@@{_sfdisk_starts(image)[0]}"
    subprocess.run(["mcopy", "-o", "-i", boot, str(env), "::/EFI/kiosk/grubenv"], check=True,
                   env={**os.environ, "MTOOLS_SKIP_CHECK": "1"})  # fmt: skip


def choose(image: Path, folder: Path) -> tuple[str, dict[str, str]]:
    """What the menu chose, and the variables it saved back into grubenv."""
    prefix = folder / "grub"
    prefix.mkdir(exist_ok=True)
    (prefix / "x86_64-emu").unlink(missing_ok=True)
    (prefix / "x86_64-emu").symlink_to("/usr/lib/grub/x86_64-emu")
    (prefix / "grub.cfg").write_text(WRAPPER)
    (folder / "device.map").write_text(f"(hd0) {image}\n")
    log = folder / "grub-emu.log"
    command = f"grub-emu -d {prefix} -m {folder / 'device.map'}"
    subprocess.run(["script", "-q", "-e", "-c", command, str(log)], stdin=subprocess.DEVNULL,
                   capture_output=True, timeout=60, check=False)  # fmt: skip
    found = re.search(r"CHOSEN slot=(\w*) rootpart=(\d*)", log.read_text(errors="replace"))
    assert found, log.read_text(errors="replace")[-1500:]
    boot = f"{image}@@{_sfdisk_starts(image)[0]}"
    saved = subprocess.run(["mtype", "-i", boot, "::/EFI/kiosk/grubenv"], capture_output=True, text=True,
                           check=True, env={**os.environ, "MTOOLS_SKIP_CHECK": "1"}).stdout  # fmt: skip
    values = dict(
        line.split("=", 1) for line in saved.splitlines() if "=" in line and not line.startswith("#")
    )
    assert found.group(2) == {"A": "2", "B": "3"}[found.group(1)]
    return found.group(1), values


@pytest.fixture
def image(tmp_path: Path) -> Path:
    _need_grub_emu()
    return synthetic(tmp_path, "amd64")


def test_a_fresh_image_boots_slot_a_and_marks_its_try(image: Path, tmp_path: Path) -> None:
    slot, saved = choose(image, tmp_path)
    assert slot == "A" and saved["A_TRY"] == "1" and saved["B_TRY"] == "0"


def test_after_an_update_the_new_slot_is_tried_once(image: Path, tmp_path: Path) -> None:
    _fill_slot_b(image, tmp_path, kernel=True)
    _grubenv(image, tmp_path, ORDER="B A", A_OK="1", A_TRY="0", B_OK="1", B_TRY="0")
    slot, saved = choose(image, tmp_path)
    assert slot == "B" and saved["B_TRY"] == "1"
    slot, saved = choose(image, tmp_path)  # it never reported healthy: the next boot falls back
    assert slot == "A" and saved["A_TRY"] == "1"


def test_a_slot_without_a_kernel_is_skipped_not_booted(image: Path, tmp_path: Path) -> None:
    _fill_slot_b(image, tmp_path, kernel=False)
    _grubenv(image, tmp_path, ORDER="B A", A_OK="1", A_TRY="0", B_OK="1", B_TRY="0")
    slot, saved = choose(image, tmp_path)
    assert slot == "A" and saved["A_TRY"] == "1" and saved["B_TRY"] == "0"


def test_with_every_try_used_the_good_slot_with_a_kernel_is_booted(image: Path, tmp_path: Path) -> None:
    _fill_slot_b(image, tmp_path, kernel=False)
    _grubenv(image, tmp_path, ORDER="B A", A_OK="1", A_TRY="1", B_OK="1", B_TRY="1")
    assert choose(image, tmp_path)[0] == "A"  # not B, first in ORDER, which has nothing to boot
