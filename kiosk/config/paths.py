"""Every path in the file, checked for what the station will do with it.

- the journal (`[journal] path`): its directory is created if missing and must be writable; an existing
  journal must be an SQLite file, readable and writable, and the kiosk user's alone (it names patrons);
- the receipts (`[printer] directory`): created if missing, writable, not open to other users;
- secrets (`[sip2] password_file`, `client_key`): a regular file, not empty, UTF-8, and readable by the
  kiosk user alone, or the station refuses it and says `chmod 600 FILE`.

Each problem is one line naming the file, the key, what is wrong and what to do.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from kiosk.config.errors import ConfigError, problem

SQLITE_HEADER = b"SQLite format 3\x00"


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path("/")


def _owner_only(path: Path, mode: int, fix: str) -> str | None:
    if mode & 0o077:
        return f"{str(path)!r} can be read by other users (mode {stat.S_IMODE(mode):04o}): {fix}"
    return None


def directory_problem(directory: Path, *, private: bool) -> str | None:
    """Why the station cannot create files in `directory` (made if missing), or None."""
    if directory.exists() and not directory.is_dir():
        return f"{str(directory)!r} is not a directory: name a directory"
    base = _nearest_existing(directory)
    if not base.is_dir():
        return f"{str(base)!r} is a file, so {str(directory)!r} cannot be made: name a directory"
    if not _can_write_in(base):
        user = _user()
        return f"{str(base)!r} is not writable by {user}: chown {user} {base}, or name another directory"
    if private and directory.exists():
        return _owner_only(directory, directory.stat().st_mode, f"chmod 700 {directory}")
    return None


def _can_write_in(directory: Path) -> bool:
    """Tried, not guessed: root passes `os.access` on a read-only or virtual file system."""
    if not os.access(directory, os.W_OK | os.X_OK):
        return False
    try:
        with tempfile.TemporaryFile(dir=directory):
            return True
    except OSError:
        return False


def journal_problem(path: Path) -> str | None:
    """Why the station cannot keep its journal at `path`, or None."""
    if path.exists():
        if not path.is_file():
            return (
                f"{str(path)!r} is not a file: name the journal's file, e.g. /var/lib/kiosk/journal.sqlite3"
            )
        if not os.access(path, os.R_OK | os.W_OK):
            return f"{str(path)!r} is not readable and writable by {_user()}: chown {_user()} {path}"
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
        if header and header != SQLITE_HEADER:
            return f"{str(path)!r} is not a journal (not an SQLite file): name another file, or move it away"
        for companion in (path, *(Path(f"{path}{suffix}") for suffix in ("-wal", "-shm", ".lock"))):
            if companion.exists():
                found = _owner_only(companion, companion.stat().st_mode, f"chmod 600 {companion}")
                if found:
                    return found + " (the journal names patrons)"
    return directory_problem(path.parent, private=True)


def read_secret(where: str, section: str, key: str, name: str) -> str:
    """The secret in file `name` (one line), or `ConfigError` saying how to fix the file."""
    if not name:
        raise ConfigError(problem(where, section, key, "not set: name the file that holds it (chmod 600)"))
    path = Path(name)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(problem(where, section, key, f"{name!r} is not a file"))
        mode_problem = _owner_only(path, info.st_mode, f"chmod 600 {path}")
        if mode_problem:
            raise ConfigError(problem(where, section, key, mode_problem))
        text = path.read_bytes().decode("utf-8").strip()
    except OSError as error:
        fix = f"create it with the secret on one line, then chmod 600 {path}"
        raise ConfigError(problem(where, section, key, f"{name!r}: {error.strerror}: {fix}")) from error
    except UnicodeDecodeError as error:
        what = f"{name!r} is not UTF-8 text ({error.reason} at byte {error.start}): write it again as UTF-8"
        raise ConfigError(problem(where, section, key, what)) from error
    if not text:
        what = f"{name!r} is empty: write the secret into it (without it the station cannot log in)"
        raise ConfigError(problem(where, section, key, what))
    return text


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):
        return f"uid {os.geteuid()}"


__all__ = ["directory_problem", "journal_problem", "read_secret"]
