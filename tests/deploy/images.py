"""Small kiosk-shaped images for the image tests: a root, boot and data tree as customize.sh leaves them
(the recipe's real units, journald settings, GRUB menu and Pi config; a stand-in kernel and Python), laid
out by the recipe's own layout.sh."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.deploy.conftest import LAYOUT, need
from tests.paths import ROOT

DISK_ID = "1a2b3c4d"
MAGIC = b"\xa7\x0d\x0d\x0a"  # CPython 3.11's .pyc magic number
ELF = {"amd64": 62, "arm64": 183}


def _write(path: Path, data: str | bytes, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data)
    else:
        path.write_bytes(data)
    path.chmod(mode)


def _link(path: Path, target: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)


def elf(arch: str) -> bytes:
    return b"\x7fELF\x02\x01\x01" + bytes(11) + ELF[arch].to_bytes(2, "little") + bytes(44)


def kiosk_root(root: Path, arch: str, uuids: list[str]) -> None:
    """What customize.sh leaves in a root, as far as the inspector looks."""
    _write(root / "usr/bin/true", elf(arch), 0o755)
    _write(root / "usr/bin/python3.11", elf(arch), 0o755)
    boot = "/boot/efi" if arch == "amd64" else "/boot/firmware"
    _write(root / "etc/fstab", f"/dev/root / ext4 ro,noatime 0 1\nLABEL=kiosk-data /data ext4 rw 0 2\n"
                               f"LABEL=KIOSKBOOT {boot} vfat rw 0 2\n")  # fmt: skip
    units = root / "etc/systemd/system"
    for unit in (ROOT / "deploy/systemd").iterdir():
        _write(units / unit.name, unit.read_text())
    wants = {
        "multi-user.target.wants": [
            "kiosk-station.service",
            "kiosk-firstboot.service",
            "kiosk-health.service",
        ],
        "timers.target.wants": ["kiosk-update-fetch.timer"],
        "paths.target.wants": ["kiosk-update-install.path"],
    }
    for target, names in wants.items():
        for name in names:
            _link(units / target / name, f"/etc/systemd/system/{name}")
    for name in ("getty@.service", "autovt@.service", "serial-getty@.service", "console-getty.service",
                 "ctrl-alt-del.target"):  # fmt: skip
        _link(units / name, "/dev/null")
    journald = ROOT / "deploy/image/overlay/etc/systemd/journald.conf.d/kiosk.conf"
    _write(root / "etc/systemd/journald.conf.d/kiosk.conf", journald.read_text())
    (root / "var/log/journal").mkdir(parents=True)
    venv = root / "opt/kiosk/venv"
    _link(venv / "bin/python", "/usr/bin/python3.11")
    _write(venv / "pyvenv.cfg", "home = /usr/bin\ninclude-system-site-packages = true\nversion = 3.11.2\n")
    _write(venv / "bin/kiosk", "#!/opt/kiosk/venv/bin/python\nfrom kiosk.cli import main\n", 0o755)
    site = venv / "lib/python3.11/site-packages"
    _write(site / "library_kiosk-0.1.0.dist-info/RECORD", "kiosk/__init__.py,,\n")
    _write(site / "kiosk/__pycache__/__init__.cpython-311.pyc", MAGIC + bytes(12))
    _write(root / "usr/lib/python3.11/__pycache__/os.cpython-311.pyc", MAGIC + bytes(12))
    if arch == "arm64":
        devices = [f"/dev/disk/by-partuuid/{DISK_ID}-02", f"/dev/disk/by-partuuid/{DISK_ID}-03"]
    else:
        devices = [f"/dev/disk/by-partuuid/{uuid}" for uuid in uuids[:2]]
    slots = f"[slot.rootfs.0]\ndevice={devices[0]}\n\n[slot.rootfs.1]\ndevice={devices[1]}\n"
    _write(root / "etc/rauc/system.conf", f"[system]\ncompatible=library-kiosk-{arch}\n\n{slots}")
    _write(root / "etc/rauc/keyring.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    _write(root / "boot/vmlinuz-6.1.0-test", bytes(2 * 2**20))
    _write(root / "boot/initrd.img-6.1.0-test", bytes(2 * 2**20))
    _link(root / "vmlinuz", "boot/vmlinuz-6.1.0-test")
    _link(root / "initrd.img", "boot/initrd.img-6.1.0-test")
    _write(root / "etc/machine-id", "")
    _write(
        root / "etc/passwd",
        f"root:x:0:0::/root:/bin/bash\nkiosk:x:{os.getuid()}:{os.getgid()}::/:/bin/false\n",
    )


def boot_files(boot: Path, arch: str, uuids: list[str]) -> None:
    _write(boot / "kiosk/device-example.toml", "# example\n")
    if arch == "amd64":
        _write(boot / "EFI/BOOT/BOOTX64.EFI", b"MZ" + bytes(1000))
        menu = (ROOT / "deploy/image/grub.cfg.in").read_text()
        _write(
            boot / "EFI/kiosk/grub.cfg",
            menu.replace("@ROOT_A_UUID@", uuids[0]).replace("@ROOT_B_UUID@", uuids[1]),
        )
        env = b"# GRUB Environment Block\nORDER=A B\nA_OK=1\nA_TRY=0\nB_OK=0\nB_TRY=0\n"
        _write(boot / "EFI/kiosk/grubenv", env + b"#" * (1024 - len(env)))
        return
    for name in ("start4.elf", "fixup4.dat", "bootcode.bin"):
        _write(boot / name, bytes(64))
    config = (ROOT / "deploy/image/config-pi.txt").read_text()
    _write(
        boot / "config.txt",
        "[all]\nkernel=vmlinuz\ninitramfs initrd.img followkernel\ninclude slot.txt\n" + config,
    )
    _write(boot / "slot.txt", "os_prefix=a/\n")
    _write(boot / "a/cmdline.txt", f"console=tty1 root=PARTUUID={DISK_ID}-02 ro rootwait rauc.slot=A quiet\n")
    _write(boot / "a/vmlinuz", bytes(56) + b"ARM\x64" + bytes(1000))
    _write(boot / "a/initrd.img", b"\x28\xb5\x2f\xfd" + bytes(2 * 2**20))
    _write(boot / "a/bcm2711-rpi-4-b.dtb", b"\xd0\x0d\xfe\xed" + bytes(100))
    _write(boot / "a/overlays/vc4-kms-v3d.dtbo", b"\xd0\x0d\xfe\xed" + bytes(100))


def data_files(data: Path) -> None:
    for name in ("kiosk", "journal", "updates", "rauc", "ssh/authorized_keys", "wifi", "log"):
        (data / name).mkdir(parents=True, exist_ok=True)
    (data / "kiosk").chmod(0o700)


def synthetic(folder: Path, arch: str, change: Callable[[Path], None] | None = None) -> Path:
    need("sfdisk", "mkfs.vfat", "mcopy", "mkfs.ext4", "debugfs")
    work = folder / f"work-{arch}"
    uuids = ["2bc5d946-a6ce-460b-aafa-196cb3180333", "deae32e8-dcb2-4bd1-87ef-aa6dc4bdb7d1",
             "0b0e6a55-5f7c-4c38-9a43-7c1d3f1f3e21"]  # fmt: skip
    kiosk_root(work / "rootfs", arch, uuids)
    boot_files(work / "boot", arch, uuids)
    data_files(work / "data")
    (work / "partuuids").write_text("\n".join(uuids) + "\n")
    (work / "disk-id").write_text(DISK_ID + "\n")
    if change is not None:
        change(work)
    image = folder / f"kiosk-{arch}.img"
    env = {
        "KIOSK_BOOT_MIB": "36",
        "KIOSK_ROOT_MIB": "12",
        "KIOSK_DATA_MIB": "8",
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
    }
    subprocess.run(
        [str(LAYOUT), arch, str(work), str(image)], check=True, env=env, capture_output=True, timeout=60
    )
    return image
