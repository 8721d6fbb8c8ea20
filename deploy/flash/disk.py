"""A kiosk image's partitions and its FAT boot partition, read and written without mounting.

The partition table is read with ``sfdisk --json``; files inside the FAT boot partition are read and written
with mtools (``mcopy -i FILE@@OFFSET``), which works on a plain file, so nothing needs root or a loop device.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "BootPartition",
    "DiskError",
    "Partition",
    "boot_partition",
    "list_files",
    "partition_table",
    "partitions",
    "read_file",
    "volume_label",
    "write_file",
]

# GPT's EFI system partition and MBR's FAT types (0x0b, 0x0c FAT32; 0x0e FAT16 LBA; 0xef EFI).
_BOOT_TYPES = {"c12a7328-f81f-11d2-ba4b-00a0c93ec93b", "b", "c", "e", "ef"}
_MTOOLS_ENV = {"MTOOLS_SKIP_CHECK": "1", "MTOOLS_NO_VFAT": "0"}


class DiskError(RuntimeError):
    """The image (or the disk) is not what a kiosk image looks like, or a tool failed on it."""


@dataclass(frozen=True)
class Partition:
    number: int
    start: int  # bytes
    size: int  # bytes
    type: str


@dataclass(frozen=True)
class BootPartition:
    image: Path
    offset: int
    size: int

    @property
    def mtools_target(self) -> str:
        return f"{self.image}@@{self.offset}"


def partition_table(image: Path) -> dict[str, Any]:
    """sfdisk's own view of the table (label, id, partitions with uuid, type, bootable)."""
    result = _run(["sfdisk", "--json", str(image)], what=f"read the partition table of {image}").decode()
    try:
        table = json.loads(result)["partitiontable"]
    except (KeyError, ValueError, TypeError) as error:
        raise DiskError(f"{image}: sfdisk gave a partition table this tool does not understand") from error
    if not isinstance(table, dict):
        raise DiskError(f"{image}: sfdisk gave a partition table this tool does not understand")
    return table


def partitions(image: Path) -> list[Partition]:
    table = partition_table(image)
    try:
        sector = int(table.get("sectorsize", 512))
        found = []
        for number, entry in enumerate(table["partitions"], start=1):
            found.append(
                Partition(
                    number, int(entry["start"]) * sector, int(entry["size"]) * sector, str(entry["type"])
                )
            )
    except (KeyError, ValueError, TypeError) as error:
        raise DiskError(f"{image}: sfdisk gave a partition table this tool does not understand") from error
    return found


def boot_partition(image: Path) -> BootPartition:
    """The first FAT (boot / EFI system) partition; it must hold the kiosk/ folder the image recipe makes."""
    for part in partitions(image):
        if part.type.lower() in _BOOT_TYPES:
            boot = BootPartition(image, part.start, part.size)
            listing = _mtools(
                ["mdir", "-b", "-i", boot.mtools_target, "::/"], what=f"list {image}'s boot files"
            )
            if not any(line.rstrip("/").endswith("kiosk") for line in listing.splitlines()):
                raise DiskError(
                    f"{image}: its boot partition has no kiosk/ folder: this is not a library kiosk image "
                    "(build one with `make image`)"
                )
            return boot
    raise DiskError(f"{image}: no FAT boot partition: this is not a library kiosk image")


def list_files(boot: BootPartition) -> set[str]:
    """Every file and folder in the boot partition, as relative paths (folders end in /)."""
    listing = _mtools(["mdir", "-b", "-/", "-i", boot.mtools_target, "::/"], what="list the boot files")
    return {line.removeprefix("::/") for line in listing.splitlines() if line.startswith("::/")}


def volume_label(boot: BootPartition) -> str:
    said = _mtools(["mlabel", "-s", "-i", boot.mtools_target, "::"], what="read the boot partition's label")
    return said.split("Volume label is", 1)[1].strip() if "Volume label is" in said else ""


def read_file(boot: BootPartition, name: str) -> bytes:
    return _mtools_bytes(["mtype", "-i", boot.mtools_target, f"::/{name}"], what=f"read {name}")


def write_file(boot: BootPartition, name: str, content: bytes) -> None:
    """Write (or replace) one file in the boot partition, then read it back to be sure."""
    folder = os.path.dirname(name)
    if folder:
        existing = _mtools(["mdir", "-b", "-i", boot.mtools_target, "::/"], what="list the boot files")
        if not any(line.rstrip("/").endswith(folder) for line in existing.splitlines()):
            _mtools(["mmd", "-i", boot.mtools_target, f"::/{folder}"], what=f"make {folder}/")
    source = boot.image.parent / f".kiosk-flash-{os.getpid()}.tmp"
    try:
        source.write_bytes(content)
        _mtools(["mcopy", "-o", "-i", boot.mtools_target, str(source), f"::/{name}"], what=f"write {name}")
    finally:
        source.unlink(missing_ok=True)
    if read_file(boot, name) != content:
        raise DiskError(f"{boot.image}: {name} reads back different from what was written")


def _mtools(args: list[str], *, what: str) -> str:
    return _mtools_bytes(args, what=what).decode(errors="replace")


def _mtools_bytes(args: list[str], *, what: str) -> bytes:
    return _run(args, what=what, env={**os.environ, **_MTOOLS_ENV})


def _run(args: list[str], *, what: str, env: dict[str, str] | None = None) -> bytes:
    try:
        done = subprocess.run(args, capture_output=True, env=env, check=False, timeout=120)
    except FileNotFoundError as error:
        package = "mtools" if args[0].startswith("m") else "fdisk"
        raise DiskError(f"cannot {what}: {args[0]} is not installed (apt-get install {package})") from error
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip().splitlines()
        raise DiskError(f"cannot {what}: {detail[-1] if detail else f'{args[0]} failed'}")
    return done.stdout
