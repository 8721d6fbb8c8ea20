"""kiosk-flash against a real block device (a loop device over a file): written, verified through the
device, and refused while any of its partitions is mounted, for a partition, and when it is too small."""

from __future__ import annotations

import os
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.flash import disk
from deploy.flash.cli import EXIT_REFUSED, main
from deploy.flash.target import TargetRefused, check_target

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not Path("/dev/loop-control").exists(),
    reason="loop devices need root and /dev/loop-control (the file-target tests cover the rest)",
)


def attach(backing: Path, *, partitions: bool = False) -> Path:
    args = ["losetup", "--find", "--show", *(["--partscan"] if partitions else []), str(backing)]
    return Path(subprocess.run(args, check=True, capture_output=True, text=True, timeout=30).stdout.strip())


def partition_node(device: Path, number: int, folder: Path) -> Path:
    """The partition's device node; made here from sysfs when no udev makes it (a container)."""
    name = f"{device.name}p{number}"
    if Path(f"/dev/{name}").is_block_device():
        return Path(f"/dev/{name}")
    sysfs = Path("/sys/class/block") / name / "dev"
    if not sysfs.exists():  # some kernels scan only when asked
        subprocess.run(["partx", "--add", str(device)], check=False, capture_output=True, timeout=30)
    for _ in range(50):
        if sysfs.exists():
            break
        time.sleep(0.1)
    major, minor = (int(part) for part in sysfs.read_text().split(":"))
    node = folder / name
    os.mknod(node, 0o600 | stat.S_IFBLK, os.makedev(major, minor))
    return node


def detach(device: Path) -> None:
    subprocess.run(["losetup", "--detach", str(device)], check=False, timeout=30)


@pytest.fixture
def blank_disk(tmp_path: Path, kiosk_image: Path) -> Iterator[Path]:
    backing = tmp_path / "card.bin"
    with backing.open("wb") as handle:
        handle.truncate(kiosk_image.stat().st_size + 8 * 2**20)
    device = attach(backing)
    yield device
    detach(device)


def test_a_card_is_written_and_verified_through_the_device(
    blank_disk: Path, kiosk_image: Path, device_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(kiosk_image), "--device-config", str(device_config), "--to", str(blank_disk)]) == 0
    assert "to the card" in capsys.readouterr().out
    settings = disk.read_file(disk.boot_partition(blank_disk), "kiosk/device.toml").decode()
    assert 'enrollment_code = "ABCDE-FGHJK-MNPQR-STVWX"' in settings


def test_a_card_with_a_mounted_partition_is_refused_and_left_alone(
    tmp_path: Path, kiosk_image: Path, device_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backing = tmp_path / "card.bin"
    backing.write_bytes(kiosk_image.read_bytes())
    device = attach(backing, partitions=True)
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    try:
        data = partition_node(device, 4, tmp_path)
        subprocess.run(["mount", "-o", "ro", str(data), str(mountpoint)], check=True, timeout=30)
        try:
            code = main([str(kiosk_image), "--device-config", str(device_config), "--to", str(device)])
            assert code == EXIT_REFUSED
            message = capsys.readouterr().err
            assert "in use" in message and str(mountpoint) in message
            with pytest.raises(TargetRefused, match="is a partition: give the whole card"):
                check_target(data, 2**20)
        finally:
            subprocess.run(["umount", str(mountpoint)], check=False, timeout=30)
    finally:
        detach(device)
    assert backing.read_bytes() == kiosk_image.read_bytes()


def test_a_card_too_small_for_the_image_is_refused(tmp_path: Path, kiosk_image: Path) -> None:
    backing = tmp_path / "small.bin"
    with backing.open("wb") as handle:
        handle.truncate(16 * 2**20)
    device = attach(backing)
    try:
        with pytest.raises(TargetRefused, match="use a bigger card"):
            check_target(device, kiosk_image.stat().st_size)
    finally:
        detach(device)
