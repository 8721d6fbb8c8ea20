"""make test-image: boot the amd64 kiosk image in QEMU and check the running kiosk from the outside.

    python deploy/image/boot_test.py build/image/kiosk-amd64.img [--keep DIR] [--accel kvm|tcg]
        [--keys DIR] [--no-updates]

A gateway runs on this machine (127.0.0.1, SQLite); the image gets a device configuration from kiosk-flash
with a fresh enrollment code and a throw-away SSH key; QEMU (UEFI, user networking with SSH forwarded to
127.0.0.1 only; the guest reaches the gateway as 10.0.2.2) boots it, on a card 2 GiB larger than the image.
Over SSH as the technician it checks what the image promises; then that a frozen station is restarted by
the watchdog, that an update from the gateway is installed into the other slot and kept, and that a
broken one is rolled back (deploy/image/boot_updates.py; the bundles are signed with the image's
development key, --keys); then it powers the kiosk off. Every check is printed as one JSON line (name,
ok, detail, seconds); the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from deploy.flash import disk as disks  # noqa: E402  (run as a script from the repository)
from deploy.image import boot_updates  # noqa: E402

OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")
LIBRARY = "2190000"
RUNNING: list[Kiosk] = []  # killed when the test ends, however it ends


@dataclass
class Report:
    started: float = field(default_factory=time.monotonic)
    failed: int = 0

    def check(self, name: str, ok: bool, detail: object = "") -> bool:
        self.failed += not ok
        record = {"check": name, "ok": ok, "detail": detail, "t": round(time.monotonic() - self.started, 1)}
        print(json.dumps(record, ensure_ascii=False), flush=True)
        return ok


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(args: list[str], *, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=check)


class Gateway:
    """The real gateway (kiosk-gateway serve) on 127.0.0.1 with a throw-away SQLite database."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        gateway = [sys.executable, "-m", "server_api.gateway"]
        config = run([*gateway, "demo-config", str(folder), "--port", str(self.port)]).stdout.strip()
        self.command = [*gateway, "--config", config]
        run([*self.command, "migrate"])
        self.log = (folder / "gateway.log").open("w")
        self.process = subprocess.Popen(
            [*self.command, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "info"],
            cwd=REPO,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"the gateway did not start: {(folder / 'gateway.log').read_text()[-2000:]}")

    def enrollment_code(self, kiosk: str) -> str:
        out = run([*self.command, "enroll-code", "--library", LIBRARY, "--kiosk", kiosk]).stdout
        return out.splitlines()[0].strip()

    def devices(self) -> str:
        return run([*self.command, "devices"]).stdout

    def requests(self, path: str) -> int:
        return (self.folder / "gateway.log").read_text(errors="replace").count(path)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(20)
        self.log.close()


