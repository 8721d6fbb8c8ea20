"""kiosk-update: A/B updates of the kiosk's root (RAUC), between patron sessions, rolled back if unhealthy.

    kiosk-update status [--json]                 the slots, which one runs, versions, a pending update
    kiosk-update verify BUNDLE [--keyring PEM]   check a bundle's signature and say what it holds
    kiosk-update install BUNDLE [--wait S] [--no-reboot] [--force]
    kiosk-update fetch [--channel C]             as the station's user: download, check, flag the update
    kiosk-update install-pending [--wait S]      as root (kiosk-update-install.path): install it
    kiosk-update health-check [--timeout S]      after boot: keep the new slot or roll back
    kiosk-update make-bundle ROOT.ext4 --version V --cert C --key K --out B [--compatible C]

Exit status: 0 done; 2 bad arguments; 3 not now (a patron is at the kiosk); 4 rolled back; 1 failure.
"""

from __future__ import annotations

import argparse
import json
import stat
import subprocess
import sys
import time
from pathlib import Path

from deploy.updates import rauc
from deploy.updates.folder import UPDATES, UpdateFolder
from deploy.updates.pi_boot import PiBoot
from deploy.updates.policy import (
    Pending,
    StationState,
    mark_updating,
    patron_session_active,
    station_health,
    station_out_of_service,
)

__all__ = ["main"]

