"""Updates from the gateway to the kiosk: `kiosk-update fetch` (the station's user) downloads the current
bundle from the real gateway on 127.0.0.1, checks size, sha256, signature and compatible, and flags it;
`kiosk-update install-pending` (root) installs only what is safe, between patron sessions, and a bundle
that failed is not fetched again."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from deploy.updates.cli import EXIT_BUSY, EXIT_FAILED
from deploy.updates.cli import main as kiosk_update
from deploy.updates.fetch import FetchError, fetch
from deploy.updates.folder import UpdateFolder
from deploy.updates.policy import StationState, station_out_of_service
from server_api.client import GatewaySettings
from tests.deploy.rauc import need_rauc, signing_key
from tests.gateway.conftest import Site, running_site

COMPATIBLE = "library-kiosk-amd64"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with running_site(tmp_path_factory.mktemp("gateway"), "sqlite:///gateway.sqlite") as running:
        yield running


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    need_rauc()
    folder = tmp_path_factory.mktemp("keys")
    _, trusted = signing_key(folder, "consortium")
    _, stranger = signing_key(folder, "stranger")
    return {"trusted": trusted, "key": folder / "consortium.key.pem", "stranger": stranger}


def make_bundle(folder: Path, keys: dict[str, Path], version: str, compatible: str = COMPATIBLE) -> Path:
    content = folder / f"root-{version}"
    content.mkdir()
    (content / "payload").write_bytes(os.urandom(100_000))
    root = folder / f"root-{version}.ext4"
    subprocess.run(["mkfs.ext4", "-q", "-d", str(content), str(root), "8M"], check=True, timeout=60)
    out = folder / f"kiosk-{version}.raucb"
    args = ["make-bundle", str(root), "--version", version, "--compatible", compatible,
            "--cert", str(keys["trusted"]), "--key", str(keys["key"]), "--out", str(out)]  # fmt: skip
    assert kiosk_update(args) == 0
    return out


def publish(site: Site, bundle: Path, channel: str, *extra: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "server_api.gateway", "--config", str(site.config), "publish-bundle",
         str(bundle), "--arch", "amd64", "--channel", channel, *extra],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return hashlib.sha256(bundle.read_bytes()).hexdigest()


def fetch_into(site: Site, folder: UpdateFolder, channel: str, keyring: Path, token: str = "") -> str:
    settings = GatewaySettings(site.url, token=token or site.token(kiosk="Fetcher"))
    return fetch(
        settings, folder, channel=channel, arch="amd64", compatible=COMPATIBLE, keyring=keyring
    ).state


def test_the_current_bundle_is_fetched_checked_and_flagged_once(
    site: Site, keys: dict[str, Path], tmp_path: Path
) -> None:
    digest = publish(site, make_bundle(tmp_path, keys, "1.0.0"), "fetch-a", "--keyring", str(keys["trusted"]))
    folder = UpdateFolder(tmp_path / "updates")
    assert fetch_into(site, folder, "fetch-a", keys["trusted"]) == "fetched"
    assert hashlib.sha256(folder.pending_bundle.read_bytes()).hexdigest() == digest
    assert folder.read(folder.pending_info)["version"] == "1.0.0" and not folder.partial.exists()
    assert fetch_into(site, folder, "fetch-a", keys["trusted"]) == "waiting"
    folder.pending_bundle.unlink()
    folder.write(folder.installed_info, {"version": "1.0.0", "sha256": digest})  # it was kept
    assert fetch_into(site, folder, "fetch-a", keys["trusted"]) == "up-to-date"


def test_a_bundle_that_failed_here_is_not_fetched_again(
    site: Site, keys: dict[str, Path], tmp_path: Path
) -> None:
    digest = publish(site, make_bundle(tmp_path, keys, "1.1.0"), "fetch-b", "--keyring", str(keys["trusted"]))
    folder = UpdateFolder(tmp_path / "updates")
    folder.reject("1.1.0", digest, "rolled back: the station was restarted 3 time(s) since boot")
    assert fetch_into(site, folder, "fetch-b", keys["trusted"]) == "rejected-before"
    assert not folder.pending_bundle.exists() and not folder.partial.exists()


def test_a_bundle_signed_by_a_key_the_kiosk_does_not_trust_is_deleted(
    site: Site, keys: dict[str, Path], tmp_path: Path
) -> None:
    publish(site, make_bundle(tmp_path, keys, "1.2.0"), "fetch-c", "--version", "1.2.0")
    folder = UpdateFolder(tmp_path / "updates")
    with pytest.raises(FetchError, match="not signed by a key this kiosk trusts"):
        fetch_into(site, folder, "fetch-c", keys["stranger"])
    assert not folder.pending_bundle.exists() and not folder.partial.exists()


def test_a_bundle_for_another_kind_of_kiosk_is_deleted(
    site: Site, keys: dict[str, Path], tmp_path: Path
) -> None:
    bundle = make_bundle(tmp_path, keys, "1.3.0", compatible="library-kiosk-arm64")
    publish(site, bundle, "fetch-d", "--version", "1.3.0")  # published under the wrong architecture
    folder = UpdateFolder(tmp_path / "updates")
    with pytest.raises(FetchError, match="is for 'library-kiosk-arm64', this kiosk is 'library-kiosk-amd64'"):
        fetch_into(site, folder, "fetch-d", keys["trusted"])
    assert not folder.pending_bundle.exists()


def test_a_download_damaged_on_the_way_is_deleted(site: Site, keys: dict[str, Path], tmp_path: Path) -> None:
    digest = publish(site, make_bundle(tmp_path, keys, "1.4.0"), "fetch-e", "--version", "1.4.0")
    stored = site.config.parent / "updates" / "bundles" / f"{digest}.raucb"
    data = bytearray(stored.read_bytes())
    data[5000] ^= 0xFF  # same size, one byte changed: what a bad proxy or disk does
    stored.write_bytes(bytes(data))
    folder = UpdateFolder(tmp_path / "updates")
    with pytest.raises(FetchError, match="sha256 differs from the gateway's listing"):
        fetch_into(site, folder, "fetch-e", keys["trusted"])
    assert not folder.partial.exists() and not folder.pending_bundle.exists()


def test_a_cut_download_resumes_where_it_stopped(site: Site, keys: dict[str, Path], tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path, keys, "1.5.0")
    digest = publish(site, bundle, "fetch-f", "--keyring", str(keys["trusted"]))
    folder = UpdateFolder(tmp_path / "updates")
    folder.write(folder.partial_info, {"sha256": digest})
    folder.partial.write_bytes(bundle.read_bytes()[:20_000])  # what the last run got before the cut
    assert fetch_into(site, folder, "fetch-f", keys["trusted"]) == "fetched"
    assert folder.pending_bundle.read_bytes() == bundle.read_bytes()


def test_a_refused_token_says_to_enroll_again(site: Site, keys: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="refused this kiosk's token: enroll it again"):
        fetch_into(site, UpdateFolder(tmp_path), "stable", keys["trusted"], token="kgw1.nobody.nothing")


# ------------------------------------------------------------------ install-pending (root)


def kiosk(tmp_path: Path, keyring: Path) -> tuple[list[str], UpdateFolder, Path]:
    conf = tmp_path / "system.conf"
    conf.write_text(
        f"[system]\ncompatible={COMPATIBLE}\nbootloader=noop\n"
        f"[keyring]\npath={keyring}\n[slot.rootfs.0]\ndevice=/dev/null\ntype=ext4\nbootname=A\n"
    )
    run = tmp_path / "run"
    run.mkdir()
    folder = UpdateFolder(tmp_path / "updates")
    args = ["--conf", str(conf), "--run-dir", str(run), "--updates-dir", str(folder.root),
            "--pending-file", str(tmp_path / "pending.json")]  # fmt: skip
    return args, folder, run


def test_install_pending_without_an_update_does_nothing(tmp_path: Path, keys: dict[str, Path]) -> None:
    args, _, run = kiosk(tmp_path, keys["trusted"])
    assert kiosk_update([*args, "install-pending"]) == 0 and not (run / "updating").exists()


def test_a_link_in_place_of_the_fetched_bundle_is_removed_not_followed(
    tmp_path: Path, keys: dict[str, Path]
) -> None:
    args, folder, run = kiosk(tmp_path, keys["trusted"])
    folder.root.mkdir()
    folder.pending_bundle.symlink_to("/etc/shadow")  # the station's user owns the folder
    assert kiosk_update([*args, "install-pending"]) == EXIT_FAILED
    assert not folder.pending_bundle.is_symlink() and folder.rejected()
    assert not (run / "updating").exists()


def test_a_bundle_rauc_refuses_is_removed_and_remembered(tmp_path: Path, keys: dict[str, Path]) -> None:
    args, folder, run = kiosk(tmp_path, keys["stranger"])  # this kiosk trusts another key
    folder.root.mkdir()
    make_bundle(tmp_path, keys, "2.0.0").replace(folder.pending_bundle)
    folder.write(folder.pending_info, {"version": "2.0.0", "sha256": "ab" * 32})
    assert kiosk_update([*args, "install-pending"]) == EXIT_FAILED
    assert not folder.pending_bundle.exists() and not (run / "updating").exists()
    assert folder.was_rejected("ab" * 32) is not None  # the fetcher will not bring it back


def test_the_fetched_update_waits_for_the_patron(tmp_path: Path, keys: dict[str, Path]) -> None:
    args, folder, run = kiosk(tmp_path, keys["trusted"])
    folder.root.mkdir()
    make_bundle(tmp_path, keys, "2.1.0").replace(folder.pending_bundle)
    station_reports(run, patron_session=True)
    assert kiosk_update([*args, "install-pending", "--wait", "1"]) == EXIT_BUSY
    assert folder.pending_bundle.exists() and not (run / "updating").exists()


def station_reports(run: Path, **state: object) -> None:
    report = {"pid": os.getpid(), "at": datetime.now(UTC).isoformat(), **state}
    (run / "station-state.json").write_text(json.dumps(report))


def test_the_installer_goes_on_once_the_station_answers_it_is_out_of_service(tmp_path: Path) -> None:
    state = StationState(tmp_path)
    assert station_out_of_service(state, limit=0.5)  # no station runs: nobody to wait for
    station_reports(tmp_path, patron_session=True, out_of_service=False)
    assert not station_out_of_service(state, limit=0.5)  # a patron came in just before the mark
    station_reports(tmp_path, patron_session=False, out_of_service=True)
    assert station_out_of_service(state, limit=0.5)


def test_the_installer_does_not_go_on_beside_a_station_that_has_not_yet_said_it_is_out_of_service(
    tmp_path: Path,
) -> None:
    state = StationState(tmp_path)
    station_reports(tmp_path, patron_session=False, out_of_service=False)  # slow to see the mark
    assert not station_out_of_service(state, limit=0.5, old_station_limit=0.1)
    station_reports(tmp_path, patron_session=False)  # a station too old to say: given its short wait
    assert station_out_of_service(state, limit=5, old_station_limit=0.1)
