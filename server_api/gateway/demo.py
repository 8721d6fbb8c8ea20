"""A gateway configuration for the demo consortium (server_api.demo_ils): every demo library with its own
SIP2 account, secrets in 0600 files, SQLite next to it. Used by `kiosk-gateway demo-config`, `make demo`
and the tests."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from server_api.demo_ils.data import ACCOUNTS, LIBRARIES


def _secret_file(path: Path, value: str) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    os.chmod(path, 0o600)
    return path


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_demo_config(
    folder: str | Path,
    *,
    ils_host: str = "127.0.0.1",
    ils_port: int = 6001,
    port: int = 8080,
    database: str = "sqlite:///gateway.sqlite",
    sip2_timeout: float = 5.0,
    pool_size: int = 4,
    extra_gateway: str = "",
    extra_limits: str = "",
) -> Path:
    """Write `gateway.toml` and its secret files into `folder`; returns the configuration's path."""
    base = Path(folder)
    base.mkdir(parents=True, exist_ok=True)
    secrets_dir = base / "secrets"
    secrets_dir.mkdir(mode=0o700, exist_ok=True)
    key = secrets_dir / "consortium.key"
    if not key.exists():
        _secret_file(key, secrets.token_urlsafe(48))
    lines = [
        "[gateway]",
        'listen = "127.0.0.1"',
        f"port = {port}",
        f"database = {_toml_string(database)}",
        'consortium = "Troms og Finnmark (demo)"',
        'consortium_key_file = "secrets/consortium.key"',
        extra_gateway,
        "",
        "[limits]",
        extra_limits,
    ]
    users = {number: (user, password) for user, password, number in ACCOUNTS}
    for library in LIBRARIES:
        user, password = users[library.number]
        _secret_file(secrets_dir / f"sip2-{library.number}.password", password)
        lines += [
            "",
            "[[library]]",
            f'number = "{library.number}"',
            f"name = {_toml_string(library.name)}",
            "[library.sip2]",
            f"host = {_toml_string(ils_host)}",
            f"port = {ils_port}",
            f'user = "{user}"',
            f'password_file = "secrets/sip2-{library.number}.password"',
            f"timeout = {sip2_timeout}",
            f"pool_size = {pool_size}",
            "[library.cards]",
            f'patterns = ["^{library.number[:4]}\\\\d{{8}}$", "^\\\\d{{12}}$"]',
        ]
    path = base / "gateway.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


__all__ = ["write_demo_config"]
