"""Update bundles on the gateway (server_api/gateway/routes/updates.py): `kiosk-gateway publish-bundle`
makes a bundle the current one of its channel and architecture; kiosks list and fetch it with their
token, by its sha256, resuming with a range. The real gateway under uvicorn on 127.0.0.1."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import subprocess
import uuid
from pathlib import Path

import httpx

from server_api.gateway.cli import main
from tests.gateway.conftest import Site


def gateway_cli(site: Site, *args: str) -> subprocess.CompletedProcess[str]:
    """`kiosk-gateway ARGS`, run in this process (its `main`: the same code, a second less per call than
    a new interpreter; tests/gateway/test_config.py runs the command itself)."""
    argv = ["--config", str(site.config), *args]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return subprocess.CompletedProcess(["kiosk-gateway", *argv], code, out.getvalue(), err.getvalue())


def a_bundle(folder: Path, size: int = 300_000) -> tuple[Path, bytes]:
    data = os.urandom(size)
    path = folder / f"kiosk-{uuid.uuid4().hex[:6]}.raucb"
    path.write_bytes(data)
    return path, data


def channel() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


def test_a_published_bundle_is_listed_for_its_channel_and_architecture_and_served_by_its_sha256(
    sqlite_site: Site, tmp_path: Path
) -> None:
    path, data = a_bundle(tmp_path)
    name = channel()
    done = gateway_cli(sqlite_site, "publish-bundle", str(path), "--arch", "arm64", "--channel", name,
                       "--version", "2026.12.1")  # fmt: skip
    assert done.returncode == 0, done.stderr
    digest = hashlib.sha256(data).hexdigest()
    assert (
        f"published 2026.12.1 for arm64 on channel {name}: {len(data)} bytes, sha256 {digest}" in done.stdout
    )
    with sqlite_site.client() as kiosk:
        listed = kiosk.get("/v1/updates", params={"channel": name, "arch": "arm64"}).json()["bundles"]
        assert [(b["version"], b["sha256"], b["size"], b["compatible"]) for b in listed] == [
            ("2026.12.1", digest, len(data), "library-kiosk-arm64")
        ]
        assert kiosk.get("/v1/updates", params={"channel": name, "arch": "amd64"}).json() == {"bundles": []}
        whole = kiosk.get(listed[0]["path"])
        assert whole.status_code == 200 and hashlib.sha256(whole.content).hexdigest() == digest
        rest = kiosk.get(listed[0]["path"], headers={"Range": "bytes=1000-"})
        assert rest.status_code == 206 and rest.content == data[1000:]  # a cut download resumes


def test_a_new_bundle_replaces_the_current_one_of_its_channel_only(sqlite_site: Site, tmp_path: Path) -> None:
    stable, beta = channel(), channel()
    for name, version in ((stable, "1.0"), (beta, "2.0-beta"), (stable, "1.1")):
        path, _ = a_bundle(tmp_path)
        done = gateway_cli(sqlite_site, "publish-bundle", str(path), "--arch", "amd64", "--channel", name,
                           "--version", version)  # fmt: skip
        assert done.returncode == 0, done.stderr
    with sqlite_site.client() as kiosk:
        listed = kiosk.get("/v1/updates", params={"arch": "amd64"}).json()["bundles"]
    current = {b["channel"]: b["version"] for b in listed}
    assert current[stable] == "1.1" and current[beta] == "2.0-beta"
    assert stable in gateway_cli(sqlite_site, "bundles").stdout


def test_bundles_are_only_for_enrolled_kiosks(sqlite_site: Site, tmp_path: Path) -> None:
    path, data = a_bundle(tmp_path)
    gateway_cli(sqlite_site, "publish-bundle", str(path), "--arch", "amd64", "--version", "1", "--channel",
                channel())  # fmt: skip
    bundle = f"/v1/updates/bundles/{hashlib.sha256(data).hexdigest()}"
    with httpx.Client(base_url=sqlite_site.url, timeout=30) as stranger:
        for where in ("/v1/updates", bundle):
            assert stranger.get(where).json()["error"] == "no_token"
            refused = stranger.get(where, headers={"Authorization": "Bearer kgw1.nobody.nothing"})
            assert refused.status_code == 401 and refused.json()["error"] == "bad_token"


def test_a_malformed_or_unknown_bundle_name_is_refused_with_the_reason(sqlite_site: Site) -> None:
    with sqlite_site.client() as kiosk:
        assert kiosk.get("/v1/updates/bundles/gateway.toml").json()["error"] == "invalid_bundle"
        climbing = kiosk.get("/v1/updates/bundles/..%2F..%2Fgateway.toml")
        assert climbing.status_code == 404 and "consortium_key_file" not in climbing.text
        unknown = kiosk.get(f"/v1/updates/bundles/{'0' * 64}")
        assert unknown.status_code == 404 and unknown.json()["error"] == "no_such_bundle"
        assert kiosk.get("/v1/updates", params={"arch": "riscv64"}).json()["error"] == "invalid_arch"
        assert kiosk.get("/v1/updates", params={"channel": "Stable!"}).json()["error"] == "invalid_channel"


def test_publishing_says_what_is_wrong(sqlite_site: Site, tmp_path: Path) -> None:
    path, _ = a_bundle(tmp_path)
    cases = [
        (["publish-bundle", str(path), "--arch", "amd64", "--channel", "Bad Channel", "--version", "1"],
         "channel 'Bad Channel': 1-32 lower-case letters"),
        (["publish-bundle", str(path), "--arch", "amd64"], "give --keyring"),
        (["publish-bundle", str(tmp_path / "missing.raucb"), "--arch", "amd64", "--version", "1"],
         "missing.raucb: no such file"),
    ]  # fmt: skip
    for args, message in cases:
        done = gateway_cli(sqlite_site, *args)
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
