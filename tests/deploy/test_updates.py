"""Updates: bundles signed and checked by RAUC (a wrong key, a damaged signature or payload is refused),
installation only between patron sessions, the health check that keeps or rolls back a slot, and the
Raspberry Pi's try-once boot switch."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from deploy.updates.cli import EXIT_BUSY
from deploy.updates.cli import main as kiosk_update
from deploy.updates.pi_boot import PiBoot, install_kernel
from deploy.updates.pi_boot import main as pi_boot_main
from deploy.updates.policy import Pending, StationState, patron_session_active, station_health
from tests.deploy.rauc import need_rauc, signing_key


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A signed bundle with a small root image; returns (bundle, trusted cert, an untrusted cert)."""
    need_rauc()
    folder = tmp_path_factory.mktemp("bundle")
    content = folder / "root"
    content.mkdir()
    (content / "payload").write_bytes(os.urandom(200_000))  # squashfs must be over 4 KiB
    subprocess.run(
        ["mkfs.ext4", "-q", "-d", str(content), str(folder / "root.ext4"), "8M"], check=True, timeout=60
    )
    key, cert = signing_key(folder, "consortium-2026")
    _, other = signing_key(folder, "somebody-else")
    out = folder / "kiosk-1.2.3.raucb"
    args = [
        "make-bundle",
        str(folder / "root.ext4"),
        "--version",
        "1.2.3",
        "--cert",
        str(cert),
        "--key",
        str(key),
    ]
    assert kiosk_update([*args, "--keyring", str(cert), "--out", str(out)]) == 0
    return out, cert, other