EXIT_BUSY, EXIT_ROLLED_BACK, EXIT_FAILED = 3, 4, 1
STATION_CONFIG = Path("/data/kiosk/kiosk.toml")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk-update", description="A/B updates of the kiosk (RAUC)")
    parser.add_argument("--conf", type=Path, help="RAUC system.conf (default: RAUC's /etc/rauc/system.conf)")
    parser.add_argument("--run-dir", type=Path, default=Path("/run/kiosk"), help=argparse.SUPPRESS)
    parser.add_argument("--pending-file", type=Path, default=Pending().path, help=argparse.SUPPRESS)
    parser.add_argument("--updates-dir", type=Path, default=UPDATES, help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True)
    status = commands.add_parser("status", help="slots, versions, the booted one")
    status.add_argument("--json", action="store_true")
    verify = commands.add_parser("verify", help="check a bundle's signature")
    verify.add_argument("bundle", type=Path)
    verify.add_argument("--keyring", type=Path, help="default: the kiosk's /etc/rauc/keyring.pem")
    verify.add_argument("--payload", action="store_true", help="also read the whole payload against its hash")
    install = commands.add_parser("install", help="install a bundle between patron sessions")
    install.add_argument("bundle", type=Path)
    install.add_argument("--wait", type=float, default=0, help="seconds to wait for the patron to finish")
    install.add_argument("--no-reboot", action="store_true", help="install, but reboot later")
    install.add_argument("--force", action="store_true", help="even while a patron is at the kiosk")
    fetch = commands.add_parser("fetch", help="download the gateway's current update and flag it")
    fetch.add_argument("--config", type=Path, default=STATION_CONFIG, help="the station's kiosk.toml")
    fetch.add_argument("--channel", default="stable")
    fetch.add_argument("--keyring", type=Path, help="default: the kiosk's /etc/rauc/keyring.pem")
    pending = commands.add_parser("install-pending", help="install the fetched update between sessions")
    pending.add_argument("--wait", type=float, default=0, help="seconds to wait for the patron to finish")
    pending.add_argument("--no-reboot", action="store_true", help=argparse.SUPPRESS)
    health = commands.add_parser("health-check", help="keep the booted slot, or roll back")
    health.add_argument("--timeout", type=float, default=300)
    health.add_argument("--settle", type=float, default=60)
    health.add_argument("--no-reboot", action="store_true")
    bundle = commands.add_parser("make-bundle", help="build a signed bundle from a root file system image")
    bundle.add_argument("rootfs", type=Path)
    bundle.add_argument("--version", required=True)
    bundle.add_argument("--compatible", default="library-kiosk-amd64")
    bundle.add_argument("--cert", type=Path, required=True)
    bundle.add_argument("--key", type=Path, required=True)
    bundle.add_argument("--keyring", type=Path, help="check the new bundle against this keyring")
    bundle.add_argument("--out", type=Path, required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(_COMMANDS[args.command](args))
    except rauc.RaucError as error:
        print(f"kiosk-update: {error}", file=sys.stderr)
        return EXIT_FAILED


def _status(args: argparse.Namespace) -> int:
    slots = rauc.slots(conf=args.conf)
    pending = Pending(args.pending_file).read()
    if args.json:
        print(json.dumps({"slots": [vars(slot) for slot in slots], "pending": pending}))
        return 0
    for slot in slots:
        running = "running" if slot.booted else "       "
        version = slot.version or "factory image"
        print(f"{slot.bootname} ({slot.name}) {running} {slot.boot_status or 'unknown':7} {version}")
    if pending:
        print(f"update to {pending.get('version')} in slot {pending.get('slot')} waits for its health check")
    return 0


def _verify(args: argparse.Namespace) -> int:
    info = rauc.bundle_info(args.bundle, keyring=args.keyring, conf=args.conf)
    if args.payload:
        rauc.check_payload(args.bundle, keyring=args.keyring, conf=args.conf)
    checked = "signature trusted, payload intact" if args.payload else "signature trusted"
    print(f"{args.bundle}: {checked}; {info.compatible} version {info.version}")
    return 0


def _install(args: argparse.Namespace) -> int:
    return _install_bundle(args, args.bundle, wait=args.wait, force=args.force, reboot=not args.no_reboot)


def _fetch(args: argparse.Namespace) -> int:
    from deploy.updates.fetch import FetchError, fetch, kiosk_arch, system_compatible
    from kiosk.config import ConfigError
    from kiosk.config import load as load_station_config

    try:
        settings = load_station_config(args.config).gateway_settings()
        result = fetch(
            settings,
            UpdateFolder(args.updates_dir),
            channel=args.channel,
            arch=kiosk_arch(),
            compatible=system_compatible(args.conf),
            keyring=args.keyring,
            conf=args.conf,
        )
    except (ConfigError, FetchError) as error:
        print(f"kiosk-update: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"kiosk-update: {result.message}")
    return 0


def _install_pending(args: argparse.Namespace) -> int:
    folder = UpdateFolder(args.updates_dir)
    try:
        mode = folder.pending_bundle.lstat().st_mode
    except FileNotFoundError:
        print("kiosk-update: no update waiting")
        return 0
    info = folder.read(folder.pending_info)
    version, digest = str(info.get("version", "")), str(info.get("sha256", ""))
    if not stat.S_ISREG(mode):  # the folder is the station user's: never follow a link it put there
        folder.pending_bundle.unlink()
        folder.reject(version, digest, "the waiting update was not a regular file")
        print("kiosk-update: the waiting update is not a regular file; removed", file=sys.stderr)
        return EXIT_FAILED
    try:
        return _install_bundle(
            args, folder.pending_bundle, wait=args.wait, force=False, reboot=not args.no_reboot,
            folder=folder, sha256=digest,
        )  # fmt: skip
    except rauc.RaucError as error:  # refused or failed: not tried again (rejected.json), nor left to loop
        refused = folder.installing_bundle if folder.installing_bundle.exists() else folder.pending_bundle
        refused.unlink(missing_ok=True)
        folder.reject(version, digest, str(error))
        raise


def _install_bundle(
    args: argparse.Namespace,
    bundle: Path,
    *,
    wait: float,
    force: bool,
    reboot: bool,
    folder: UpdateFolder | None = None,
    sha256: str = "",
) -> int:
    state = StationState(args.run_dir)
    info = rauc.bundle_info(bundle, conf=args.conf)  # signature first: nothing untrusted waits around
    if not _window(state, wait=wait, force=force):
        print("kiosk-update: a patron is using the kiosk; the update waits for the end of the session")
        return EXIT_BUSY
    try:
        if folder is not None:  # a newer download may arrive as pending.raucb while this one installs
            bundle.replace(folder.installing_bundle)
            bundle = folder.installing_bundle
        rauc.install(bundle, conf=args.conf)
    except BaseException:
        mark_updating(state, False)
        raise
    if folder is not None:
        bundle.unlink(missing_ok=True)
    target = next((slot.bootname for slot in rauc.slots(conf=args.conf) if not slot.booted), "?")
    Pending(args.pending_file).record(target, info.version, sha256)
    print(f"kiosk-update: installed {info.version} into slot {target}; it is kept only if it boots healthy")
    if reboot:
        _reboot()  # the marker stays: no patron starts a session on a kiosk about to restart
    else:
        mark_updating(state, False)
    return 0


def _window(state: StationState, *, wait: float, force: bool) -> bool:
    """Mark /run/kiosk/updating once no patron session runs, and go on when the station has answered that
    it is out of service (it then starts no session: kiosk/service/updating.py). Marked first, looked
    second: a patron who came in between keeps their session, and the mark goes until they have left."""
    deadline = time.monotonic() + wait
    while True:
        if force or not patron_session_active(state):
            mark_updating(state, True)
            if force or station_out_of_service(state):
                return True
            mark_updating(state, False)
        if time.monotonic() >= deadline:
            return False
        time.sleep(1)


def _health_check(args: argparse.Namespace) -> int:
    pending_store = Pending(args.pending_file)
    pending = pending_store.read()
    booted = next((slot for slot in rauc.slots(conf=args.conf) if slot.booted), None)
    if booted is None:
        print("kiosk-update: RAUC does not know which slot is running; nothing to check", file=sys.stderr)
        return EXIT_FAILED
    folder = UpdateFolder(args.updates_dir)
    if pending and pending.get("slot") != booted.bootname:
        # The boot loader gave up on the new slot (it never came this far) and fell back to this one.
        # Mark it bad and this one active, or with both slots' tries used up the boot loader would take
        # the first in its order, the broken one, at every boot; then keep this slot as usual.
        rauc.mark("bad", "other", conf=args.conf)
        rauc.mark("active", "booted", conf=args.conf)
        pending_store.clear()
        folder.reject(pending.get("version", ""), pending.get("sha256", ""), "it did not boot")
        print(
            f"kiosk-update: the update to {pending.get('version')} did not boot; "
            f"running slot {booted.bootname}"
        )
        return _keep_or_fail(args, booted.bootname, None, folder, rolled_back=True)
    return _keep_or_fail(args, booted.bootname, pending, folder, rolled_back=False)


def _keep_or_fail(
    args: argparse.Namespace,
    slot: str,
    pending: dict[str, str] | None,
    folder: UpdateFolder,
    *,
    rolled_back: bool,
) -> int:
    pending_store = Pending(args.pending_file)
    health = station_health(StationState(args.run_dir), timeout=args.timeout, settle=args.settle)
    if health.healthy:
        rauc.mark("good", conf=args.conf)
        if pending:
            folder.write(folder.installed_info, {**pending, "kept_at": time.time()})
        pending_store.clear()
        print(f"kiosk-update: slot {slot} is good: {health.reason}")
        return EXIT_ROLLED_BACK if rolled_back else 0
    if not pending:
        print(
            f"kiosk-update: the station is not healthy ({health.reason}), "
            "but there is nothing to roll back to"
        )
        return EXIT_FAILED
    rauc.mark("bad", conf=args.conf)
    rauc.mark("active", "other", conf=args.conf)
    pending_store.clear()
    folder.reject(pending.get("version", ""), pending.get("sha256", ""), f"rolled back: {health.reason}")
    print(f"kiosk-update: rolling back from {pending.get('version')}: {health.reason}")
    if not args.no_reboot:
        _reboot()
    return EXIT_ROLLED_BACK


def _reboot() -> None:
    """A Raspberry Pi tries a new slot only when rebooted with the firmware's tryboot flag."""
    pi = PiBoot()
    command = pi.reboot_command() if (pi.boot / "config.txt").exists() else ["systemctl", "reboot"]
    subprocess.run(command, check=False, timeout=60)


def _make_bundle(args: argparse.Namespace) -> int:
    if not args.rootfs.is_file():
        print(f"kiosk-update: {args.rootfs}: no such root file system image", file=sys.stderr)
        return 2
    rauc.make_bundle(
        args.rootfs,
        args.out,
        compatible=args.compatible,
        version=args.version,
        cert=args.cert,
        key=args.key,
        keyring=args.keyring,
    )
    print(f"kiosk-update: wrote {args.out} ({args.compatible} {args.version}), signed with {args.cert}")
    return 0


_COMMANDS = {
    "status": _status,
    "verify": _verify,
    "install": _install,
    "fetch": _fetch,
    "install-pending": _install_pending,
    "health-check": _health_check,
    "make-bundle": _make_bundle,
}

if __name__ == "__main__":
    sys.exit(main())
