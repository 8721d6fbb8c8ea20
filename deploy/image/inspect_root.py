"""The root slot's and the data partition's checks of deploy/image/inspect_image.py (debugfs, read-only).

Root slot A: the programs are built for the image's architecture, ``fstab`` mounts the root read-only and
the data partition at /data, the station's unit has its watchdog and restart policy and is enabled with
first boot, the health check and the updater, logins on screens and Ctrl+Alt+Del are masked, journald
is limited, the station's venv runs the root's Python with its byte code compiled for it, RAUC knows the
two slots, and a kernel with its initramfs is there. Data: the folders first boot and the station use,
owned by the station's user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy.flash.disk import Partition
from deploy.image.ext4_files import Ext4Error, Ext4Files

__all__ = ["Finding", "Layout", "check_data", "check_root", "check_slot_b"]

ELF_MACHINES = {"amd64": 62, "arm64": 183}  # e_machine: EM_X86_64, EM_AARCH64
ENABLED = {
    "multi-user.target.wants": ("kiosk-station.service", "kiosk-firstboot.service", "kiosk-health.service"),
    "timers.target.wants": ("kiosk-update-fetch.timer",),
    "paths.target.wants": ("kiosk-update-install.path",),
}
MASKED = ("getty@.service", "autovt@.service", "serial-getty@.service", "console-getty.service",
          "ctrl-alt-del.target")  # fmt: skip
VENV = "/opt/kiosk/venv"
DATA_FOLDERS = ("kiosk", "journal", "updates", "rauc", "ssh/authorized_keys", "wifi", "log")


@dataclass(frozen=True)
class Finding:
    area: str  # layout, boot, root, data
    check: str
    ok: bool
    said: str  # what was found, or what is wrong and what to do


@dataclass(frozen=True)
class Layout:
    image: Path
    table: dict[str, Any]  # sfdisk --json's partitiontable
    label: str  # gpt or dos
    arch: str
    parts: list[Partition]

    def slot_devices(self) -> tuple[str, str]:
        """How RAUC's system.conf names root slots A and B on this layout."""
        if self.label == "dos":
            disk_id = str(self.table.get("id", "")).lower().removeprefix("0x")
            return f"/dev/disk/by-partuuid/{disk_id}-02", f"/dev/disk/by-partuuid/{disk_id}-03"
        a, b = (str(entry.get("uuid", "")).lower() for entry in self.table["partitions"][1:3])
        return f"/dev/disk/by-partuuid/{a}", f"/dev/disk/by-partuuid/{b}"


def check_root(layout: Layout, root: Ext4Files) -> list[Finding]:
    return [
        _architecture(layout, root),
        _fstab(layout, root),
        _station_unit(root),
        _enabled(root),
        _masked(root),
        _journald(root),
        _venv(root),
        _rauc(layout, root),
        _kernel(root),
        _machine_id(root),
    ]


def _architecture(layout: Layout, root: Ext4Files) -> Finding:
    header = (root.read("/usr/bin/true") or b"")[:20]
    machine = int.from_bytes(header[18:20], "little") if header[:4] == b"\x7fELF" else -1
    named = {number: arch for arch, number in ELF_MACHINES.items()}.get(machine, f"e_machine {machine}")
    ok = machine == ELF_MACHINES.get(layout.arch)
    said = f"/usr/bin/true is {named}" if header else "no /usr/bin/true: not a Debian root"
    return Finding("root", "programs built for the image's architecture", ok, said)


def _fstab(layout: Layout, root: Ext4Files) -> Finding:
    text = root.text("/etc/fstab") or ""
    mounts = {fields[1]: fields for line in text.splitlines() if len(fields := line.split()) >= 4
              and not line.lstrip().startswith("#")}  # fmt: skip
    root_options = mounts.get("/", ["", "", "", ""])[3].split(",")
    boot = "/boot/efi" if layout.arch == "amd64" else "/boot/firmware"
    problems = [] if "ro" in root_options else ["the root is not mounted ro"]
    problems += [f"no {where} line" for where in ("/data", boot) if where not in mounts]
    return Finding("root", "fstab: read-only root, data and boot partitions", not problems and bool(text),
                   "; ".join(problems) or f"/ {','.join(root_options)}; /data; {boot}"
                   if text else "/etc/fstab missing")  # fmt: skip


