"""Where first boot reads and writes, and how it writes: atomically, owner-only, synced to disk.

A power cut at any moment leaves either the old file or the new one, never half of one; a secret is written
to the data partition (and synced) before it is wiped from the boot partition, so it is never lost and
never in two places for longer than needed.
"""

from __future__ import annotations

import json
import os
import pwd
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["Layout", "atomic_write", "find_boot", "status", "wipe"]

BOOT_CANDIDATES = (Path("/boot/firmware"), Path("/boot/efi"))


@dataclass(frozen=True)
class Layout:
    boot: Path  # the mounted FAT boot partition
    data: Path  # the data partition
    run: Path = Path("/run/kiosk")
    etc_machine_id: Path = Path("/etc/machine-id")
    station_user: str = "kiosk"

    @property
    def device_file(self) -> Path:
        return self.boot / "kiosk" / "device.toml"

    @property
    def kiosk(self) -> Path:
        return self.data / "kiosk"

    @property
    def code_file(self) -> Path:
        return self.kiosk / "enrollment-code"

    @property
    def token_file(self) -> Path:
        return self.kiosk / "device-token"

    @property
    def done_file(self) -> Path:
        return self.kiosk / "firstboot.done"

    @property
    def station_config(self) -> Path:
        return self.kiosk / "kiosk.toml"

    @property
    def wifi_file(self) -> Path:
        return self.data / "wifi" / "wpa_supplicant-wlan0.conf"

    @property
    def ssh_keys_file(self) -> Path:
        return self.data / "ssh" / "authorized_keys" / "technician"

    @property
    def status_file(self) -> Path:
        return self.run / "firstboot.json"

    def station_owner(self) -> tuple[int, int] | None:
        """The station user's uid and gid, when that user exists (on a kiosk; not on a developer machine)."""
        try:
            entry = pwd.getpwnam(self.station_user)
        except KeyError:
            return None
        return entry.pw_uid, entry.pw_gid


def find_boot(candidates: tuple[Path, ...] = BOOT_CANDIDATES) -> Path:
    for candidate in candidates:
        if (candidate / "kiosk").is_dir():
            return candidate
    names = " or ".join(str(candidate) for candidate in candidates)
    raise FileNotFoundError(f"no kiosk boot partition mounted at {names} (is this a kiosk image?)")


def atomic_write(
    path: Path, content: bytes, *, mode: int = 0o600, owner: tuple[int, int] | None = None
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(descriptor, mode)
        if owner is not None:
            os.fchown(descriptor, *owner)
        os.write(descriptor, content)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, path)
    _sync_folder(path.parent)


def wipe(path: Path) -> None:
    """Overwrite a file with zeros before deleting it: on FAT, a deleted file's clusters keep its bytes."""
    if not path.exists():
        return
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.write(b"\0" * size)
        handle.flush()
        os.fsync(handle.fileno())
    path.unlink()
    _sync_folder(path.parent)


def status(layout: Layout, state: str, message: str) -> None:
    """What the station's technician screen shows (and kiosk doctor reports) about first boot."""
    record = {"state": state, "message": message, "at": datetime.now(UTC).isoformat(timespec="seconds")}
    layout.run.mkdir(parents=True, exist_ok=True)
    os.chmod(layout.run, 0o755)
    atomic_write(layout.status_file, json.dumps(record, ensure_ascii=False).encode(), mode=0o644)


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
