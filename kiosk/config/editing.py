"""Writing one section of the station's file, keeping everything else as the technician wrote it.

`kiosk staff set-credential` uses it for `[staff]`: the old section's lines go, the new one is appended,
comments and the other sections stay. The file is replaced atomically with its mode kept, and what was
written is read back through `load`, so a file that would not load is never left behind.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
from pathlib import Path

from kiosk.config.errors import ConfigError
from kiosk.config.loading import load
from kiosk.config.sections import StationConfig

_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.-]+)\s*\]\s*(#.*)?$")


def without_section(text: str, name: str) -> str:
    """`text` without the `[name]` section (its header and every line up to the next header)."""
    kept: list[str] = []
    inside = False
    for line in text.splitlines(keepends=True):
        header = _HEADER.match(line)
        if header:
            inside = header.group(1) == name
        if not inside:
            kept.append(line)
    return "".join(kept)


def set_section(path: Path, name: str, values: dict[str, str]) -> StationConfig:
    """Replace `[name]` in the file at `path` with `values` (strings); returns the configuration as
    read back. Raises `ConfigError` (and leaves the file as it was) when the result would not load."""
    try:
        original = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode & 0o7777
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read the configuration: {error}") from error
    body = without_section(original, name).rstrip("\n")
    lines = "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())
    text = f"{body}\n\n[{name}]\n{lines}" if body else f"[{name}]\n{lines}"
    handle, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, mode)
        config = load(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dataclasses.replace(config, source=str(path))


__all__ = ["set_section", "without_section"]
