"""Fixtures: small kiosk images made by the recipe's own layout.sh (no root, no loop device), device
configurations, and a fake kiosk (boot and data folders) for first boot."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.paths import ROOT

LAYOUT = ROOT / "deploy" / "image" / "layout.sh"
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHvbCGvT2FvbJq2Yc7S0uWl9YyQ0PgkXqE8pVwZc4h0A technician@laptop"

DEVICE_TOML = """
[kiosk]
library = "Tromsø bibliotek"
name = "Hovedbiblioteket, 1. etasje"

[gateway]
url = "https://gateway.example.org"
enrollment_code = "ABCDE-FGHJK-MNPQR-STVWX"

[wifi]
ssid = "Bibliotek-Intern"
psk = "correct horse battery"
country = "NO"

[ssh]
authorized_keys = ["{key}"]
""".replace("{key}", SSH_KEY)


def need(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        pytest.fail(
            f"missing tools {missing}: `make system-packages` installs them (mtools, dosfstools, fdisk)"
        )


def make_image(folder: Path, arch: str = "amd64", *, boot_files: dict[str, str] | None = None) -> Path:
    """A real kiosk layout with tiny partitions: FAT boot (with kiosk/), root A/B, data."""
    need("sfdisk", "mkfs.vfat", "mcopy", "mkfs.ext4")
    work = folder / f"work-{arch}"
    for name in ("rootfs/etc", "boot", "data/kiosk"):
        (work / name).mkdir(parents=True, exist_ok=True)
    (work / "rootfs/etc/os-release").write_text("ID=debian\n")
    for name, text in (boot_files or {"kiosk/device-example.toml": "# example\n"}).items():
        (work / "boot" / name).parent.mkdir(parents=True, exist_ok=True)
        (work / "boot" / name).write_text(text)
    (work / "partuuids").write_text("".join(f"{uuid.uuid4()}\n" for _ in range(3)))
    (work / "disk-id").write_text("1a2b3c4d\n")
    image = folder / f"kiosk-{arch}.img"
    env = {
        "KIOSK_BOOT_MIB": "36",
        "KIOSK_ROOT_MIB": "8",
        "KIOSK_DATA_MIB": "8",
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
    }
    subprocess.run(
        [str(LAYOUT), arch, str(work), str(image)], check=True, env=env, capture_output=True, timeout=60
    )
    return image


@pytest.fixture(scope="session")
def kiosk_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_image(tmp_path_factory.mktemp("image"))


@pytest.fixture
def device_config(tmp_path: Path) -> Path:
    path = tmp_path / "device.toml"
    path.write_text(DEVICE_TOML, encoding="utf-8")
    return path


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str) -> Path:
        path = tmp_path / f"config-{uuid.uuid4().hex[:6]}.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return write
