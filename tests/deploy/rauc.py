"""RAUC for the update tests: the tools it needs, and a signing key and certificate made by the test."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def need_rauc() -> None:
    missing = [tool for tool in ("rauc", "mksquashfs", "openssl", "mkfs.ext4") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"missing {missing}: `make system-packages` installs rauc, squashfs-tools, openssl")


def signing_key(folder: Path, name: str) -> tuple[Path, Path]:
    key, cert = folder / f"{name}.key.pem", folder / f"{name}.cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", f"/CN={name}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return key, cert
