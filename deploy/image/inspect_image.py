"""Look inside a kiosk image without booting or mounting it: is it laid out the way a kiosk boots?

    python3 deploy/image/inspect_image.py IMAGE [--arch amd64|arm64] [--json]

Reads the partition table (``sfdisk --json``), the FAT boot partition (mtools: the Raspberry Pi's
firmware, ``config.txt``, ``cmdline.txt``, kernel, initramfs and device trees, or on amd64 GRUB, its menu
and its environment), root slot A and the data partition (e2fsprogs' debugfs, read-only: the read-only
``fstab``, the station's units and watchdog, the masked logins, the venv, RAUC's slots, the architecture
of the programs). Works as any user on the image file (or a card written with kiosk-flash); nothing is
mounted or changed. Prints one line per check, what was found and what to do; ``--json`` one object.
Exit status 0 when every check passed, 1 when one failed, 2 when the file is no kiosk image at all.
(The name is not ``inspect.py``: run as a script, that would shadow Python's own ``inspect`` module.)
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
from dataclasses import asdict
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repository's modules
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from deploy.flash import disk as disks
from deploy.image import inspect_root
from deploy.image.ext4_files import Ext4Error, Ext4Files
from deploy.image.inspect_root import Finding, Layout

__all__ = ["Finding", "Layout", "inspect", "main"]

ESP_TYPE = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
LINUX_ROOT_X86_64 = "4f68bce3-e8cd-4db1-96e7-fbcaf984b709"
MIB = 2**20
PI4_FIRMWARE = ("start4.elf", "fixup4.dat")  # what a Raspberry Pi 4's boot ROM / EEPROM loads first
PI4_DTB = "bcm2711-rpi-4-b.dtb"
CONFIG_TXT = ("arm_64bit=1", "kernel=vmlinuz", "initramfs initrd.img followkernel", "include slot.txt")


def read_layout(image: Path, arch: str | None) -> Layout:
    """The partition table as the recipe's layout.sh made it; raises DiskError when there is none."""
    table = disks.partition_table(image)
    label = str(table.get("label", ""))
    guessed = {"gpt": "amd64", "dos": "arm64"}.get(label, "")
    return Layout(image, table, label, arch or guessed, disks.partitions(image))


def check_partitions(layout: Layout) -> list[Finding]:
    parts, findings = layout.parts, []
    expected = {"amd64": "gpt", "arm64": "dos"}.get(layout.arch)
    findings.append(
        Finding("layout", "partition table", expected == layout.label,
                f"{layout.label or 'none'} for {layout.arch or 'an unknown architecture'}"
                + ("" if expected == layout.label else f": a kiosk image for {layout.arch} has {expected}"))
    )  # fmt: skip
    if len(parts) != 4:
        findings.append(
            Finding("layout", "four partitions: boot, root A, root B, data", False,
                    f"{len(parts)} partitions: not an image from deploy/image/build.sh (build it again)")
        )  # fmt: skip
        return findings
    sizes = ", ".join(
        f"{n} {p.size // MIB} MiB" for n, p in zip(("boot", "A", "B", "data"), parts, strict=True)
    )
    aligned = all(p.start % MIB == 0 and p.size % MIB == 0 for p in parts)
    ordered = all(a.start + a.size <= b.start for a, b in itertools.pairwise(parts))
    inside = parts[-1].start + parts[-1].size <= layout.image.stat().st_size
    findings.append(
        Finding("layout", "four partitions: boot, root A, root B, data", aligned and ordered and inside,
                sizes + ("" if aligned else "; not aligned to 1 MiB") + ("" if ordered else "; overlapping")
                + ("" if inside else "; the last partition runs past the end of the file (cut short?)"))
    )  # fmt: skip
    boot_type = parts[0].type.lower()
    bootable = bool(layout.table["partitions"][0].get("bootable")) if layout.label == "dos" else True
    fat = boot_type == ESP_TYPE if layout.label == "gpt" else boot_type in ("b", "c")
    flag = "" if bootable else ", not marked bootable (the Pi's ROM needs it)"
    findings.append(
        Finding("layout", "boot partition is FAT and first", fat and bootable, f"type {parts[0].type}{flag}")
    )
    same = parts[1].size == parts[2].size
    findings.append(
        Finding("layout", "root slots A and B the same size", same,
                f"{parts[1].size // MIB} and {parts[2].size // MIB} MiB"
                + ("" if same else ": an update of A's size would not fit into B"))
    )  # fmt: skip
    return findings


