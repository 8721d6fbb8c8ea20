"""python-escpos's printer database, loaded in milliseconds instead of a second.

python-escpos 3.1 reads its printer database (`capabilities.json`, 96 KB) with PyYAML's pure-Python
`safe_load` when `escpos.capabilities` is first imported: 0.3-0.8 s on a PC, seconds on a Raspberry Pi,
in every process (its pickle cache sits in a new `mkdtemp()` folder each time, so it is never found
again, and each run leaves that folder behind in /tmp: it makes one even when told where to look). The
station imports it when it checks `[printer]`, before its window opens (issue 15, cold start).

`database()` reads the same file with `json` (it is JSON; a test holds both readings equal): checking
`[printer]` (`drivers.printer.codepages`) needs nothing more, and does not import python-escpos (nor PyYAML,
whose C part alone takes 0.03-0.3 s to load). `load()`, before printing, writes the pickle python-escpos
looks for into a folder of this process's own (0700), imports `escpos.capabilities` with
`ESCPOS_CAPABILITIES_PICKLE_DIR` pointing there, and removes the folder and the variable again (a child
process must not inherit a folder that is gone). With that variable already set, or without the files,
python-escpos does what it always did. (It also makes an empty `mkdtemp()` folder when imported, the
default of an `environ.get` it evaluates anyway: `load()` points `tempfile.tempdir` into its own folder
meanwhile, so that one goes too.)
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import pickle
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

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


@functools.cache
def database() -> dict[str, Any]:
    """The printer database (profiles, encodings) as python-escpos reads it, without importing python-escpos:
    what checking `[printer]` needs. From python-escpos itself when its file cannot be read here."""
    if "escpos.capabilities" not in sys.modules and PICKLE_DIR not in os.environ:
        found = _read(capabilities_file())
        if found is not None:
            return found
    load()
    from escpos.capabilities import CAPABILITIES

    theirs: dict[str, Any] = CAPABILITIES
    return theirs


def load() -> None:
    """Import `escpos.capabilities` (to print), from a pickle of the JSON where that can be done."""
    if "escpos.capabilities" in sys.modules:
        return
    source = capabilities_file()
    data = _read(source) if PICKLE_DIR not in os.environ else None
    if source is None or data is None:
        import escpos.capabilities  # python-escpos reads it itself, and says what is wrong

        return
    with tempfile.TemporaryDirectory(prefix="kiosk-escpos-") as folder:
        target = Path(folder) / f"{platform.python_version()}.capabilities.pickle"
        with target.open("wb") as out:
            pickle.dump(data, out, protocol=pickle.HIGHEST_PROTOCOL)
        # python-escpos takes the pickle unless the database is newer: the same time, whatever the clock
        stamp = source.stat().st_mtime
        os.utime(target, (stamp, stamp))
        os.environ[PICKLE_DIR] = folder
        # python-escpos computes its default folder (`mkdtemp()`) even when the variable is set: made
        # inside ours, it goes with ours instead of staying behind in /tmp.
        tempdir, tempfile.tempdir = tempfile.tempdir, folder
        try:
            import escpos.capabilities  # noqa: F401
        finally:
            del os.environ[PICKLE_DIR]
            tempfile.tempdir = tempdir


@functools.cache
def _read(source: Path | None) -> dict[str, Any] | None:
    if source is None:
        return None
    try:
        found: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found


__all__ = ["capabilities_file", "database", "load"]
