"""`kiosk-update fetch`: download the gateway's current bundle for this kiosk, check it, flag it for install.

It runs as the station's user (kiosk-update-fetch.timer), which holds the device token; it only downloads
and flags. Root installs (kiosk-update-install.path starts `kiosk-update install-pending`, which waits
for the end of the patron session).

1. `GET /v1/updates?channel=C&arch=A` with the device token: the current bundle (version, sha256, size).
2. Nothing to do when that bundle is the one this kiosk runs (installed.json), the one already waiting
   (pending.json), or one that failed here before (rejected.json: refused, rolled back, did not boot).
3. Download it to `download.part.raucb` (a cut download resumes with an HTTP range), compare its size
   and sha256 with the listing, and let RAUC check its signature against the kiosk's own keyring and
   its `compatible` against this kiosk's (the gateway is not trusted with either).
4. Move it to `pending.raucb` (with `pending.json`): that is the flag root's path unit waits for.
"""

from __future__ import annotations

import hashlib
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from deploy.updates import rauc
from deploy.updates.folder import UpdateFolder
from server_api.client import GatewaySettings

__all__ = ["FetchError", "Fetched", "fetch", "kiosk_arch", "system_compatible"]

CHUNK = 1 << 20
ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


class FetchError(RuntimeError):
    """Nothing was flagged; the message says why and what to do."""


@dataclass(frozen=True)
class Fetched:
    state: str  # fetched, up-to-date, waiting, rejected-before, none-published
    message: str
    version: str = ""


def kiosk_arch() -> str:
    return ARCHES.get(platform.machine(), platform.machine())


def system_compatible(conf: Path | None = None) -> str:
    """`compatible=` from RAUC's system.conf: what this kiosk accepts."""
    path = conf or Path("/etc/rauc/system.conf")
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "compatible":
                return value.strip()
    except OSError as error:
        raise FetchError(f"{path} cannot be read ({error.strerror}): is this a kiosk image?") from None
    raise FetchError(f"{path} names no compatible= (RAUC's system configuration is damaged)")


def fetch(
    settings: GatewaySettings,
    folder: UpdateFolder,
    *,
    channel: str,
    arch: str,
    compatible: str,
    keyring: Path | None = None,
    conf: Path | None = None,
) -> Fetched:
    with _client(settings) as client:
        current = _current(client, channel, arch)
        if current is None:
            return Fetched("none-published", f"the gateway publishes no update for {arch} on {channel}")
        version, digest = str(current["version"]), str(current["sha256"])
        if folder.read(folder.installed_info).get("sha256") == digest:
            return Fetched("up-to-date", f"this kiosk runs {version}, the current update", version)
        if folder.read(folder.pending_info).get("sha256") == digest and folder.pending_bundle.is_file():
            return Fetched("waiting", f"{version} is downloaded and waits to be installed", version)
        failed = folder.was_rejected(digest)
        if failed is not None:
            return Fetched(
                "rejected-before",
                f"{version} failed on this kiosk before ({failed.get('reason', 'no reason kept')}); "
                "it is not fetched again: the consortium must publish a newer one",
                version,
            )
        partial = _download(client, folder, current)
    _check(partial, current, compatible=compatible, keyring=keyring, conf=conf)
    os.replace(partial, folder.pending_bundle)
    info = {"version": version, "sha256": digest, "channel": channel, "fetched_at": time.time()}
    folder.write(folder.pending_info, info)
    return Fetched(
        "fetched", f"{version} downloaded and checked; it installs between patron sessions", version
    )


def _client(settings: GatewaySettings) -> httpx.Client:
    verify: Any = settings.ssl_context() if settings.url.startswith("https://") else True
    timeout = httpx.Timeout(settings.timeout, connect=settings.connect_timeout)
    try:
        token = settings.bearer()
    except Exception as error:  # CirculationUnavailable (no token yet) or an unreadable token file
        raise FetchError(f"no device token ({error}): enroll the kiosk first") from None
    return httpx.Client(
        base_url=settings.url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout, verify=verify
    )


def _current(client: httpx.Client, channel: str, arch: str) -> dict[str, Any] | None:
    answer = _get(client, "/v1/updates", params={"channel": channel, "arch": arch})
    try:
        bundles = answer.json()["bundles"]
    except (ValueError, KeyError, TypeError):
        raise FetchError("the gateway's update listing is not understood (is it a kiosk gateway?)") from None
    if not bundles:
        return None
    entry = bundles[0]
    if not isinstance(entry, dict) or not all(k in entry for k in ("version", "sha256", "size", "path")):
        raise FetchError("the gateway's update listing lacks version, sha256, size or path")
    return entry


def _get(client: httpx.Client, path: str, **kwargs: Any) -> httpx.Response:
    try:
        answer = client.get(path, **kwargs)
    except httpx.HTTPError as error:
        raise FetchError(
            f"the gateway cannot be reached ({error}); the next try comes with the timer"
        ) from None
    if answer.status_code == 401:
        raise FetchError("the gateway refused this kiosk's token: enroll it again (kiosk doctor says more)")
    if answer.status_code >= 400:
        raise FetchError(f"the gateway answered {answer.status_code} for {path}: {answer.text[:200]}")
    return answer


def _download(client: httpx.Client, folder: UpdateFolder, current: dict[str, Any]) -> Path:
    """Into download.part.raucb, resuming what an earlier run of the same bundle left."""
    partial = folder.partial
    if folder.read(folder.partial_info).get("sha256") != current["sha256"]:
        partial.unlink(missing_ok=True)
        folder.write(folder.partial_info, {"sha256": current["sha256"]})
    have = partial.stat().st_size if partial.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        with client.stream("GET", str(current["path"]), headers=headers) as answer:
            if answer.status_code == 401:
                raise FetchError("the gateway refused this kiosk's token while downloading: enroll it again")
            if answer.status_code not in (200, 206):
                raise FetchError(f"the gateway answered {answer.status_code} for the bundle")
            mode = "ab" if answer.status_code == 206 else "wb"  # 200: the server sent it all again
            with partial.open(mode) as out:
                for chunk in answer.iter_bytes(CHUNK):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
    except httpx.HTTPError as error:
        raise FetchError(f"the download was cut ({error}); the next run resumes it") from None
    return partial


def _check(
    partial: Path, current: dict[str, Any], *, compatible: str, keyring: Path | None, conf: Path | None
) -> None:
    size = partial.stat().st_size
    if size != int(current["size"]):
        partial.unlink(missing_ok=True)
        raise FetchError(f"the download has {size} bytes, the gateway said {current['size']}; deleted")
    digest = hashlib.sha256()
    with partial.open("rb") as reading:
        while chunk := reading.read(CHUNK):
            digest.update(chunk)
    if digest.hexdigest() != current["sha256"]:
        partial.unlink(missing_ok=True)
        raise FetchError(
            "the download's sha256 differs from the gateway's listing (damaged on the way); deleted"
        )
    try:
        info = rauc.bundle_info(partial, keyring=keyring, conf=conf)
    except rauc.RaucError as error:
        partial.unlink(missing_ok=True)
        raise FetchError(f"{error}; deleted") from None
    if info.compatible != compatible:
        partial.unlink(missing_ok=True)
        raise FetchError(f"the bundle is for {info.compatible!r}, this kiosk is {compatible!r}; deleted")