def test_a_bundle_signed_by_a_trusted_key_verifies_with_its_version(
    bundle: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path, cert, _ = bundle
    assert kiosk_update(["verify", str(path), "--keyring", str(cert), "--payload"]) == 0
    assert "signature trusted, payload intact; library-kiosk-amd64 version 1.2.3" in capsys.readouterr().out


def test_a_bundle_signed_by_another_key_is_refused(
    bundle: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _, other = bundle
    assert kiosk_update(["verify", str(path), "--keyring", str(other)]) == 1
    assert "not signed by a key this kiosk trusts" in capsys.readouterr().err


def test_a_keyring_with_the_old_and_the_new_key_accepts_both_during_a_rotation(
    bundle: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    path, cert, other = bundle
    keyring = tmp_path / "keyring.pem"
    keyring.write_text(other.read_text() + cert.read_text())
    assert kiosk_update(["verify", str(path), "--keyring", str(keyring)]) == 0


@pytest.mark.parametrize(("where", "message"), [("signature", "not signed by a key"), ("payload", "damaged")])
def test_a_damaged_bundle_is_refused(
    bundle: tuple[Path, Path, Path],
    tmp_path: Path,
    where: str,
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, cert, _ = bundle
    damaged = tmp_path / "damaged.raucb"
    data = bytearray(path.read_bytes())
    spot = len(data) - 600 if where == "signature" else 5000  # the CMS signature is at the end
    data[spot : spot + 4] = b"XXXX"
    damaged.write_bytes(bytes(data))
    assert kiosk_update(["verify", str(damaged), "--keyring", str(cert), "--payload"]) == 1
    assert message in capsys.readouterr().err


def test_an_update_waits_while_a_patron_is_at_the_kiosk(
    bundle: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, cert, _ = bundle
    conf = tmp_path / "system.conf"
    conf.write_text(
        "[system]\ncompatible=library-kiosk-amd64\nbootloader=noop\n"
        f"[keyring]\npath={cert}\n[slot.rootfs.0]\ndevice=/dev/null\ntype=ext4\nbootname=A\n"
    )
    run = tmp_path / "run"
    run.mkdir()
    (run / "station-state.json").write_text(json.dumps({"patron_session": True}))
    args = ["--conf", str(conf), "--run-dir", str(run), "--pending-file", str(tmp_path / "pending.json")]
    assert kiosk_update([*args, "install", str(path), "--no-reboot"]) == EXIT_BUSY
    assert "waits for the end of the session" in capsys.readouterr().out
    assert not (run / "updating").exists() and not (tmp_path / "pending.json").exists()


def test_patron_session_state_is_read_safely(tmp_path: Path) -> None:
    state = StationState(tmp_path)
    assert not patron_session_active(state)  # no file: the station is not running a session
    state.state_file.write_text("{not json")
    assert not patron_session_active(state)
    state.state_file.write_text('{"patron_session": true}')
    assert patron_session_active(state)


def test_health_is_the_stations_own_report_or_a_settled_service_without_restarts(tmp_path: Path) -> None:
    state = StationState(tmp_path)

    def steady() -> tuple[str, int]:
        return "active", 0

    assert station_health(state, timeout=2, settle=0.2, probe=steady, poll=0.05).healthy
    assert not station_health(state, timeout=1, probe=lambda: ("active", 2), poll=0.05).healthy
    failed = station_health(state, timeout=1, probe=lambda: ("failed", 0), poll=0.05)
    assert not failed.healthy and "failed" in failed.reason
    slow = station_health(state, timeout=0.3, settle=10, probe=lambda: ("activating", 0), poll=0.05)
    assert not slow.healthy and "not healthy within" in slow.reason
    state.healthy_file.write_text("")
    assert station_health(state, timeout=1, probe=lambda: ("failed", 3)).healthy


def test_a_pending_update_is_remembered_on_the_data_partition(tmp_path: Path) -> None:
    pending = Pending(tmp_path / "rauc" / "pending.json")
    assert pending.read() is None
    pending.record("B", "1.2.3")
    assert pending.read() == pending.read() and (pending.read() or {})["slot"] == "B"
    pending.clear()
    assert pending.read() is None


def pi(tmp_path: Path, booted: str) -> PiBoot:
    cmdline = tmp_path / "cmdline"
    cmdline.write_text(f"console=tty1 root=PARTUUID=1a2b3c4d-02 ro rauc.slot={booted} quiet\n")
    return PiBoot(boot=tmp_path / "firmware", cmdline=cmdline)


def test_the_pi_tries_a_new_slot_once_and_keeps_it_only_when_it_reports_good(tmp_path: Path) -> None:
    boot = pi(tmp_path, "A")
    assert boot.primary() == "A" and boot.get_state("A") == "good" and boot.get_state("B") == "bad"
    boot.set_state("B", "good")  # RAUC wrote slot B
    boot.set_primary("B")
    assert (boot.boot / "tryboot.txt").read_text().endswith("os_prefix=b/\n")
    assert not (boot.boot / "slot.txt").exists()  # the normal boot still runs A
    assert boot.reboot_command() == ["systemctl", "reboot", "0 tryboot"]
    booted_b = pi(tmp_path, "B")
    booted_b.set_state("B", "good")  # the health check passed
    assert (boot.boot / "slot.txt").read_text() == "os_prefix=b/\n"
    assert not (boot.boot / "tryboot.txt").exists() and booted_b.primary() == "B"


def test_a_pi_slot_that_fails_its_try_is_dropped(tmp_path: Path) -> None:
    boot = pi(tmp_path, "A")
    boot.set_primary("B")
    pi(tmp_path, "B").set_state("B", "bad")
    assert boot.primary() == "A" and not (boot.boot / "tryboot.txt").exists()
    assert boot.reboot_command() == ["systemctl", "reboot"]


def test_the_pi_backend_speaks_raucs_custom_protocol(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.environ["KIOSK_PI_BOOT"] = str(tmp_path / "firmware")
    try:
        assert pi_boot_main(["get-primary"]) == 0 and capsys.readouterr().out == "A\n"
        assert pi_boot_main(["get-state", "C"]) == 1 and "unknown slot 'C'" in capsys.readouterr().err
        assert pi_boot_main(["set-state", "A", "maybe"]) == 1
        assert pi_boot_main(["frobnicate"]) == 2
    finally:
        del os.environ["KIOSK_PI_BOOT"]


def test_a_slots_kernel_goes_into_its_own_folder_with_a_cmdline_naming_the_slot(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "boot").mkdir(parents=True)
    (root / "boot" / "vmlinuz-6.1.0-50-arm64").write_bytes(b"kernel")
    (root / "boot" / "initrd.img-6.1.0-50-arm64").write_bytes(b"initrd")
    (root / "vmlinuz").symlink_to("boot/vmlinuz-6.1.0-50-arm64")
    (root / "initrd.img").symlink_to("/boot/initrd.img-6.1.0-50-arm64")  # absolute: inside the root
    trees = root / "usr/lib/linux-image-6.1.0-50-arm64"
    (trees / "broadcom").mkdir(parents=True)
    (trees / "overlays").mkdir()
    (trees / "broadcom" / "bcm2711-rpi-4-b.dtb").write_bytes(b"dtb")
    (trees / "overlays" / "vc4-kms-v3d.dtbo").write_bytes(b"overlay")
    boot = tmp_path / "firmware"
    copied = install_kernel(boot, "B", root, "1a2b3c4d-03")
    assert copied == ["vmlinuz", "initrd.img", "bcm2711-rpi-4-b.dtb", "overlays/"]
    assert (boot / "b" / "vmlinuz").read_bytes() == b"kernel" and (
        boot / "b" / "initrd.img"
    ).read_bytes() == b"initrd"
    assert (boot / "b" / "overlays" / "vc4-kms-v3d.dtbo").exists()
    cmdline = (boot / "b" / "cmdline.txt").read_text()
    assert "root=PARTUUID=1a2b3c4d-03" in cmdline and "rauc.slot=B" in cmdline
    assert not (boot / "a").exists()
