"""Boot the arm64 image's root in QEMU (-M virt, Cortex-A72) and see how far it gets, with times.

    python deploy/image/boot_arm64.py build/image/kiosk-arm64.img [--keep DIR] [--limit SECONDS]

The Raspberry Pi's firmware does not run in QEMU, so the kernel, the initramfs and the command line are
taken from the card's boot partition (a/vmlinuz, a/initrd.img, a/cmdline.txt, as the Pi's firmware would
load them; console on QEMU's serial port instead of the screen) and given to QEMU directly. Everything
else is the boot test's (deploy/image/boot_test.py): a real gateway on 127.0.0.1, a card written by
kiosk-flash with a fresh enrollment code, SSH forwarded to 127.0.0.1 only, then the same checks of first
boot and the station over SSH. It prints one JSON line per milestone and check, with seconds since QEMU
started: the kernel's first line, the initramfs, systemd, SSH, first boot, the station's service. The
updates are left out (boot_test.py runs them on amd64; the Pi's tryboot cannot run in QEMU).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from deploy.flash import disk as disks  # noqa: E402  (run as a script from the repository)
from deploy.image import boot_test  # noqa: E402

MILESTONES = [  # what the serial console shows, in the order it comes
    ("kernel started", re.compile(r"Linux version \S+")),
    ("initramfs runs", re.compile(r"Run /init as init process|Loading, please wait")),
    ("root mounted, systemd starts", re.compile(r"systemd\[1\]: .*running in system mode|Welcome to Debian")),
    ("first boot service ran", re.compile(r"(Finished|Started|Failed).*[Kk]iosk first-boot")),
    ("station service started", re.compile(r"Started.*Library self-service station")),
    ("kernel panic", re.compile(r"Kernel panic")),
]  # fmt: skip


class Arm64Kiosk(boot_test.Kiosk):
    """QEMU's virt board with the card's own kernel, initramfs and command line."""

    def __init__(self, disk: Path, folder: Path, key: Path) -> None:
        super().__init__(disk, folder, key, "tcg")
        self.serial = folder / "serial-arm64.log"
        self.started = 0.0

    def boot(self) -> None:
        boot = disks.boot_partition(self.disk)
        kernel, initrd = self.folder / "vmlinuz", self.folder / "initrd.img"
        kernel.write_bytes(disks.read_file(boot, "a/vmlinuz"))
        initrd.write_bytes(disks.read_file(boot, "a/initrd.img"))
        words = disks.read_file(boot, "a/cmdline.txt").decode().split()
        # the serial port instead of the Pi's screen; every systemd line shown (no quiet)
        cmdline = " ".join(w for w in words if not w.startswith("console=") and w != "quiet")
        cmdline += " console=ttyAMA0,115200"
        (self.folder / "cmdline.txt").write_text(cmdline + "\n")
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            ["qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a72", "-accel", "tcg,thread=multi",
             "-smp", "2", "-m", "2048", "-kernel", str(kernel), "-initrd", str(initrd), "-append", cmdline,
             "-drive", f"file={self.disk},format=raw,if=virtio",
             "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{self.ssh_port}-:22",
             "-device", "virtio-net-pci,netdev=n0", "-device", "virtio-gpu-pci,xres=800,yres=600",
             "-display", "none", "-serial", f"file:{self.serial}",
             "-monitor", f"unix:{self.folder / 'monitor.sock'},server,nowait"],
            stdout=subprocess.DEVNULL, stderr=(self.folder / "qemu.err").open("a"),
        )  # fmt: skip


def watch_console(kiosk: Arm64Kiosk, report: boot_test.Report, stop: threading.Event) -> None:
    """Report each milestone once, when the serial console first shows it."""
    seen: set[str] = set()
    while not stop.is_set():
        text = kiosk.serial.read_text(errors="replace") if kiosk.serial.exists() else ""
        for name, pattern in MILESTONES:
            found = pattern.search(text)
            if name not in seen and found:
                seen.add(name)
                since = round(time.monotonic() - kiosk.started)
                report.check(f"console: {name}", name != "kernel panic",
                             {"seconds_since_qemu": since, "line": found.group(0)})  # fmt: skip
        stop.wait(2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", type=Path)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (serial log, card)")
    parser.add_argument("--limit", type=float, default=1800, help="seconds to wait for SSH (default 1800)")
    args = parser.parse_args(argv)
    if not args.image.is_file():
        print(f"boot_arm64: {args.image}: no image (make image ARCH=arm64)", file=sys.stderr)
        return 2
    if shutil.which("qemu-system-aarch64") is None:
        print("boot_arm64: qemu-system-aarch64 is missing (apt-get install qemu-system-arm)", file=sys.stderr)
        return 2
    folder = args.keep or Path(tempfile.mkdtemp(prefix="kiosk-arm64-boot-", dir="/var/tmp"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        return _boot(args.image, folder, args.limit)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


def _boot(image: Path, folder: Path, limit: float) -> int:
    report = boot_test.Report()
    key = folder / "technician"
    boot_test.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key), "-C", "boot-arm64"])
    gateway = boot_test.Gateway(folder / "gateway")
    stop = threading.Event()
    kiosk: Arm64Kiosk | None = None
    try:
        disk = boot_test.flash(image, folder, gateway, key)
        report.check("kiosk-flash wrote the card", True, str(disk))
        kiosk = Arm64Kiosk(disk, folder, key)
        kiosk.boot()
        threading.Thread(target=watch_console, args=(kiosk, report, stop), daemon=True).start()
        seconds = kiosk.wait_for_ssh(limit)
        if not report.check("SSH answers (TCG, arm64 on this PC)", seconds is not None,
                            {"seconds_to_ssh": round(seconds) if seconds else None,
                             "qemu": (folder / "qemu.err").read_text(errors="replace")[-300:]}):  # fmt: skip
            return 1
        boot_test.inside_checks(kiosk, report, gateway)
        report.check("clean power-off", kiosk.power_off(300))
    finally:
        stop.set()
        if kiosk is not None:
            kiosk.kill()
        gateway.stop()
    print(
        json.dumps(
            {"summary": {"failed": report.failed, "seconds": round(time.monotonic() - report.started)}}
        )
    )
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