def check_boot(layout: Layout) -> list[Finding]:
    try:
        boot = disks.boot_partition(layout.image)
        names = disks.list_files(boot)
    except disks.DiskError as error:
        return [Finding("boot", "boot partition readable", False, str(error))]
    findings = [
        Finding("boot", "boot partition readable", True,
                f"{len(names)} files; label {disks.volume_label(boot) or 'none'}"),
        Finding("boot", "kiosk/ folder for kiosk-flash", "kiosk/device-example.toml" in names,
                "kiosk/device.toml present: a written card" if "kiosk/device.toml" in names
                else "settings written at flash time"),
    ]  # fmt: skip
    if layout.arch == "amd64":
        return findings + _check_grub(layout, boot, names)
    return findings + _check_pi(layout, boot, names)


def _read(boot: disks.BootPartition, name: str) -> bytes:
    try:
        return disks.read_file(boot, name)
    except disks.DiskError:
        return b""


def _check_grub(layout: Layout, boot: disks.BootPartition, names: set[str]) -> list[Finding]:
    efi = _read(boot, "EFI/BOOT/BOOTX64.EFI")
    menu = _read(boot, "EFI/kiosk/grub.cfg").decode(errors="replace")
    env = _read(boot, "EFI/kiosk/grubenv")
    uuids = [str(entry.get("uuid", "")).lower() for entry in layout.table["partitions"][1:3]]
    named = [f"set rootuuid={uuid}" in menu.lower() for uuid in uuids]
    return [
        Finding("boot", "UEFI loader EFI/BOOT/BOOTX64.EFI", efi[:2] == b"MZ",
                f"{len(efi)} bytes" if efi[:2] == b"MZ" else "missing or no EFI program"),
        Finding("boot", "GRUB menu names both root slots", all(named) and bool(menu),
                "EFI/kiosk/grub.cfg: slot A and B by PARTUUID" if all(named)
                else f"EFI/kiosk/grub.cfg does not name the partitions' UUIDs {uuids}"),
        Finding("boot", "GRUB skips a slot without a kernel", "/vmlinuz -a -f" in menu,
                "the menu looks for vmlinuz and initrd.img before it boots a slot" if "/vmlinuz -a -f" in menu
                else "an older menu: a slot without a kernel would stop at GRUB's prompt"),
        Finding("boot", "GRUB environment (RAUC's slot state)",
                len(env) == 1024 and env.startswith(b"# GRUB Environment Block") and b"A_OK=1" in env,
                " ".join(re.findall(r"[A-Z_]+=[^\n#]*", env.decode(errors="replace")))
                or "EFI/kiosk/grubenv missing"),
    ]  # fmt: skip


def _kernel_kind(data: bytes) -> str:
    if len(data) >= 64 and data[56:60] == b"ARM\x64":
        return "arm64 Image"
    if data[:2] == b"\x1f\x8b":
        return "gzip-compressed"
    if data[:2] == b"MZ" and data[4:8] == b"zimg":
        return "EFI zboot"
    return ""


def _initramfs_kind(data: bytes) -> str:
    kinds = {b"070701": "cpio", b"\x28\xb5\x2f\xfd": "zstd", b"\x1f\x8b": "gzip", b"\xfd7zXZ": "xz"}
    return next((kind for magic, kind in kinds.items() if data.startswith(magic)), "")


def _check_pi(layout: Layout, boot: disks.BootPartition, names: set[str]) -> list[Finding]:
    slot = _read(boot, "slot.txt").decode(errors="replace").strip()
    prefix = slot.removeprefix("os_prefix=") if slot.startswith("os_prefix=") else "a/"
    return [
        _pi_firmware(names),
        _pi_config(boot),
        Finding("boot", "slot.txt names the slot's folder", slot in ("os_prefix=a/", "os_prefix=b/"),
                slot or "slot.txt missing: the firmware would look for the kernel at the top"),
        _pi_cmdline(layout, boot, prefix),
        *_pi_kernel(boot, prefix),
        _pi_device_tree(boot, names, prefix, _read(boot, "config.txt").decode(errors="replace")),
    ]  # fmt: skip


def _pi_firmware(names: set[str]) -> Finding:
    firmware = sorted(n for n in names if "/" not in n and n.endswith((".elf", ".dat", ".bin")))
    missing = [name for name in PI4_FIRMWARE if name not in names]
    if missing:
        said = f"missing {missing}: raspi-firmware (non-free-firmware) was not installed"
    else:
        said = f"{len(firmware)} files ({', '.join(firmware[:6])}{', ...' if len(firmware) > 6 else ''})"
    return Finding("boot", "Raspberry Pi 4 firmware", not missing, said)


def _pi_config(boot: disks.BootPartition) -> Finding:
    config = _read(boot, "config.txt").decode(errors="replace")
    lacking = [line for line in CONFIG_TXT if line not in config.splitlines()]
    said = f"config.txt lacks {lacking}" if lacking else "64-bit, kernel and initramfs from the slot's folder"
    return Finding("boot", "config.txt", not lacking, said if config else "config.txt missing")


