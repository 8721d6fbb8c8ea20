"""Write a kiosk image, with this kiosk's boot partition, to a disk or a file; then read it back to verify.

The image file itself is never changed: its boot partition is copied out, the device configuration goes in
with mtools, and the write streams the image with that partition substituted. The SHA-256 of what was
written is compared with the SHA-256 of what reads back (after the page cache was dropped, so a disk's own
contents are read, not memory).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from deploy.flash import disk
from deploy.flash.device_config import DeviceConfig, to_toml
from deploy.flash.target import Target

__all__ = ["DEVICE_FILE", "Progress", "VerifyFailed", "Written", "prepared_boot", "verify", "write_image"]

DEVICE_FILE = "kiosk/device.toml"
CHUNK = 4 * 2**20
Progress = Callable[[int], None]  # called with the bytes just done


class VerifyFailed(RuntimeError):
    """What reads back from the target differs from what was written: the card is bad or was removed."""


@dataclass(frozen=True)
class Written:
    target: Path
    size: int
    sha256: str


@contextmanager
def prepared_boot(image: Path, config: DeviceConfig) -> Iterator[tuple[disk.BootPartition, Path]]:
    """A copy of the image's boot partition with this kiosk's kiosk/device.toml written into it."""
    boot = disk.boot_partition(image)
    with tempfile.TemporaryDirectory(prefix="kiosk-flash-") as folder:
        copy = Path(folder) / "boot.img"
        with image.open("rb") as source, copy.open("wb") as out:
            source.seek(boot.offset)
            _copy_range(source, out, boot.size)
        os.chmod(copy, 0o600)
        partition = disk.BootPartition(copy, 0, boot.size)
        disk.write_file(partition, DEVICE_FILE, to_toml(config).encode())
        yield boot, copy


def write_image(
    image: Path, boot: disk.BootPartition, boot_copy: Path, target: Target, progress: Progress
) -> Written:
    size = image.stat().st_size
    digest = hashlib.sha256()
    sparse = not target.is_block_device
    mode = "r+b" if target.is_block_device else "wb"
    with image.open("rb") as source, boot_copy.open("rb") as boot_source, target.path.open(mode) as out:
        if sparse:
            os.chmod(target.path, 0o600)  # it holds the enrollment code and the Wi-Fi passphrase
        for offset, chunk in _chunks(source, boot_source, boot, size):
            digest.update(chunk)
            if sparse and chunk.count(0) != len(chunk):
                out.seek(offset)
                out.write(chunk)
            elif not sparse:
                out.write(chunk)
            progress(len(chunk))
        if sparse:
            out.truncate(size)
        out.flush()
        os.fsync(out.fileno())
    return Written(target.path, size, digest.hexdigest())


def verify(written: Written, progress: Progress) -> None:
    digest = hashlib.sha256()
    left = written.size
    with written.target.open("rb") as back:
        os.posix_fadvise(back.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        while left:
            chunk = back.read(min(CHUNK, left))
            if not chunk:
                raise VerifyFailed(
                    f"{written.target} ended after {written.size - left} of {written.size} bytes: "
                    "was the card removed?"
                )
            digest.update(chunk)
            left -= len(chunk)
            progress(len(chunk))
    if digest.hexdigest() != written.sha256:
        raise VerifyFailed(
            f"{written.target} reads back different from what was written "
            f"(sha256 {digest.hexdigest()[:16]}... instead of {written.sha256[:16]}...): "
            "the card is faulty or fake; use another one"
        )


def _chunks(
    source: BinaryIO, boot_source: BinaryIO, boot: disk.BootPartition, size: int
) -> Iterator[tuple[int, bytes]]:
    """(offset, bytes) over the whole image, the boot partition's range read from boot_source instead."""
    offset = 0
    boot_end = boot.offset + boot.size
    while offset < size:
        if boot.offset <= offset < boot_end:
            length = min(CHUNK, boot_end - offset)
            boot_source.seek(offset - boot.offset)
            chunk = boot_source.read(length)
        else:
            limit = boot.offset if offset < boot.offset else size
            length = min(CHUNK, limit - offset)
            source.seek(offset)
            chunk = source.read(length)
        if len(chunk) != length:
            raise disk.DiskError(f"{boot.image}: the image ended early at byte {offset + len(chunk)}")
        yield offset, chunk
        offset += length


def _copy_range(source: BinaryIO, out: BinaryIO, length: int) -> None:
    left = length
    while left:
        chunk = source.read(min(CHUNK, left))
        if not chunk:
            raise disk.DiskError("the image ended inside its boot partition: it is truncated")
        out.write(chunk)
        left -= len(chunk)


def free_space_for(path: Path) -> int:
    return shutil.disk_usage(path.absolute().parent).free
