"""Where kiosk-flash may write: a whole, unused disk, or a new image file. Everything else is refused.

Refused, each with the reason and what to do: a partition instead of a disk, a disk with anything mounted
(or used as swap, or held by LVM/RAID), the disk this computer runs from, a disk smaller than the image,
an existing file (unless forced), a path under /dev that is no device.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Target", "TargetRefused", "check_target", "system_disks"]

SYSTEM_MOUNTS = ("/", "/usr", "/boot", "/boot/efi", "/var", "/etc", "/home")


class TargetRefused(RuntimeError):
    """kiosk-flash will not write there; the message says why and what to give instead."""


@dataclass(frozen=True)
class Target:
    path: Path
    is_block_device: bool
    size: int | None  # bytes, for a disk


def check_target(
    path: Path, image_size: int, *, force: bool = False, sys_root: Path = Path("/sys")
) -> Target:
    if path.is_block_device():
        return _check_disk(path, image_size, sys_root)
    if path.exists() or path.is_symlink():
        if not path.is_file():
            raise TargetRefused(
                f"{path} is neither a disk nor a regular file: give /dev/sdX or a new file name"
            )
        if not force:
            raise TargetRefused(f"{path} exists: give a new file name, or add --force to overwrite it")
        return Target(path, False, None)
    if str(path.absolute()).startswith("/dev/"):
        raise TargetRefused(
            f"{path}: no such device. Is the card in the reader? "
            "`lsblk -d -o NAME,SIZE,MODEL,TRAN` lists disks"
        )
    if not path.absolute().parent.is_dir():
        raise TargetRefused(f"{path}: the folder {path.absolute().parent} does not exist")
    return Target(path, False, None)


def _check_disk(path: Path, image_size: int, sys_root: Path) -> Target:
    rdev = path.stat().st_rdev
    number = f"{os.major(rdev)}:{os.minor(rdev)}"
    node = sys_root / "dev" / "block" / number
    if (node / "partition").exists():
        disk = node.resolve().parent.name
        raise TargetRefused(f"{path} is a partition: give the whole card, /dev/{disk}")
    devices = {number} | {_dev_number(part) for part in _partitions(node)}
    names = {node.resolve().name} | {part.name for part in _partitions(node)}
    if number in system_disks(sys_root):
        raise TargetRefused(
            f"{path} is the disk this computer runs from: writing it would destroy this system"
        )
    in_use = _mounted(devices)
    if in_use:
        raise TargetRefused(
            f"{path} is in use: {', '.join(sorted(in_use))}. Unmount it first (`umount {path}?*`), "
            "or check that this is really the card"
        )
    swaps = _swaps(names)
    if swaps:
        raise TargetRefused(f"{path} is used as swap ({', '.join(swaps)}): `swapoff` it first")
    holders = [holder.name for part in [node, *_partitions(node)] for holder in _holders(part)]
    if holders:
        raise TargetRefused(
            f"{path} is held by {', '.join(holders)} (LVM, RAID or encryption): release it first"
        )
    size = int((node / "size").read_text()) * 512
    if size < image_size:
        raise TargetRefused(
            f"{path} holds {size / 2**30:.1f} GiB, the image needs {image_size / 2**30:.1f} GiB: "
            "use a bigger card"
        )
    return Target(path, True, size)


def system_disks(sys_root: Path = Path("/sys")) -> set[str]:
    """major:minor of the disks (and their partitions) that hold this computer's own file systems."""
    disks: set[str] = set()
    for mountpoint, number in _mount_numbers():
        if mountpoint not in SYSTEM_MOUNTS:
            continue
        for disk in _backing_disks(sys_root / "dev" / "block" / number):
            disks.add(_dev_number(disk))
            disks.update(_dev_number(part) for part in _partitions(disk))
    return disks


def _backing_disks(node: Path) -> list[Path]:
    """The whole disks under a block device (through partitions, device mapper and RAID)."""
    if not node.exists():
        return []
    node = node.resolve()
    if (node / "partition").exists():
        return [node.parent]
    slaves = sorted((node / "slaves").iterdir()) if (node / "slaves").is_dir() else []
    if slaves:
        return [disk for slave in slaves for disk in _backing_disks(slave)]
    return [node]


def _partitions(disk: Path) -> list[Path]:
    disk = disk.resolve()
    return [child for child in sorted(disk.iterdir()) if (child / "partition").exists()]


def _holders(node: Path) -> list[Path]:
    folder = node / "holders"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def _dev_number(node: Path) -> str:
    return (node / "dev").read_text().strip()


def _mount_numbers() -> list[tuple[str, str]]:
    rows = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        rows.append((_unescape(fields[4]), fields[2]))
    return rows


def _mounted(devices: set[str]) -> set[str]:
    in_use = set()
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        if fields[2] in devices:
            separator = fields.index("-")
            in_use.add(f"{fields[separator + 2]} mounted on {_unescape(fields[4])}")
    return in_use


def _swaps(names: set[str]) -> list[str]:
    swaps = Path("/proc/swaps")
    if not swaps.exists():
        return []
    lines = swaps.read_text().splitlines()[1:]
    return [line.split()[0] for line in lines if line and os.path.basename(line.split()[0]) in names]


def _unescape(field: str) -> str:
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")
