"""Small files the station keeps beside its journal (offline data, hour counts, central settings, the demo's
tags, the state files): written whole or not at all, with the permissions given at creation."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: str | bytes, *, mode: int = 0o600) -> None:
    """Replace `path` with `data` so that a reader, or the next start after a crash, finds the old file or
    the new one, never a part. The temporary file has a name of its own (two writers at once do not meet
    on it), is created with `mode` (owner-only by default: never readable by others, not even for a
    moment) and reaches the disk before it takes the name; the folder is synced after the rename."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    temporary = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as out:
            os.fchmod(out.fileno(), mode)
            out.write(raw)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


__all__ = ["write_atomically"]
