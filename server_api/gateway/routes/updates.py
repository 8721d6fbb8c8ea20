"""Update bundles for the kiosks: the current signed RAUC bundle per channel and architecture.

- `GET /v1/updates[?channel=stable&arch=arm64]`: what is published, one entry per channel and architecture
  (version, compatible, sha256, size, the path to fetch it from). The kiosk's token is required.
- `GET /v1/updates/bundles/{sha256}`: the bundle itself (HTTP ranges work, so a cut download resumes).
- `kiosk-gateway publish-bundle FILE --arch A [--channel C] [--keyring PEM | --version V]` makes a bundle
  the current one of its channel; `kiosk-gateway bundles` lists what is published.

Bundles are files, not database rows: `updates/` beside the gateway's configuration holds
`bundles/<sha256>.raucb` and `channels/<channel>/<arch>.json` (written atomically, so a kiosk never reads
half a record). Gateway processes on several hosts need that folder on shared storage. The gateway does
not have to trust a bundle: each kiosk checks its sha256 against this listing and RAUC checks its
signature against the kiosk's own keyring before anything is installed (deploy/updates/fetch.py).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel

from ..app import Gateway, current_device, gateway_of, problem
from ..config import GatewayConfig, default_path, load
from ..devices import Device
from ..wire import Problem

__all__ = ["BundleStore", "Published", "UpdateListing", "register_commands", "router"]

router = APIRouter()
ARCHITECTURES = ("amd64", "arm64")
CHANNEL = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
ERRORS: dict[int | str, dict[str, object]] = {code: {"model": Problem} for code in (401, 404, 422, 429)}
DeviceDep = Annotated[Device, Depends(current_device)]
GatewayDep = Annotated[Gateway, Depends(gateway_of)]


class Published(BaseModel):
    channel: str
    arch: str
    version: str
    compatible: str
    sha256: str
    size: int
    published_at: datetime
    path: str  # where a kiosk fetches it, relative to the gateway's URL


class UpdateListing(BaseModel):
    bundles: list[Published]


class PublishError(ValueError):
    """The bundle cannot be published; the message says why."""


@dataclass(frozen=True)
class BundleStore:
    root: Path

    @classmethod
    def of(cls, config: GatewayConfig) -> BundleStore:
        return cls(config.path("updates"))

    def bundle(self, sha256: str) -> Path:
        return self.root / "bundles" / f"{sha256}.raucb"

    def publish(self, source: Path, *, channel: str, arch: str, version: str, compatible: str) -> Published:
        check_channel(channel)
        if arch not in ARCHITECTURES:
            raise PublishError(f"--arch {arch!r}: use one of {', '.join(ARCHITECTURES)}")
        if not version.strip():
            raise PublishError("the bundle needs a version")
        digest, size = self._store(source)
        record = Published(
            channel=channel,
            arch=arch,
            version=version,
            compatible=compatible,
            sha256=digest,
            size=size,
            published_at=datetime.now(UTC).replace(microsecond=0),
            path=f"/v1/updates/bundles/{digest}",
        )
        _write_atomically(self.root / "channels" / channel / f"{arch}.json", record.model_dump_json())
        return record

    def current(self, channel: str | None = None, arch: str | None = None) -> list[Published]:
        found = []
        for path in sorted((self.root / "channels").glob("*/*.json")):
            if (channel and path.parent.name != channel) or (arch and path.stem != arch):
                continue
            try:
                found.append(Published.model_validate_json(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue  # a record being replaced right now, or damaged: not offered
        return found

    def _store(self, source: Path) -> tuple[str, int]:
        """Copy the bundle in under its own sha256 (computed while copying)."""
        folder = self.root / "bundles"
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".incoming.{os.getpid()}"
        digest = hashlib.sha256()
        size = 0
        try:
            with source.open("rb") as reading, partial.open("wb") as writing:
                while chunk := reading.read(1 << 20):
                    digest.update(chunk)
                    writing.write(chunk)
                    size += len(chunk)
                writing.flush()
                os.fsync(writing.fileno())
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise PublishError(f"{source}: cannot be read ({error.strerror})") from None
        os.replace(partial, self.bundle(digest.hexdigest()))
        return digest.hexdigest(), size


def check_channel(channel: str) -> str:
    if not CHANNEL.match(channel):
        raise PublishError(f"channel {channel!r}: 1-32 lower-case letters, digits or '-' (e.g. 'stable')")
    return channel


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


# ------------------------------------------------------------------ routes


@router.get("/v1/updates", response_model=UpdateListing, responses=ERRORS, tags=["updates"])
async def listing(
    device: DeviceDep,
    gateway: GatewayDep,
    channel: Annotated[str | None, Query(max_length=32)] = None,
    arch: Annotated[str | None, Query(max_length=16)] = None,
) -> UpdateListing:
    """The current bundle of each channel and architecture (filtered by the query, if given)."""
    if arch is not None and arch not in ARCHITECTURES:
        raise problem(422, "invalid_arch", f"arch is one of {', '.join(ARCHITECTURES)}")
    if channel is not None and not CHANNEL.match(channel):
        raise problem(422, "invalid_channel", "a channel is 1-32 lower-case letters, digits or '-'")
    return UpdateListing(bundles=BundleStore.of(gateway.config).current(channel, arch))


@router.get("/v1/updates/bundles/{sha256}", response_class=FileResponse, responses=ERRORS, tags=["updates"])
async def bundle_file(sha256: str, device: DeviceDep, gateway: GatewayDep) -> FileResponse:
    """The bundle with this sha256 (the listing's `path`)."""
    if not SHA256.match(sha256):
        raise problem(422, "invalid_bundle", "a bundle is named by its sha256: 64 lower-case hex digits")
    path = BundleStore.of(gateway.config).bundle(sha256)
    if not path.is_file():
        raise problem(404, "no_such_bundle", "no bundle with this sha256 is stored on the gateway")
    return FileResponse(path, media_type="application/octet-stream", filename=f"{sha256}.raucb")


# ------------------------------------------------------------------ kiosk-gateway commands


def cmd_publish(args: argparse.Namespace) -> int:
    try:
        return _publish(args)
    except PublishError as error:
        print(f"kiosk-gateway: {error}", file=sys.stderr)
        return 2


def _publish(args: argparse.Namespace) -> int:
    config = load(args.config or default_path())
    version, compatible = args.version, f"library-kiosk-{args.arch}"
    if args.keyring is not None:
        info = _verified(args.bundle, args.keyring)
        if args.version and args.version != info["version"]:
            raise PublishError(f"--version {args.version} but the bundle says {info['version']}")
        version, compatible = info["version"], info["compatible"]
        if compatible != f"library-kiosk-{args.arch}":
            raise PublishError(f"the bundle is for {compatible!r}; kiosks of --arch {args.arch} refuse it")
    elif not version:
        raise PublishError("give --keyring (checks the signature and reads the version) or --version")
    if not args.bundle.is_file():
        raise PublishError(f"{args.bundle}: no such file")
    record = BundleStore.of(config).publish(
        args.bundle, channel=args.channel, arch=args.arch, version=version, compatible=compatible
    )
    print(
        f"published {record.version} for {record.arch} on channel {record.channel}: "
        f"{record.size} bytes, sha256 {record.sha256}"
    )
    return 0


def cmd_bundles(args: argparse.Namespace) -> int:
    config = load(args.config or default_path())
    records = BundleStore.of(config).current()
    for record in records:
        print(
            f"{record.channel:10} {record.arch:6} {record.version:16} {record.size:>12}  "
            f"{record.sha256}  {record.published_at:%Y-%m-%d %H:%M}"
        )
    if not records:
        print("no bundles published (kiosk-gateway publish-bundle)", file=sys.stderr)
    return 0


def _verified(bundle: Path, keyring: Path) -> dict[str, str]:
    from deploy.updates import rauc  # the kiosks' own check, run here before a bundle goes out

    try:
        info = rauc.bundle_info(bundle, keyring=keyring)
    except rauc.RaucError as error:
        raise PublishError(str(error)) from None
    return {"version": info.version, "compatible": info.compatible}


def register_commands(sub: Any) -> None:
    """`publish-bundle` and `bundles` for `kiosk-gateway` (server_api/gateway/cli.py)."""
    publish = sub.add_parser("publish-bundle", help="make a signed update bundle the current one")
    publish.add_argument("bundle", type=Path)
    publish.add_argument("--arch", required=True, choices=ARCHITECTURES)
    publish.add_argument("--channel", default="stable")
    publish.add_argument("--keyring", type=Path, help="check the signature with RAUC and take its version")
    publish.add_argument("--version", help="the bundle's version (when not checked with --keyring)")
    publish.set_defaults(run=cmd_publish)
    sub.add_parser("bundles", help="list the published update bundles").set_defaults(run=cmd_bundles)
