"""A configuration file `kiosk run` would take, for the config tests of this folder, and what the station
says about one before it runs."""

from __future__ import annotations

from pathlib import Path

from kiosk.config import ConfigError, check_for_run, load


def station_file(tmp_path: Path, extra: str = "", *, secret: str = "s3cret\n", mode: int = 0o600) -> Path:
    """A file `kiosk run` would take, with the keys of `extra` ("[section]" and "key = value" lines) set
    over it; `secret` and `mode` are the SIP2 password file's content and permissions."""
    password = tmp_path / "sip2-password"
    password.write_text(secret, encoding="utf-8")
    password.chmod(mode)
    (tmp_path / "var").mkdir(mode=0o700, exist_ok=True)
    sections: dict[str, dict[str, str]] = {
        "sip2": {"password_file": f'"{password}"', "user": '"kiosk"'},
        "journal": {"path": f'"{tmp_path / "var" / "journal.sqlite3"}"'},
        "printer": {"directory": f'"{tmp_path / "var" / "receipts"}"'},
    }
    section = ""
    for line in extra.splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif line.strip():
            key, value = (part.strip() for part in line.split("=", 1))
            sections.setdefault(section, {})[key] = value
    path = tmp_path / "kiosk.toml"
    text = "".join(
        f"[{name}]\n" + "".join(f"{k} = {v}\n" for k, v in keys.items()) for name, keys in sections.items()
    )
    path.write_text(text, encoding="utf-8")
    return path


def refusal(path: Path) -> str:
    """What the station says about `path` before it would run, or "" when it would run."""
    try:
        check_for_run(load(path))
    except ConfigError as error:
        return str(error)
    return ""