class Kiosk:
    """One QEMU kiosk: UEFI, virtio disk and network, a watchdog device, the serial console in a file."""

    def __init__(self, disk: Path, folder: Path, key: Path, accel: str) -> None:
        self.disk, self.folder, self.key, self.accel = disk, folder, key, accel
        self.ssh_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def boot(self) -> None:
        vars_copy = self.folder / "OVMF_VARS.fd"
        if not vars_copy.exists():
            shutil.copyfile(OVMF_VARS, vars_copy)
        cpu = ["-cpu", "max"] if self.accel == "tcg" else []
        self.process = subprocess.Popen(
            ["qemu-system-x86_64", "-machine", f"q35,accel={self.accel}", *cpu, "-m", "2048", "-smp", "2",
             "-drive", f"if=pflash,format=raw,readonly=on,file={OVMF_CODE}",
             "-drive", f"if=pflash,format=raw,file={vars_copy}",
             "-drive", f"file={self.disk},format=raw,if=virtio",
             "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{self.ssh_port}-:22",
             "-device", "virtio-net-pci,netdev=n0", "-device", "i6300esb", "-vga", "none",
             # virtio-gpu: bookworm's wlroots needs DRM PRIME import, which -vga std (bochs-drm) lacks
             "-device", "virtio-gpu-pci,xres=800,yres=600", "-display", "none",
             "-serial", f"file:{self.folder / f'serial-{int(time.time())}.log'}",
             "-monitor", f"unix:{self.folder / 'monitor.sock'},server,nowait"],
            stdout=subprocess.DEVNULL, stderr=(self.folder / "qemu.err").open("a"),
        )  # fmt: skip

    def ssh(self, command: str, *, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """The command's result; one that has not ended after `timeout` is a failure (exit 255, as ssh's
        own), not an exception: a kiosk going down for a reboot accepts the connection, then never
        answers, and the checks that wait for it to go down must see that as gone."""
        args = ["ssh", "-i", str(self.key), "-p", str(self.ssh_port), "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=2",
                "-o", "LogLevel=ERROR", "technician@127.0.0.1", command]  # fmt: skip
        try:
            return run(args, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as expired:
            out = expired.stdout or ""
            said = out if isinstance(out, str) else out.decode(errors="replace")
            return subprocess.CompletedProcess(args, 255, said, f"ssh: no answer within {timeout:g}s")

    def wait_for_ssh(self, limit: float) -> float | None:
        start = time.monotonic()
        while time.monotonic() - start < limit:
            if self.process is not None and self.process.poll() is not None:
                return None
            if "KVM internal error" in (self.folder / "qemu.err").read_text(errors="replace"):
                return None  # /dev/kvm is there but cannot run this guest (nested virtualisation)
            if self.ssh("true", timeout=20).returncode == 0:
                return time.monotonic() - start
            time.sleep(3)
        return None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def power_off(self, limit: float = 180) -> bool:
        self.ssh("sudo /usr/bin/systemctl poweroff")
        assert self.process is not None
        try:
            self.process.wait(limit)
            return True
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            return False


def flash(image: Path, folder: Path, gateway: Gateway, key: Path) -> Path:
    config = folder / "device.toml"
    config.write_text(
        "[kiosk]\n"
        'library = "Tromsø bibliotek"\n'
        'name = "QEMU kiosk 1"\n'
        "[gateway]\n"
        f'url = "http://10.0.2.2:{gateway.port}"\n'
        "insecure_http = true\n"
        f'enrollment_code = "{gateway.enrollment_code("QEMU kiosk 1")}"\n'
        "[ssh]\n"
        f'authorized_keys = ["{key.with_suffix(".pub").read_text().strip()}"]\n'
        "[display]\n"
        'renderer = "pixman"\n'  # no GPU in QEMU: cage draws in software
        # Software GL under TCG takes tens of seconds for some frames; the unit's 30 s would kill a station
        # that is only slow (seen in the boot test). The freeze check then waits for this watchdog.
        "watchdog_seconds = 120\n",
        encoding="utf-8",
    )
    disk = folder / "card.img"
    flasher = Path(sys.executable).with_name("kiosk-flash")
    run([str(flasher), str(image), "--device-config", str(config), "--to", str(disk), "--quiet"], timeout=900)
    with disk.open("r+b") as handle:
        handle.truncate(disk.stat().st_size + 2 * 2**30)  # a card bigger than the image
    return disk


def inside_checks(kiosk: Kiosk, report: Report, gateway: Gateway) -> str:
    def value(command: str) -> str:
        return kiosk.ssh(command).stdout.strip()

    options = value("findmnt -no OPTIONS /")
    report.check("root is read-only", "ro" in options.split(","), options)
    data_source = value("findmnt -no SOURCE /data")
    journal_source = value("findmnt -no SOURCE /var/log/journal")
    report.check("journal lives on the data partition", bool(data_source) and data_source in journal_source,
                 {"data": data_source, "journal": journal_source})  # fmt: skip
    size = value("lsblk -bno SIZE /dev/disk/by-label/kiosk-data")
    report.check("data partition grown to the card", size.isdigit() and int(size) > 2**30, size)
    status = _firstboot_status(kiosk)
    report.check("first boot finished and enrolled", status.get("state") == "done", status)
    report.check(
        "the gateway knows the enrolled kiosk", "QEMU kiosk 1" in gateway.devices(), gateway.devices()
    )

    def station_unit() -> str:
        return value(
            "systemctl show kiosk-station.service -p ActiveState,SubState,WatchdogUSec,Restart,NRestarts"
        )

    def station_active() -> str:
        shown = station_unit()
        return shown if "ActiveState=active" in shown else ""

    # READY comes once the first frame is drawn: minutes with software GL under TCG
    station = boot_updates.until(station_active, 420) or station_unit()
    # The unit's 30 s, replaced at READY by the 120 s the device settings ask for (software GL under TCG)
    report.check("station service has the watchdog the settings ask for and a restart policy",
                 "WatchdogUSec=2min" in station and "Restart=on-failure" in station, station)  # fmt: skip
    report.check("station service is active", "ActiveState=active" in station, station)
    screen = kiosk.ssh(
        "journalctl -b -u kiosk-station --no-pager | grep -c 'Unable to create the wlroots backend'"
    )
    report.check("cage has the screen", screen.stdout.strip() == "0", screen.stdout.strip())
    # cage's own command line names `kiosk run` too: look at its children
    station_process = value("ps -o args= --ppid \"$(pgrep -xo cage)\" | grep 'kiosk run' || true")
    report.check("the station runs under cage", bool(station_process), station_process)
    report.check("no login on the screen", value("systemctl is-enabled getty@tty1.service") == "masked")
    report.check("Ctrl+Alt+Del does nothing", value("systemctl is-enabled ctrl-alt-del.target") == "masked")
    report.check("SysRq is off", value("cat /proc/sys/kernel/sysrq") == "0")
    report.check("timesyncd runs", value("systemctl is-active systemd-timesyncd") == "active")
    slots = value("sudo /opt/kiosk/venv/bin/kiosk-update status")
    report.check(
        "RAUC runs slot A of two", "A (rootfs.0) running" in slots and "B (rootfs.1)" in slots, slots
    )
    password = run(["ssh", "-p", str(kiosk.ssh_port), "-o", "BatchMode=yes", "-o", "PubkeyAuthentication=no",
                    "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                    "technician@127.0.0.1", "true"], check=False)  # fmt: skip
    report.check("SSH refuses passwords", password.returncode != 0 and "publickey" in password.stderr,
                 password.stderr.strip())  # fmt: skip
    doctor = kiosk.ssh("sudo /opt/kiosk/venv/bin/kiosk doctor --json", timeout=180)
    try:
        said = json.loads(doctor.stdout)
    except ValueError:
        said = {"stdout": doctor.stdout[-300:], "stderr": doctor.stderr.strip()[-300:]}
    reader = [c for c in said.get("checks", []) if c.get("check") == "reader"]
    named = "checks" in said and bool(reader) and "sim" in json.dumps(reader)
    report.check("kiosk doctor --json answers and names the simulated reader", named, reader or said)
    return value("cat /etc/machine-id")


def _firstboot_status(kiosk: Kiosk, limit: float = 240) -> dict[str, str]:
    deadline = time.monotonic() + limit
    status: dict[str, str] = {}
    while time.monotonic() < deadline:
        out = kiosk.ssh("cat /run/kiosk/firstboot.json").stdout
        status = json.loads(out) if out.strip() else {}
        if status.get("state") in ("done", "enroll-refused", "setup-failed"):
            break
        time.sleep(5)
    return status


def boot_partition_files(disk: Path) -> str:
    boot = disks.boot_partition(disk)
    env = {**os.environ, "MTOOLS_SKIP_CHECK": "1"}
    listing = subprocess.run(["mdir", "-b", "-i", boot.mtools_target, "::/kiosk"], capture_output=True,
                             text=True, env=env, timeout=60, check=False)  # fmt: skip
    return listing.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", type=Path)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (serial logs, card image)")
    parser.add_argument("--accel", choices=["kvm", "tcg"], help="default: KVM when it works, else TCG")
    parser.add_argument(
        "--keys", type=Path, help="dev.cert.pem and dev.key.pem (default: the image's dev-keys/)"
    )
    parser.add_argument("--no-updates", action="store_true", help="leave out the update and rollback checks")
    args = parser.parse_args(argv)
    if not args.image.is_file():
        print(f"boot_test: {args.image}: no image (make image ARCH=amd64)", file=sys.stderr)
        return 2
    folder = args.keep or Path(tempfile.mkdtemp(prefix="kiosk-boot-test-", dir="/var/tmp"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        keys = None if args.no_updates else (args.keys or args.image.parent / "dev-keys")
        return _boot_and_check(args.image, folder, args.accel, keys)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


def _boot_and_check(image: Path, folder: Path, accel: str | None, keys: Path | None) -> int:
    report = Report()
    key = folder / "technician"
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key), "-C", "boot-test"])
    gateway = Gateway(folder / "gateway")
    bundles = boot_updates.Bundles(image, folder, keys).start() if keys is not None else None
    try:
        disk = flash(image, folder, gateway, key)
        report.check("kiosk-flash wrote the card", True, str(disk))
        kiosk = _booted(disk, folder, key, accel, report, "first boot")
        if kiosk is None:
            return 1
        machine_id = inside_checks(kiosk, report, gateway)
        beats = boot_updates.until(lambda: gateway.requests("/v1/heartbeats"), 180)
        report.check("the kiosk sends heartbeats to the gateway", beats > 0, {"heartbeats": beats})
        kept = boot_updates.until(lambda: _slot_good(kiosk, "A"), 420)
        report.check("the health check marked slot A good", bool(kept), boot_updates.status(kiosk))
        boot_updates.freeze(kiosk, report)
        if bundles is not None:
            _updates(kiosk, report, gateway, bundles, machine_id)
        report.check("clean power-off", kiosk.power_off())
        files = boot_partition_files(disk)
        report.check("no secrets left on the boot partition", "device.toml" not in files, files)
    finally:
        for machine in RUNNING:
            machine.kill()
        gateway.stop()
    print(
        json.dumps(
            {"summary": {"failed": report.failed, "seconds": round(time.monotonic() - report.started)}}
        )
    )
    return 1 if report.failed else 0


def _slot_good(kiosk: Kiosk, bootname: str) -> bool:
    return boot_updates.slot(boot_updates.status(kiosk), bootname).get("boot_status") == "good"


def _updates(
    kiosk: Kiosk, report: Report, gateway: Gateway, bundles: boot_updates.Bundles, machine_id: str
) -> None:
    made = bundles.wait()
    sizes = {p.name: p.stat().st_size for p in (bundles.good, bundles.broken) if p is not None and p.exists()}
    if not report.check(
        "update bundles made and signed",
        made,
        {"seconds": round(bundles.seconds), "bytes": sizes, "error": bundles.error[-600:]},
    ):
        return  # fmt: skip
    if boot_updates.update(kiosk, report, gateway, bundles):
        same = kiosk.ssh("cat /etc/machine-id").stdout.strip()
        report.check("machine-id kept across the reboot", bool(machine_id) and same == machine_id,
                     {"first": machine_id, "now": same})  # fmt: skip
        boot_updates.rollback(kiosk, report, gateway, bundles)


def _booted(
    disk: Path, folder: Path, key: Path, accel: str | None, report: Report, what: str
) -> Kiosk | None:
    for choice in _accels(accel):
        kiosk = Kiosk(disk, folder, key, choice)
        RUNNING.append(kiosk)
        kiosk.boot()
        limit = 300 if choice == "kvm" else 900
        seconds = kiosk.wait_for_ssh(limit)
        if seconds is not None:
            report.check(f"{what}: SSH answers ({choice})", True, {"seconds_to_ssh": round(seconds)})
            return kiosk
        kiosk.kill()  # and wait: a paused QEMU still holds the card image's lock
        error = (folder / "qemu.err").read_text(errors="replace")
        (folder / "qemu.err").write_text("")
        if "KVM internal error" in error:
            report.check(f"{what}: KVM cannot run this guest here, falling back to TCG", True)
            continue
        report.check(f"{what}: boots under {choice}", False, error[-400:] or f"no SSH within {limit} s")
    return None


def _accels(requested: str | None) -> list[str]:
    if requested:
        return [requested]
    return ["kvm", "tcg"] if os.access("/dev/kvm", os.R_OK | os.W_OK) else ["tcg"]


if __name__ == "__main__":
    sys.exit(main())
