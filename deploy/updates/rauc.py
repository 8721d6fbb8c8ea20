"""RAUC, the updater (Debian's ``rauc`` package), driven through its command line.

RAUC checks each bundle's signature against the keyring in /etc/rauc/system.conf before anything is
written, installs into the slot that is not running, and tells the boot loader to try it once.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "BundleInfo",
    "RaucError",
    "SlotState",
    "bundle_info",
    "check_payload",
    "install",
    "make_bundle",
    "mark",
    "slots",
]


class RaucError(RuntimeError):
    """RAUC refused or failed; the message is RAUC's own last line, which names the cause."""


@dataclass(frozen=True)
class SlotState:
    name: str  # rootfs.0
    bootname: str  # A
    booted: bool
    boot_status: str  # good, bad or "" when unknown
    version: str  # the bundle version installed there, "" for the factory image


@dataclass(frozen=True)
class BundleInfo:
    compatible: str
    version: str


def slots(*, conf: Path | None = None) -> list[SlotState]:
    data = json.loads(_rauc(["status", "--detailed", "--output-format=json"], conf=conf))
    booted = data.get("booted", "")
    states = []
    for entry in data.get("slots", []):
        for name, slot in entry.items():
            status = slot.get("slot_status", {}) or {}
            bundle = status.get("bundle", {}) or {}
            states.append(
                SlotState(
                    name=name,
                    bootname=str(slot.get("bootname") or ""),
                    booted=str(slot.get("bootname") or "") == booted and slot.get("state") == "booted",
                    boot_status=str(slot.get("boot_status") or ""),
                    version=str(bundle.get("version") or ""),
                )
            )
    return states


def bundle_info(bundle: Path, *, keyring: Path | None = None, conf: Path | None = None) -> BundleInfo:
    """The bundle's compatible and version, once RAUC verified its signature (raises when untrusted)."""
    args = ["info", "--output-format=json", str(bundle)]
    if keyring is not None:
        args.insert(0, f"--keyring={keyring}")
    data: dict[str, Any] = json.loads(_rauc(args, conf=conf))
    return BundleInfo(compatible=str(data.get("compatible", "")), version=str(data.get("version", "")))


def check_payload(bundle: Path, *, keyring: Path | None = None, conf: Path | None = None) -> None:
    """Read the whole payload through its verity hash tree (RAUC checks only the signature in `info`;
    an install checks the payload as it writes). Needs room for one root image in the temp folder."""
    with tempfile.TemporaryDirectory(prefix="kiosk-bundle-check-") as folder:
        args = ["extract", str(bundle), str(Path(folder) / "content")]
        if keyring is not None:
            args.insert(0, f"--keyring={keyring}")
        _rauc(args, conf=conf, timeout=1800)


def install(bundle: Path, *, conf: Path | None = None) -> None:
    _rauc(["install", str(bundle)], conf=conf, timeout=1800)


def mark(verdict: str, slot: str = "booted", *, conf: Path | None = None) -> None:
    if verdict not in ("good", "bad", "active"):
        raise ValueError(f"unknown verdict {verdict!r}")
    _rauc(["status", f"mark-{verdict}", slot], conf=conf)


def make_bundle(
    rootfs_image: Path,
    out: Path,
    *,
    compatible: str,
    version: str,
    cert: Path,
    key: Path,
    keyring: Path | None,
) -> None:
    """A signed verity bundle holding one root file system image."""
    with tempfile.TemporaryDirectory(prefix="kiosk-bundle-") as folder:
        content = Path(folder) / "content"
        content.mkdir()
        image = content / "rootfs.ext4"
        try:
            image.hardlink_to(rootfs_image)  # a root image is large: no copy when it is on the same disk
        except OSError:
            shutil.copyfile(rootfs_image, image)
        (content / "manifest.raucm").write_text(
            "[update]\n"
            f"compatible={compatible}\n"
            f"version={version}\n\n"
            "[bundle]\nformat=verity\n\n"
            "[image.rootfs]\nfilename=rootfs.ext4\n"
        )
        # zstd at level 6: smaller than squashfs' default gzip, quick to make, quicker to unpack on a Pi
        # (Debian's kernels read it: CONFIG_SQUASHFS_ZSTD).
        args = [
            "bundle",
            f"--cert={cert}",
            f"--key={key}",
            "--mksquashfs-args=-comp zstd -Xcompression-level 6",
            str(content),
            str(out),
        ]
        if keyring is not None:
            args.insert(1, f"--keyring={keyring}")
        _rauc(args, conf=None, timeout=1800)


def _rauc(args: list[str], *, conf: Path | None, timeout: float = 120) -> str:
    command = ["rauc", *([f"--conf={conf}"] if conf else []), *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError as error:
        raise RaucError("rauc is not installed (apt-get install rauc)") from error
    except subprocess.TimeoutExpired as error:
        raise RaucError(f"rauc {args[0]} did not finish in {timeout:.0f} s") from error
    if done.returncode != 0:
        lines = [line for line in (done.stdout + "\n" + done.stderr).strip().splitlines() if line.strip()]
        said = lines[-1] if lines else f"exit status {done.returncode}"
        if "signature verification failed" in said:
            raise RaucError(f"the bundle is not signed by a key this kiosk trusts (RAUC: {said})")
        if "payload is corrupted" in said:
            raise RaucError(f"the bundle is damaged: its contents do not match its signed hash ({said})")
        raise RaucError(f"rauc {args[0]}: {said}")
    return done.stdout
