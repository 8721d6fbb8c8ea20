"""kiosk-pi-boot: RAUC's boot loader backend for the Raspberry Pi (``bootloader=custom``), with tryboot.

The Pi's firmware reads config.txt, which includes ``slot.txt`` (``os_prefix=a/`` or ``b/``: the folder on
the boot partition holding that slot's kernel, initrd, device trees and cmdline.txt). ``reboot "0 tryboot"``
makes the firmware read tryboot.txt instead, for that one boot only. So a new slot is tried once: when it
reports healthy it becomes the one config.txt names; when it fails or hangs, the next (watchdog) reboot
reads config.txt again and runs the old slot. That is the boot-count fallback with a count of one.

RAUC calls: ``get-primary``, ``set-primary SLOT``, ``get-state SLOT``, ``set-state SLOT good|bad``,
``get-current``. State lives in kiosk/slots.json on the boot partition. ``install-kernel SLOT ROOT PARTUUID``
puts a slot's kernel into its folder (the build, and RAUC's post-install handler after each update).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PiBoot", "install_kernel", "main"]

SLOTS = {"A": "a/", "B": "b/"}


@dataclass
class _Slots:
    primary: str
    trying: str | None
    states: dict[str, str]


@dataclass(frozen=True)
class PiBoot:
    boot: Path = Path("/boot/firmware")
    cmdline: Path = Path("/proc/cmdline")

    @property
    def state_file(self) -> Path:
        return self.boot / "kiosk" / "slots.json"

    def current(self) -> str:
        for word in self.cmdline.read_text().split():
            if word.startswith("rauc.slot="):
                return word.split("=", 1)[1]
        raise RuntimeError("the kernel command line names no rauc.slot=")

    def primary(self) -> str:
        state = self._state()
        return state.trying or state.primary

    def set_primary(self, slot: str) -> None:
        _check(slot)
        state = self._state()
        if slot == self.current():
            self._make_permanent(state, slot)
        else:  # try it once: only a reboot with the tryboot flag reads tryboot.txt
            state.trying = slot
            self._write(self.boot / "tryboot.txt", f"include config.txt\nos_prefix={SLOTS[slot]}\n")
        self._save(state)

    def get_state(self, slot: str) -> str:
        _check(slot)
        return self._state().states.get(slot, "bad")

    def set_state(self, slot: str, verdict: str) -> None:
        _check(slot)
        if verdict not in ("good", "bad"):
            raise ValueError(f"state must be good or bad, not {verdict!r}")
        state = self._state()
        state.states[slot] = verdict
        if verdict == "good" and state.trying == slot and slot == self.current():
            self._make_permanent(state, slot)
        elif verdict == "bad" and state.trying == slot:
            state.trying = None
            (self.boot / "tryboot.txt").unlink(missing_ok=True)
        self._save(state)

    def _make_permanent(self, state: _Slots, slot: str) -> None:
        state.primary, state.trying = slot, None
        self._write(self.boot / "slot.txt", f"os_prefix={SLOTS[slot]}\n")
        (self.boot / "tryboot.txt").unlink(missing_ok=True)

    def reboot_command(self) -> list[str]:
        """How to reboot so that a slot being tried is booted (the firmware's one-time tryboot flag)."""
        if self._state().trying:
            return ["systemctl", "reboot", "0 tryboot"]
        return ["systemctl", "reboot"]

    def _state(self) -> _Slots:
        try:
            data = json.loads(self.state_file.read_text())
        except FileNotFoundError:  # the factory image: A is good, B was never written
            return _Slots("A", None, {"A": "good", "B": "bad"})
        return _Slots(
            str(data["primary"]), data.get("trying"), {k: str(v) for k, v in data["states"].items()}
        )

    def _save(self, state: _Slots) -> None:
        record = {"primary": state.primary, "trying": state.trying, "states": state.states}
        self._write(self.state_file, json.dumps(record, sort_keys=True) + "\n")

    @staticmethod
    def _write(path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        with temporary.open("w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)  # FAT: a rename within one folder replaces the entry in one write


CMDLINE = "console=tty1 root=PARTUUID={partuuid} ro rootwait rauc.slot={slot} quiet panic=10\n"


def install_kernel(boot: Path, slot: str, root: Path, partuuid: str) -> list[str]:
    """Copy a root slot's kernel, initrd, device trees and overlays into its folder on the boot partition
    (a/ or b/), with a cmdline.txt naming that slot: what the firmware loads through os_prefix."""
    _check(slot)
    target = boot / SLOTS[slot]
    staging = boot / f".{SLOTS[slot].rstrip('/')}.new"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    copied = []
    for name in ("vmlinuz", "initrd.img"):
        source = _inside(root, root / name)
        shutil.copyfile(source, staging / name)
        copied.append(name)
    modules = sorted(glob.glob(str(root / "usr/lib/linux-image-*")))
    if not modules:
        raise RuntimeError(f"{root}: no usr/lib/linux-image-* with the device trees")
    for dtb in sorted(Path(modules[-1]).glob("broadcom/bcm27*.dtb")):
        shutil.copyfile(dtb, staging / dtb.name)
        copied.append(dtb.name)
    if (Path(modules[-1]) / "overlays").is_dir():
        shutil.copytree(Path(modules[-1]) / "overlays", staging / "overlays")
        copied.append("overlays/")
    (staging / "cmdline.txt").write_text(CMDLINE.format(partuuid=partuuid, slot=slot))
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return copied


def _inside(root: Path, link: Path) -> Path:
    """Follow a symlink (such as /vmlinuz -> boot/vmlinuz-6.1...) inside a root that is not mounted at /."""
    path = link
    for _ in range(10):
        if not path.is_symlink():
            return path
        target = Path(os.readlink(path))
        path = root / target.relative_to("/") if target.is_absolute() else path.parent / target
    raise RuntimeError(f"{link}: too many symbolic links")


def _check(slot: str) -> None:
    if slot not in SLOTS:
        raise ValueError(f"unknown slot {slot!r}: the kiosk has A and B")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    boot = PiBoot(Path(os.environ.get("KIOSK_PI_BOOT", "/boot/firmware")))
    try:
        match args:
            case ["get-primary"]:
                print(boot.primary())
            case ["set-primary", slot]:
                boot.set_primary(slot)
            case ["get-state", slot]:
                print(boot.get_state(slot))
            case ["set-state", slot, verdict]:
                boot.set_state(slot, verdict)
            case ["get-current"]:
                print(boot.current())
            case ["install-kernel", slot, root, partuuid]:
                print(", ".join(install_kernel(boot.boot, slot, Path(root), partuuid)))
            case _:
                print(
                    "usage: kiosk-pi-boot get-primary | set-primary SLOT | get-state SLOT | "
                    "set-state SLOT good|bad | get-current",
                    file=sys.stderr,
                )
                return 2
    except (ValueError, RuntimeError, OSError) as error:
        print(f"kiosk-pi-boot: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
