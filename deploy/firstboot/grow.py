"""Grow the data partition (the image's last) to the end of the card, then its ext4 file system, online.

``growpart`` (cloud-guest-utils) moves the partition's end; ``resize2fs`` grows the mounted file system.
Both are no-ops when there is nothing to grow, so this runs safely on every boot until it succeeded once.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GrowFailed", "Partition", "grow", "partition_of"]

NOCHANGE = 1  # growpart's exit status when the partition already fills the disk


class GrowFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class Partition:
    disk: Path
    number: int
    device: Path


def partition_of(mountpoint: Path, *, sys_root: Path = Path("/sys")) -> Partition:
    """The disk and partition number behind a mount point (from /proc/self/mountinfo and sysfs)."""
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        if fields[4] != str(mountpoint):
            continue
        node = (sys_root / "dev" / "block" / fields[2]).resolve()
        if not (node / "partition").exists():
            raise GrowFailed(f"{mountpoint} is not on a partition ({node.name})")
        number = int((node / "partition").read_text())
        return Partition(Path("/dev") / node.parent.name, number, Path("/dev") / node.name)
    raise GrowFailed(f"{mountpoint} is not mounted")


def grow(partition: Partition, *, resize_filesystem: bool = True) -> bool:
    """True when the partition grew."""
    done = _run(["growpart", str(partition.disk), str(partition.number)])
    if done.returncode not in (0, NOCHANGE):
        raise GrowFailed(f"growpart {partition.disk} {partition.number}: {_last_line(done)}")
    grew = done.returncode == 0
    if resize_filesystem:
        resized = _run(["resize2fs", str(partition.device)])
        if resized.returncode != 0:
            raise GrowFailed(f"resize2fs {partition.device}: {_last_line(resized)}")
    return grew


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    except FileNotFoundError as error:
        raise GrowFailed(f"{args[0]} is missing (cloud-guest-utils, e2fsprogs)") from error


def _last_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = (done.stderr + done.stdout).strip().splitlines()
    return lines[-1] if lines else f"exit status {done.returncode}"
