"""kiosk-flash against image files it writes and reads back: the settings land in the boot partition,
the copy verifies, and every unsafe or wrong target is refused with the reason."""

from __future__ import annotations

import hashlib
import os
import subprocess
import tomllib
from pathlib import Path

import pytest

from deploy.flash import disk
from deploy.flash.cli import EXIT_CONFIG, EXIT_REFUSED, main
from deploy.flash.target import TargetRefused, check_target, system_disks
from deploy.flash.writer import VerifyFailed, Written, verify
from tests.deploy.conftest import make_image


def device_file(image: Path) -> dict[str, dict[str, object]]:
    return tomllib.loads(disk.read_file(disk.boot_partition(image), "kiosk/device.toml").decode())


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_kiosk_file_has_the_device_settings_and_the_image_is_untouched(
    kiosk_image: Path, device_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sha256(kiosk_image)
    out = tmp_path / "kiosk.img"
    assert main([str(kiosk_image), "--device-config", str(device_config), "--to", str(out)]) == 0
    settings = device_file(out)
    assert settings["kiosk"]["hostname"] == "hovedbiblioteket-1-etasje"
    assert settings["gateway"]["enrollment_code"] == "ABCDE-FGHJK-MNPQR-STVWX"
    assert settings["wifi"]["ssid"] == "Bibliotek-Intern"
    assert sha256(kiosk_image) == before
    assert out.stat().st_size == kiosk_image.stat().st_size
    assert os.stat(out).st_mode & 0o777 == 0o600  # it holds the enrollment code and Wi-Fi passphrase
    said = capsys.readouterr().out
    assert "Verified" in said and sha256(out) in said
    assert "correct horse" not in said and "ABCDE" not in said


def test_outside_the_boot_partition_the_written_file_equals_the_image(
    kiosk_image: Path, device_config: Path, tmp_path: Path
) -> None:
    out = tmp_path / "kiosk.img"
    assert main([str(kiosk_image), "--device-config", str(device_config), "--to", str(out), "--quiet"]) == 0
    boot = disk.boot_partition(kiosk_image)
    original, written = kiosk_image.read_bytes(), out.read_bytes()
    assert written[: boot.offset] == original[: boot.offset]
    assert written[boot.offset + boot.size :] == original[boot.offset + boot.size :]
    assert written[boot.offset : boot.offset + boot.size] != original[boot.offset : boot.offset + boot.size]


def test_an_image_written_to_a_file_is_sparse(kiosk_image: Path, device_config: Path, tmp_path: Path) -> None:
    out = tmp_path / "kiosk.img"
    main([str(kiosk_image), "--device-config", str(device_config), "--to", str(out), "--quiet"])
    assert out.stat().st_blocks * 512 < out.stat().st_size


def test_verification_catches_a_copy_that_reads_back_different(kiosk_image: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.img"
    copy.write_bytes(kiosk_image.read_bytes())
    written = Written(copy, copy.stat().st_size, sha256(kiosk_image))
    with copy.open("r+b") as handle:
        handle.seek(5 * 2**20)
        handle.write(b"\xff" * 16)
    with pytest.raises(VerifyFailed, match="faulty or fake"):
        verify(written, lambda done: None)
    short = Written(copy, copy.stat().st_size + 4096, sha256(kiosk_image))
    with pytest.raises(VerifyFailed, match="was the card removed"):
        verify(short, lambda done: None)


def test_an_existing_file_is_kept_unless_forced(
    kiosk_image: Path, device_config: Path, tmp_path: Path
) -> None:
    out = tmp_path / "precious.img"
    out.write_text("keep me")
    assert main([str(kiosk_image), "--device-config", str(device_config), "--to", str(out)]) == EXIT_REFUSED
    assert out.read_text() == "keep me"
    assert main([str(kiosk_image), "--device-config", str(device_config), "--to", str(out), "--force"]) == 0


def test_a_bad_device_config_writes_nothing(
    kiosk_image: Path, write_config: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[kiosk]\nlibrary = "x"\nname = "y"\n[gateway]\nurl = "https://gw.example.org"\n')
    out = tmp_path / "kiosk.img"
    assert main([str(kiosk_image), "--device-config", str(bad), "--to", str(out)]) == EXIT_CONFIG
    assert not out.exists()
    assert "enrollment_code is missing" in capsys.readouterr().err


def test_check_config_only_checks(device_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check-config", str(device_config)]) == 0
    assert "good" in capsys.readouterr().out


def test_a_file_that_is_not_a_kiosk_image_is_refused(device_config: Path, tmp_path: Path) -> None:
    plain = make_image(tmp_path, boot_files={"readme.txt": "not a kiosk\n"})
    with pytest.raises(disk.DiskError, match="not a library kiosk image"):
        disk.boot_partition(plain)
    junk = tmp_path / "junk.img"
    junk.write_bytes(b"\0" * 2**20)
    assert main([str(junk), "--device-config", str(device_config), "--to", str(tmp_path / "o.img")]) == 1


def test_the_arm64_layout_has_an_mbr_fat_boot_partition_too(device_config: Path, tmp_path: Path) -> None:
    image = make_image(tmp_path, "arm64")
    parts = disk.partitions(image)
    assert [part.type for part in parts] == ["c", "83", "83", "83"]
    out = tmp_path / "pi.img"
    assert main([str(image), "--device-config", str(device_config), "--to", str(out), "--quiet"]) == 0
    assert device_file(out)["kiosk"]["name"] == "Hovedbiblioteket, 1. etasje"


@pytest.mark.parametrize("where", ["/dev/sdzz9", "/dev/null", "/nonexistent-folder/kiosk.img"])
def test_a_target_that_is_neither_a_disk_nor_a_new_file_is_refused(where: str) -> None:
    with pytest.raises(TargetRefused):
        check_target(Path(where), 2**20)


def test_the_disk_this_computer_runs_from_is_refused() -> None:
    root = subprocess.run(["findmnt", "-no", "SOURCE", "/"], capture_output=True, text=True).stdout.strip()
    if not root.startswith("/dev/") or not Path(root).is_block_device():
        pytest.skip(f"/ is on {root or 'no block device'} here (a container): no system disk to protect")
    assert system_disks(), "the disks behind / are found"
    with pytest.raises(TargetRefused, match=r"runs from|is a partition|in use"):
        check_target(Path(root), 2**20)