def _unit_settings(root: Ext4Files, name: str) -> dict[str, str]:
    text = root.text(f"/etc/systemd/system/{name}") or ""
    return {m.group(1): m.group(2) for m in re.finditer(r"^([A-Za-z]+)=(.*)$", text, re.MULTILINE)}


def _station_unit(root: Ext4Files) -> Finding:
    unit = _unit_settings(root, "kiosk-station.service")
    wanted = {"Type": "notify", "Restart": "on-failure"}
    problems = [f"{key}={value} missing" for key, value in wanted.items() if unit.get(key) != value]
    problems += [] if unit.get("WatchdogSec") else ["no WatchdogSec="]
    if not unit:
        return Finding("root", "station unit with watchdog and restart policy", False,
                       "/etc/systemd/system/kiosk-station.service missing")  # fmt: skip
    said = "; ".join(problems) or (
        f"WatchdogSec={unit['WatchdogSec']}, Restart=on-failure, ExecStart={unit.get('ExecStart', '?')}"
    )
    return Finding("root", "station unit with watchdog and restart policy", not problems, said)


def _enabled(root: Ext4Files) -> Finding:
    missing = []
    for target, units in ENABLED.items():
        present = root.listdir(f"/etc/systemd/system/{target}")
        missing += [unit for unit in units if unit not in present
                    or root.stat(f"/etc/systemd/system/{target}/{unit}") is None]  # fmt: skip
    count = sum(len(units) for units in ENABLED.values())
    return Finding("root", "kiosk units enabled", not missing,
                   f"not enabled: {missing}" if missing else f"{count} units: station, first boot, health "
                   "check, update fetch timer, update install path")  # fmt: skip


def _masked(root: Ext4Files) -> Finding:
    open_ = [unit for unit in MASKED if _link(root, f"/etc/systemd/system/{unit}") != "/dev/null"]
    return Finding("root", "no login on screens or serial, Ctrl+Alt+Del off", not open_,
                   f"not masked: {open_}" if open_ else f"masked: {', '.join(MASKED)}")  # fmt: skip


def _link(root: Ext4Files, path: str) -> str:
    entry = root.lstat(path)
    return root.readlink(path) if entry is not None and entry.is_link else ""


def _journald(root: Ext4Files) -> Finding:
    text = root.text("/etc/systemd/journald.conf.d/kiosk.conf") or ""
    limit = re.search(r"^SystemMaxUse=(\S+)", text, re.MULTILINE)
    folder = root.stat("/var/log/journal")
    ok = limit is not None and folder is not None and folder.is_dir
    said = "journald.conf.d/kiosk.conf without SystemMaxUse, or no /var/log/journal"
    if ok and limit:
        said = f"SystemMaxUse={limit.group(1)}; /var/log/journal"
    return Finding("root", "journal size limit, journal folder for the data partition", ok, said)


def _venv(root: Ext4Files) -> Finding:
    python = root.resolve(f"{VENV}/bin/python") or ""
    config = root.text(f"{VENV}/pyvenv.cfg") or ""
    script = (root.text(f"{VENV}/bin/kiosk") or "").splitlines()[:1]
    site = f"{VENV}/lib/python3.11/site-packages"
    dists = [name for name in root.listdir(site) if name.startswith("library_kiosk-")]
    compiled = root.read(f"{site}/kiosk/__pycache__/__init__.cpython-311.pyc") or b""
    own = _stdlib_magic(root)
    problems = [] if python.startswith("/usr/bin/python3") else [f"bin/python leads to {python or 'nothing'}"]
    problems += (
        [] if "include-system-site-packages = true" in config else ["no system site-packages (pyscard)"]
    )
    problems += (
        [] if script and script[0].startswith(f"#!{VENV}/bin/python") else [f"bin/kiosk starts {script}"]
    )
    problems += [] if dists else ["library_kiosk is not installed"]
    problems += (
        [] if compiled[:4] and compiled[:4] == own else ["kiosk's byte code missing or not for this Python"]
    )
    return Finding("root", "station venv: root's Python, station installed, byte code compiled", not problems,
                   "; ".join(problems) or f"{VENV}/bin/python -> {python}; {dists[0]}; "
                   f".pyc magic {compiled[:4].hex()} as the root's own")  # fmt: skip


