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

from tests.deploy.conftest import LAYOUT, need
from tests.paths import ROOT

INSPECT = ROOT / "deploy" / "image" / "inspect_image.py"
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


def _elf(arch: str) -> bytes:
    return b"\x7fELF\x02\x01\x01" + bytes(11) + ELF[arch].to_bytes(2, "little") + bytes(44)


def kiosk_root(root: Path, arch: str, uuids: list[str]) -> None:
    """What customize.sh leaves in a root, as far as the inspector looks."""
    _write(root / "usr/bin/true", _elf(arch), 0o755)
    _write(root / "usr/bin/python3.11", _elf(arch), 0o755)
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


def _wrong_root(work: Path) -> None:
    (work / "boot/a/cmdline.txt").write_text("console=tty1 root=/dev/mmcblk0p2 ro rauc.slot=A\n")


def _x86_programs(work: Path) -> None:
    (work / "rootfs/usr/bin/true").write_bytes(_elf("amd64"))


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