def _pi_cmdline(layout: Layout, boot: disks.BootPartition, prefix: str) -> Finding:
    cmdline = _read(boot, f"{prefix}cmdline.txt").decode(errors="replace").split()
    disk_id = str(layout.table.get("id", "")).lower().removeprefix("0x")
    want_root = f"root=PARTUUID={disk_id}-0{2 if prefix == 'a/' else 3}"
    ok = want_root in cmdline and "ro" in cmdline and any(arg.startswith("rauc.slot=") for arg in cmdline)
    said = " ".join(cmdline) or f"{prefix}cmdline.txt missing"
    return Finding(
        "boot", "cmdline.txt", ok, said if ok else f"{said} (wants {want_root}, ro and rauc.slot=)"
    )


def _pi_kernel(boot: disks.BootPartition, prefix: str) -> list[Finding]:
    kernel, initrd = _read(boot, f"{prefix}vmlinuz"), _read(boot, f"{prefix}initrd.img")
    kind, packed = _kernel_kind(kernel), _initramfs_kind(initrd)
    return [
        Finding("boot", "kernel", bool(kind),
                f"{prefix}vmlinuz: {kind}, {len(kernel) / MIB:.1f} MiB" if kind
                else f"{prefix}vmlinuz missing or no arm64 kernel"),
        Finding("boot", "initramfs", bool(packed) and len(initrd) > MIB,
                f"{prefix}initrd.img: {packed or 'unknown format'}, {len(initrd) / MIB:.1f} MiB" if initrd
                else f"{prefix}initrd.img missing"),
    ]  # fmt: skip


def _pi_device_tree(boot: disks.BootPartition, names: set[str], prefix: str, config: str) -> Finding:
    """The Pi 4's device tree in the slot's folder, and every overlay config.txt names in its overlays/
    (the firmware skips a missing one with no word on the screen: no KMS graphics, no kiosk window)."""
    tree = _read(boot, f"{prefix}{PI4_DTB}")[:4] == b"\xd0\x0d\xfe\xed"  # the flattened device tree magic
    wanted = re.findall(r"^\s*dtoverlay=([\w-]+)", config, flags=re.M)
    missing = [path for name in wanted if (path := f"{prefix}overlays/{name}.dtbo") not in names]
    if not tree:
        said = f"missing {prefix}{PI4_DTB} (kiosk-pi-boot install-kernel puts it there)"
    elif missing:
        said = f"config.txt names overlays the slot lacks: {', '.join(missing)}"
    else:
        said = f"{prefix}{PI4_DTB}" + (f"; overlays {', '.join(wanted)}" if wanted else "; no overlays named")
    return Finding("boot", "Pi 4 device tree and config.txt's overlays", tree and not missing, said)


def inspect(image: Path, arch: str | None = None) -> list[Finding]:
    """Every check, layout first. Raises DiskError when the file has no partition table at all."""
    layout = read_layout(image, arch)
    findings = check_partitions(layout)
    if len(layout.parts) != 4:
        return findings
    findings += check_boot(layout)
    root = Ext4Files(image, layout.parts[1].start)
    try:
        label = root.label()
    except Ext4Error as error:
        return [*findings, Finding("root", "root slot A is ext4", False, str(error))]
    findings.append(Finding("root", "root slot A is ext4", label == "kiosk-root", f"label {label or 'none'}"))
    findings += inspect_root.check_root(layout, root)
    findings.append(inspect_root.check_slot_b(Ext4Files(image, layout.parts[2].start)))
    findings += inspect_root.check_data(Ext4Files(image, layout.parts[3].start), root)
    return findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", type=Path)
    parser.add_argument("--arch", choices=["amd64", "arm64"], help="default: from the partition table")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    args = parser.parse_args(argv)
    if not args.image.is_file():
        print(f"inspect_image: {args.image}: no such file (make image ARCH=...)", file=sys.stderr)
        return 2
    try:
        findings = inspect(args.image, args.arch)
    except (disks.DiskError, Ext4Error) as error:
        print(f"inspect_image: {error}", file=sys.stderr)
        return 2
    ok = all(finding.ok for finding in findings)
    if args.json:
        print(json.dumps({"image": str(args.image), "ok": ok, "checks": [asdict(f) for f in findings]}))
    else:
        for finding in findings:
            print(f"{'ok  ' if finding.ok else 'FAIL'}  {finding.area:<6} {finding.check}: {finding.said}")
        print(f"{args.image}: {'a kiosk image' if ok else 'NOT as a kiosk image should be'} "
              f"({sum(f.ok for f in findings)} of {len(findings)} checks passed)")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