def _stdlib_magic(root: Ext4Files) -> bytes:
    """The magic number of the root's Python, from a module Debian byte-compiled when it installed it."""
    for name in ("os", "abc", "codecs"):
        data = root.read(f"/usr/lib/python3.11/__pycache__/{name}.cpython-311.pyc")
        if data:
            return data[:4]
    return b""


def _rauc(layout: Layout, root: Ext4Files) -> Finding:
    conf = root.text("/etc/rauc/system.conf") or ""
    keyring = root.text("/etc/rauc/keyring.pem") or ""
    devices = re.findall(r"^device=(\S+)", conf, re.MULTILINE)
    compatible = f"compatible=library-kiosk-{layout.arch}"
    problems = [] if compatible in conf.splitlines() else [f"no {compatible}"]
    problems += (
        []
        if devices == list(layout.slot_devices())
        else [f"slots {devices}, partitions {layout.slot_devices()}"]
    )
    problems += [] if "BEGIN CERTIFICATE" in keyring else ["no certificate in /etc/rauc/keyring.pem"]
    if not conf:
        return Finding(
            "root", "RAUC: compatible, both slots, keyring", False, "/etc/rauc/system.conf missing"
        )
    said = "; ".join(problems) or f"{compatible}; slots {', '.join(devices)}"
    return Finding("root", "RAUC: compatible, both slots, keyring", not problems, said)


def _kernel(root: Ext4Files) -> Finding:
    kernel, initrd = root.stat("/vmlinuz"), root.stat("/initrd.img")
    ok = bool(kernel and initrd and kernel.size > 2**20 and initrd.size > 2**20)
    return Finding("root", "kernel and initramfs in the slot", ok,
                   f"{root.resolve('/vmlinuz')} ({kernel.size // 2**20} MiB), {root.resolve('/initrd.img')} "
                   f"({initrd.size // 2**20} MiB)" if ok and kernel and initrd
                   else "/vmlinuz or /initrd.img missing: the boot loader would skip this slot")  # fmt: skip


def _machine_id(root: Ext4Files) -> Finding:
    entry = root.lstat("/etc/machine-id")
    ok = entry is not None and entry.is_file and entry.size == 0
    return Finding("root", "machine-id left empty (each kiosk makes its own)", ok,
                   "empty" if ok else "missing, or the build machine's id is in the image")  # fmt: skip


def check_slot_b(slot: Ext4Files) -> Finding:
    try:
        label = slot.label()
    except Ext4Error:
        return Finding("root", "root slot B", True, "empty: the first update fills it")
    return Finding("root", "root slot B", True, f"ext4 {label or 'without a label'}: an update is in it")


def check_data(data: Ext4Files, root: Ext4Files) -> list[Finding]:
    try:
        label = data.label()
    except Ext4Error as error:
        return [Finding("data", "data partition is ext4", False, str(error))]
    passwd = root.text("/etc/passwd") or ""
    kiosk_uid = next(
        (int(f[2]) for line in passwd.splitlines() if (f := line.split(":"))[0] == "kiosk"), None
    )
    missing = [name for name in DATA_FOLDERS if not _is_dir(data, f"/{name}")]
    kiosk, updates = data.stat("/kiosk"), data.stat("/updates")
    owners = [e.uid for e in (kiosk, updates) if e is not None]
    owned = kiosk_uid is not None and owners == [kiosk_uid, kiosk_uid]
    private = kiosk is not None and kiosk.mode & 0o077 == 0
    problems = [f"missing {missing}"] if missing else []
    problems += [] if owned else [f"kiosk/ and updates/ owned by {owners}, the station's user is {kiosk_uid}"]
    problems += [] if private else ["kiosk/ is open to other users (0700 expected)"]
    return [
        Finding("data", "data partition is ext4", label == "kiosk-data", f"label {label or 'none'}"),
        Finding("data", "data folders, owned by the station's user", not problems,
                "; ".join(problems) or f"{', '.join(DATA_FOLDERS)}; kiosk/ 0700 uid {kiosk_uid}"),
    ]  # fmt: skip


def _is_dir(files: Ext4Files, path: str) -> bool:
    entry = files.stat(path)
    return entry is not None and entry.is_dir
