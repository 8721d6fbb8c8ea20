"""kiosk-firstboot: make a freshly flashed kiosk its own, then enroll it with the gateway.

Runs at every boot until it has finished once (kiosk-firstboot.service), and again whenever a new
kiosk/device.toml is put on the boot partition. Each step may be repeated safely:

1. grow the data partition to the card's size;
2. keep the machine-id on the data partition (the root is read-only);
3. move the device configuration's secrets from the boot partition to the data partition;
4. enroll with the gateway, or tell the technician what is missing (no network, DNS, gateway down).

Exit status: 0 done; 75 waiting for the network (systemd retries); 65 the gateway refused the code (no
retry: a technician must act); 1 any other failure (retried). /run/kiosk/firstboot.json says the same for
the station's technician screen and for kiosk doctor.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
from pathlib import Path

from deploy.firstboot import grow
from deploy.firstboot.enroll import EnrollFailed, NetworkMissing, enroll, reach_gateway
from deploy.firstboot.files import Layout, atomic_write, find_boot, status
from deploy.firstboot.settings import adopt_device_config
from deploy.flash.device_config import DeviceConfig, DeviceConfigError

__all__ = ["main", "run"]

EXIT_WAITING, EXIT_REFUSED, EXIT_FAILED = 75, 65, 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk-firstboot", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--boot", type=Path, help="the mounted boot partition (default: /boot/firmware or /boot/efi)"
    )
    parser.add_argument("--data", type=Path, default=Path("/data"), help="the data partition (default /data)")
    parser.add_argument("--run-dir", type=Path, default=Path("/run/kiosk"), help="where the status file goes")
    parser.add_argument("--no-grow", action="store_true", help="leave the data partition's size alone")
    parser.add_argument(
        "--no-services", action="store_true", help="do not (re)start Wi-Fi, SSH or set the hostname"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        boot = args.boot or find_boot()
    except FileNotFoundError as error:
        print(f"kiosk-firstboot: {error}", file=sys.stderr)
        return EXIT_FAILED
    layout = Layout(boot=boot, data=args.data, run=args.run_dir)
    return run(layout, grow_data=not args.no_grow, services=not args.no_services)


def run(layout: Layout, *, grow_data: bool = True, services: bool = True) -> int:
    try:
        if grow_data:
            _grow(layout)
        _keep_machine_id(layout)
        config = adopt_device_config(layout)
    except (DeviceConfigError, grow.GrowFailed, OSError) as error:
        return _fail(layout, "setup-failed", f"First boot could not set up this kiosk: {error}", EXIT_FAILED)
    if config is None:
        return _fail(
            layout,
            "no-device-config",
            "This kiosk has no settings: write its device configuration to the card with kiosk-flash.",
            EXIT_REFUSED,
        )
    if services:
        _apply_services(layout, config)
    if layout.token_file.exists() and not layout.code_file.exists():
        return _done(layout, config)
    return _enroll(layout, config)


def _enroll(layout: Layout, config: DeviceConfig) -> int:
    status(layout, "enrolling", f"Connecting to the gateway {config.gateway_url} ...")
    try:
        reach_gateway(config.gateway_url, patience=20.0)
        enroll(layout, config)
    except NetworkMissing as error:
        return _fail(layout, "no-network", str(error), EXIT_WAITING)
    except EnrollFailed as error:
        code = EXIT_REFUSED if error.permanent else EXIT_FAILED
        return _fail(layout, "enroll-refused" if error.permanent else "enroll-failed", str(error), code)
    except OSError as error:
        return _fail(layout, "enroll-failed", f"enrollment failed: {error}", EXIT_FAILED)
    return _done(layout, config)


def _done(layout: Layout, config: DeviceConfig) -> int:
    atomic_write(layout.done_file, b"", mode=0o644)
    status(layout, "done", f"{config.name} ({config.library}) is enrolled with {config.gateway_url}.")
    print(f"kiosk-firstboot: {config.describe()}: enrolled, set up")
    return 0


def _fail(layout: Layout, state: str, message: str, code: int) -> int:
    print(f"kiosk-firstboot: {message}", file=sys.stderr)
    try:
        status(layout, state, message)
    except OSError as error:
        print(f"kiosk-firstboot: cannot write the status file: {error}", file=sys.stderr)
    return code


def _grow(layout: Layout) -> None:
    marker = layout.kiosk / "data-grown"
    if marker.exists():
        return
    grow.grow(grow.partition_of(layout.data))
    atomic_write(marker, b"", mode=0o644)


def _keep_machine_id(layout: Layout) -> None:
    kept = layout.data / "machine-id"
    if kept.exists() or not layout.etc_machine_id.exists():
        return
    machine_id = layout.etc_machine_id.read_text().strip()
    if len(machine_id) == 32:
        atomic_write(kept, f"{machine_id}\n".encode(), mode=0o444)


def _apply_services(layout: Layout, config: DeviceConfig) -> None:
    """Best effort: the settings take effect now, without a reboot (a failure here is logged, not fatal)."""
    if socket.gethostname() != config.hostname:
        _quiet(["hostnamectl", "--transient", "set-hostname", config.hostname])
    if layout.wifi_file.exists():
        _quiet(["systemctl", "restart", "--no-block", "wpa_supplicant@wlan0.service"])
    if layout.ssh_keys_file.exists():
        _quiet(["systemctl", "start", "--no-block", "ssh.service"])
    else:
        _quiet(["systemctl", "stop", "--no-block", "ssh.service"])


def _quiet(command: list[str]) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        print(f"kiosk-firstboot: {' '.join(command)}: {error}", file=sys.stderr)
        return
    if done.returncode != 0:
        print(f"kiosk-firstboot: {' '.join(command)}: {done.stderr.strip()}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
