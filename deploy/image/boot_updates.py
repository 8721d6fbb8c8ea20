"""The boot test's checks of the watchdog and of updates, on the booted kiosk (deploy/image/boot_test.py).

- **Freeze:** every process of the station's service is stopped (SIGSTOP: a hung event loop sends no
  WATCHDOG=1); systemd's watchdog must kill and restart it.
- **Update:** an update bundle made from the image's own root slot (a new version) is published on the
  test's gateway; the kiosk's fetcher (the station's user) downloads and checks it, root's path unit
  installs it while the station shows it is out of service, the kiosk reboots into the other slot, and
  the health check keeps it (RAUC mark-good).
- **Rollback:** a broken bundle (a root with a kernel and an initramfs but no system: it panics, and
  panic=10 reboots it) is installed the same way; the boot loader tries it once (the slot's TRY flag),
  falls back to the good slot, whose health check marks the broken one bad and remembers the bundle as
  rejected, so the fetcher does not fetch it again.

The bundles are made on this machine while the kiosk boots the first time, signed with the image's
development key (build.sh makes it next to the image).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from deploy.flash import disk as disks

GOOD_VERSION = "2026.12.2-boot-test"
BROKEN_VERSION = "2026.12.3-broken"


class Checks(Protocol):
    def check(self, name: str, ok: bool, detail: object = "") -> bool: ...


class Machine(Protocol):
    def ssh(self, command: str, *, timeout: float = 60) -> subprocess.CompletedProcess[str]: ...

    def wait_for_ssh(self, limit: float) -> float | None: ...


class Publisher(Protocol):
    command: list[str]


def _run(args: list[str], timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=True)


@dataclass
class Bundles:
    """The good and the broken bundle, made in a thread while the kiosk boots."""

    image: Path
    folder: Path
    keys: Path
    good: Path | None = None
    broken: Path | None = None
    seconds: float = 0.0
    error: str = ""
    _thread: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> Bundles:
        self._thread = threading.Thread(target=self._make, name="bundles", daemon=True)
        self._thread.start()
        return self

    def wait(self, limit: float = 3600) -> bool:
        assert self._thread is not None
        self._thread.join(limit)
        return self.good is not None and self.broken is not None

    def _make(self) -> None:
        started = time.monotonic()
        try:
            root = self.folder / "root-a.ext4"
            slot_a = disks.partitions(self.image)[1]
            _run(["dd", f"if={self.image}", f"of={root}", "bs=1M", "conv=sparse", "status=none",
                  f"skip={slot_a.start // 2**20}", f"count={slot_a.size // 2**20}"])  # fmt: skip
            self.good = self._bundle(root, GOOD_VERSION)
            self.broken = self._bundle(self._unbootable_root(root), BROKEN_VERSION)
            root.unlink()
        except (OSError, subprocess.SubprocessError, disks.DiskError) as error:
            self.error = getattr(error, "stderr", "") or str(error)
        self.seconds = time.monotonic() - started

    def _unbootable_root(self, root: Path) -> Path:
        """A root file system with the kernel and initramfs of slot A and nothing else: no init."""
        content = self.folder / "broken-root"
        content.mkdir(exist_ok=True)
        listing = _run(["debugfs", "-R", "ls -p /boot", str(root)]).stdout
        names = [line.split("/")[5] for line in listing.splitlines() if line.count("/") >= 6]
        for name in names:
            for prefix, target in (("vmlinuz-", "vmlinuz"), ("initrd.img-", "initrd.img")):
                if name.startswith(prefix):
                    _run(["debugfs", "-R", f"dump /boot/{name} {content / target}", str(root)])
        if not (content / "vmlinuz").exists() or not (content / "initrd.img").exists():
            raise OSError(f"no kernel or initramfs found in slot A's /boot: {names}")
        broken = self.folder / "broken-root.ext4"
        _run(["mkfs.ext4", "-q", "-F", "-L", "kiosk-root", "-d", str(content), str(broken), "96M"])
        shutil.rmtree(content)
        return broken

    def _bundle(self, root: Path, version: str) -> Path:
        out = self.folder / f"kiosk-{version}.raucb"
        cert, key = self.keys / "dev.cert.pem", self.keys / "dev.key.pem"
        tool = Path(sys.executable).with_name("kiosk-update")
        _run([str(tool), "make-bundle", str(root), "--version", version, "--compatible",
              "library-kiosk-amd64", "--cert", str(cert), "--key", str(key), "--keyring", str(cert),
              "--out", str(out)])  # fmt: skip
        return out


def publish(gateway: Publisher, bundle: Path, keys: Path) -> str:
    done = _run([*gateway.command, "publish-bundle", str(bundle), "--arch", "amd64", "--channel", "stable",
                 "--keyring", str(keys / "dev.cert.pem")], timeout=300)  # fmt: skip
    return done.stdout.strip()


def status(kiosk: Machine) -> dict[str, Any]:
    out = kiosk.ssh("sudo /opt/kiosk/venv/bin/kiosk-update status --json", timeout=60).stdout
    try:
        data: dict[str, Any] = json.loads(out)
    except ValueError:
        return {}
    return data


def booted(state: dict[str, Any]) -> dict[str, Any]:
    return next((slot for slot in state.get("slots", []) if slot.get("booted")), {})


def slot(state: dict[str, Any], bootname: str) -> dict[str, Any]:
    return next((s for s in state.get("slots", []) if s.get("bootname") == bootname), {})


def until(probe: Callable[[], Any], limit: float, pause: float = 5) -> Any:
    """The first true value `probe` returns within `limit` seconds, else its last value."""
    deadline = time.monotonic() + limit
    value = probe()
    while not value and time.monotonic() < deadline:
        time.sleep(pause)
        value = probe()
    return value


def freeze(kiosk: Machine, report: Checks) -> None:
    def show() -> dict[str, str]:
        out = kiosk.ssh("systemctl show kiosk-station.service -p ActiveState,NRestarts,MainPID").stdout
        return dict(line.split("=", 1) for line in out.split() if "=" in line)

    before = until(lambda: show() if show().get("ActiveState") == "active" else None, 300) or show()
    started = time.monotonic()
    kiosk.ssh("sudo /usr/bin/systemctl kill --signal=SIGSTOP --kill-whom=all kiosk-station.service")

    def restarted() -> dict[str, str] | None:
        now = show()
        again = int(now.get("NRestarts", "0") or 0) > int(before.get("NRestarts", "0") or 0)
        return now if again and now.get("ActiveState") == "active" else None

    after = until(restarted, 720)  # the kiosk's watchdog (120 s in the boot test), then a restart
    said = kiosk.ssh("journalctl -b -u kiosk-station --no-pager | grep -c 'Watchdog timeout' || true").stdout
    report.check(
        "a frozen station is killed by the watchdog and restarted",
        bool(after) and said.strip() not in ("", "0"),
        {"before": before, "after": after or show(), "watchdog_lines": said.strip(),
         "seconds": round(time.monotonic() - started)},
    )  # fmt: skip


def fetch_and_reboot(kiosk: Machine, report: Checks, what: str) -> bool:
    """Start the fetcher; watch the station go out of service while root installs; wait for the reboot."""
    fetched = kiosk.ssh("sudo /usr/bin/systemctl start kiosk-update-fetch.service", timeout=1800)
    said = _fetcher_said(kiosk)
    if not report.check(f"{what}: the kiosk fetched and checked the bundle", fetched.returncode == 0, said):
        return False
    state = until(lambda: _out_of_service(kiosk), 300, pause=2)
    report.check(f"{what}: the station is out of service while it installs", bool(state), state or "")
    gone = until(lambda: kiosk.ssh("true", timeout=20).returncode != 0, 1800, pause=5)
    report.check(f"{what}: installed, the kiosk reboots", bool(gone))
    seconds = kiosk.wait_for_ssh(1200)
    return report.check(f"{what}: SSH answers after the reboot", seconds is not None,
                        {"seconds_to_ssh": round(seconds or 0)})  # fmt: skip


def _fetcher_said(kiosk: Machine) -> str:
    """The fetcher's own last line (systemd's lines about the unit come after it)."""
    out = kiosk.ssh("journalctl -b -u kiosk-update-fetch --no-pager -o cat | grep '^kiosk-update:' | tail -1")
    return out.stdout.strip()


def _out_of_service(kiosk: Machine) -> dict[str, Any] | None:
    out = kiosk.ssh("test -e /run/kiosk/updating && cat /run/kiosk/station-state.json", timeout=20).stdout
    try:
        state: dict[str, Any] = json.loads(out)
    except ValueError:
        return None
    return state if state.get("out_of_service") and not state.get("patron_session") else None


def update(kiosk: Machine, report: Checks, gateway: Publisher, bundles: Bundles) -> bool:
    assert bundles.good is not None
    report.check("an update is published on the gateway", True, publish(gateway, bundles.good, bundles.keys))
    if not fetch_and_reboot(kiosk, report, "update"):
        return False
    kept = until(lambda: _kept(kiosk, "B", GOOD_VERSION), 600)
    return report.check(
        "the update runs in slot B and the health check kept it", bool(kept), kept or status(kiosk)
    )


def _kept(kiosk: Machine, bootname: str, version: str) -> dict[str, Any] | None:
    state = status(kiosk)
    running = booted(state)
    good = running.get("bootname") == bootname and running.get("boot_status") == "good"
    return state if good and running.get("version") == version else None


def rollback(kiosk: Machine, report: Checks, gateway: Publisher, bundles: Bundles) -> None:
    assert bundles.broken is not None
    report.check("a broken update is published", True, publish(gateway, bundles.broken, bundles.keys))
    if not fetch_and_reboot(kiosk, report, "broken update"):
        return

    def back() -> dict[str, Any] | None:
        state = _kept(kiosk, "B", GOOD_VERSION)
        if state is None or slot(state, "A").get("boot_status") != "bad":
            return None
        rejected = kiosk.ssh("cat /data/updates/rejected.json", timeout=20).stdout
        return {"status": state, "rejected": rejected.strip()} if BROKEN_VERSION in rejected else None

    result = until(back, 900)
    report.check("the broken update did not boot; back in slot B, slot A marked bad, the bundle rejected",
                 bool(result), result or status(kiosk))  # fmt: skip
    again = kiosk.ssh("sudo /usr/bin/systemctl start kiosk-update-fetch.service", timeout=600)
    said = _fetcher_said(kiosk)
    report.check("the fetcher does not fetch the rejected bundle again",
                 again.returncode == 0 and "failed on this kiosk before" in said, said)  # fmt: skip
