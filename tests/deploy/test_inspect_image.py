"""deploy/image/inspect_image.py looks inside an image without booting or mounting it. Its checks are tested
against small images laid out by the recipe's own layout.sh from a kiosk-shaped tree (the recipe's real
units, journald settings and layout; a stand-in kernel and Python), one defect at a time; and against the
real images in build/image (or $KIOSK_IMAGES) when they have been built."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.deploy.images import elf, synthetic
from tests.paths import ROOT

INSPECT = ROOT / "deploy" / "image" / "inspect_image.py"


def inspect(image: Path, *args: str) -> tuple[int, dict[str, object], str]:
    done = subprocess.run([sys.executable, str(INSPECT), str(image), "--json", *args], capture_output=True,
                          text=True, timeout=300, check=False)  # fmt: skip
    said = json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}
    return done.returncode, said, done.stderr


def failed(said: dict[str, object]) -> dict[str, str]:
    checks = said["checks"]
    assert isinstance(checks, list)
    return {check["check"]: check["said"] for check in checks if not check["ok"]}


@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_a_well_made_image_passes_every_check_and_says_what_it_found(tmp_path: Path, arch: str) -> None:
    image = synthetic(tmp_path, arch)
    code, said, err = inspect(image)
    assert code == 0 and said["ok"] is True and failed(said) == {}, (said, err)
    checks = {check["check"]: check["said"] for check in said["checks"]}  # type: ignore[attr-defined]
    assert checks["programs built for the image's architecture"] == f"/usr/bin/true is {arch}"
    assert checks["root slot B"] == "empty: the first update fills it"
    if arch == "arm64":
        assert "root=PARTUUID=1a2b3c4d-02" in checks["cmdline.txt"]
        assert checks["kernel"].startswith("a/vmlinuz: arm64 Image")
    else:
        assert "A_OK=1" in checks["GRUB environment (RAUC's slot state)"]
    text = subprocess.run([sys.executable, str(INSPECT), str(image)],
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert text.returncode == 0 and text.stdout.rstrip().endswith("checks passed)"), text.stdout


def _fstab_rw(work: Path) -> None:
    fstab = work / "rootfs/etc/fstab"
    fstab.write_text(fstab.read_text().replace("ro,noatime", "rw,noatime"))


def _no_watchdog(work: Path) -> None:
    unit = work / "rootfs/etc/systemd/system/kiosk-station.service"
    unit.write_text("".join(line for line in unit.read_text().splitlines(True) if "WatchdogSec" not in line))


def _getty(work: Path) -> None:
    (work / "rootfs/etc/systemd/system/getty@.service").unlink()


def _pyc_for_another_python(work: Path) -> None:
    pyc = (
        work / "rootfs/opt/kiosk/venv/lib/python3.11/site-packages/kiosk/__pycache__/__init__.cpython-311.pyc"
    )
    pyc.write_bytes(b"\xcb\x0d\x0d\x0a" + bytes(12))  # 3.12's


def _no_firmware(work: Path) -> None:
    (work / "boot/start4.elf").unlink()


def _overlay_named_but_missing(work: Path) -> None:
    """A config.txt with the KMS overlay of Raspberry Pi OS's kernel, on a slot with Debian's (none)."""
    with (work / "boot/config.txt").open("a") as config:
        config.write("dtoverlay=vc4-kms-v3d\n")
    (work / "boot/a/overlays/vc4-kms-v3d.dtbo").unlink()


def _wrong_root(work: Path) -> None:
    (work / "boot/a/cmdline.txt").write_text("console=tty1 root=/dev/mmcblk0p2 ro rauc.slot=A\n")


def _x86_programs(work: Path) -> None:
    (work / "rootfs/usr/bin/true").write_bytes(elf("amd64"))


def _open_data(work: Path) -> None:
    (work / "data/kiosk").chmod(0o755)


def _no_kernel(work: Path) -> None:
    (work / "rootfs/vmlinuz").unlink()


DEFECTS = [
    ("amd64", _fstab_rw, "fstab: read-only root, data and boot partitions", "the root is not mounted ro"),
    ("amd64", _no_watchdog, "station unit with watchdog and restart policy", "no WatchdogSec="),
    ("amd64", _getty, "no login on screens or serial, Ctrl+Alt+Del off", "not masked: ['getty@.service']"),
    ("amd64", _pyc_for_another_python, "station venv: root's Python, station installed, byte code compiled",
     "kiosk's byte code missing or not for this Python"),
    ("amd64", _no_kernel, "kernel and initramfs in the slot", "the boot loader would skip this slot"),
    ("arm64", _no_firmware, "Raspberry Pi 4 firmware", "missing ['start4.elf']"),
    ("arm64", _wrong_root, "cmdline.txt", "wants root=PARTUUID=1a2b3c4d-02"),
    ("arm64", _overlay_named_but_missing, "Pi 4 device tree and config.txt's overlays",
     "config.txt names overlays the slot lacks: a/overlays/vc4-kms-v3d.dtbo"),
    ("arm64", _x86_programs, "programs built for the image's architecture", "/usr/bin/true is amd64"),
    ("arm64", _open_data, "data folders, owned by the station's user", "kiosk/ is open to other users"),
]  # fmt: skip


@pytest.mark.parametrize(("arch", "change", "check", "phrase"), DEFECTS, ids=[d[1].__name__ for d in DEFECTS])
def test_each_defect_fails_its_own_check_and_says_what_is_wrong(
    tmp_path: Path, arch: str, change: Callable[[Path], None], check: str, phrase: str
) -> None:
    code, said, err = inspect(synthetic(tmp_path, arch, change))
    assert code == 1 and said["ok"] is False, err
    assert list(failed(said)) == [check], failed(said)
    assert phrase in failed(said)[check]


def test_a_file_that_is_no_disk_image_is_refused_in_plain_words(tmp_path: Path) -> None:
    junk = tmp_path / "photo.jpg"
    junk.write_bytes(os.urandom(4096))
    code, said, err = inspect(junk)
    assert code == 2 and said == {} and err.startswith("inspect_image: ") and "Traceback" not in err
    assert inspect(tmp_path / "missing.img")[0] == 2


def test_the_wrong_architecture_asked_for_is_said(tmp_path: Path) -> None:
    code, said, _ = inspect(synthetic(tmp_path, "amd64"), "--arch", "arm64")
    assert code == 1 and "partition table" in failed(said)


def _built(arch: str) -> Path:
    folder = Path(os.environ.get("KIOSK_IMAGES", ROOT / "build" / "image"))
    image = folder / f"kiosk-{arch}.img"
    if not image.is_file():
        pytest.skip(f"no {image}: build it with `make image ARCH={arch}` (or set KIOSK_IMAGES=DIR)")
    if shutil.which("debugfs") is None:
        pytest.skip("debugfs (e2fsprogs) is not installed")
    return image


@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_the_built_image_is_laid_out_as_a_kiosk_boots(arch: str) -> None:
    code, said, err = inspect(_built(arch), "--arch", arch)
    assert code == 0, failed(said) if said else err
