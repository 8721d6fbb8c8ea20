"""python-escpos's printer database, loaded in milliseconds instead of a second.

python-escpos 3.1 reads its printer database (`capabilities.json`, 96 KB) with PyYAML's pure-Python
`safe_load` when `escpos.capabilities` is first imported: 0.3-0.8 s on a PC, seconds on a Raspberry Pi,
in every process (its pickle cache sits in a new `mkdtemp()` folder each time, so it is never found
again, and each run leaves that folder behind in /tmp). The station imports it when it checks
`[printer]`, before its window opens (issue 15, cold start).

`load()` (what `drivers.printer.codepages` calls before it asks python-escpos anything) reads the same
file with `json` (it is JSON; a test holds both readings equal), writes the pickle python-escpos looks for
into a folder of this process's own (0700), imports `escpos.capabilities` with
`ESCPOS_CAPABILITIES_PICKLE_DIR` pointing there, and removes the folder and the variable again (a child
process must not inherit a folder that is gone). With that variable already set, or without the files,
python-escpos does what it always did.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import platform
import sys
import tempfile
from pathlib import Path

PICKLE_DIR = "ESCPOS_CAPABILITIES_PICKLE_DIR"
CAPABILITIES_FILE = "ESCPOS_CAPABILITIES_FILE"


def capabilities_file() -> Path | None:
    """The printer database python-escpos will read (its own, or the one `ESCPOS_CAPABILITIES_FILE`
    names), without importing python-escpos."""
    if os.environ.get(CAPABILITIES_FILE):
        return Path(os.environ[CAPABILITIES_FILE])
    spec = importlib.util.find_spec("escpos")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "capabilities.json"


def load() -> None:
    """Import `escpos.capabilities`, from a pickle made of the JSON where that can be done."""
    if "escpos.capabilities" in sys.modules:
        return
    source = capabilities_file()
    database = None
    if PICKLE_DIR not in os.environ and source is not None:
        try:
            database = json.loads(source.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            database = None  # python-escpos reads it itself, and says what is wrong
    if database is None or source is None:
        import escpos.capabilities

        return
    with tempfile.TemporaryDirectory(prefix="kiosk-escpos-") as folder:
        target = Path(folder) / f"{platform.python_version()}.capabilities.pickle"
        with target.open("wb") as out:
            pickle.dump(database, out, protocol=pickle.HIGHEST_PROTOCOL)
        # python-escpos takes the pickle unless the database is newer: the same time, whatever the clock
        stamp = source.stat().st_mtime
        os.utime(target, (stamp, stamp))
        os.environ[PICKLE_DIR] = folder
        try:
            import escpos.capabilities  # noqa: F401
        finally:
            del os.environ[PICKLE_DIR]


__all__ = ["capabilities_file", "load"]
