"""Checks of the kiosk itself: the clock, the disk, the journal's integrity and the secret files' modes."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import sqlite3
import stat
import struct
from pathlib import Path

from kiosk.clock import kernel_clock_synchronised
from kiosk.config import StationConfig
from kiosk.doctor.result import Finding, fail, ok, warn

LOW_DISK = 500 * 1024 * 1024  # below this: warn (journald keeps 500 MB free on the image)
FULL_DISK = 50 * 1024 * 1024  # below this the journal may fail to commit: fail
DRIFT_LIMIT = 1.0  # seconds: loans and due dates are to the minute; more than this is worth a look
STA_NANO = 0x2000
JOURNAL_COMPANIONS = ("-wal", "-shm", ".lock", ".key")


def check_clock(config: StationConfig) -> Finding:
    if config.clock.trust == "always":
        return ok("clock", "trusted by configuration ([clock] trust = 'always'); not asked")
    if kernel_clock_synchronised():
        estimate = kernel_clock_estimate()
        said = "synchronised with network time"
        if estimate is None:
            return ok("clock", said)
        offset, error = estimate
        said += f" (offset {offset * 1000:+.1f} ms, estimated error {error * 1000:.1f} ms)"
        if abs(offset) > DRIFT_LIMIT or error > DRIFT_LIMIT:
            return warn(
                "clock", said, "the clock drifts: check `timedatectl timesync-status` and the NTP server"
            )
        return ok("clock", said)
    return warn(
        "clock",
        "not synchronised with network time: loans recorded now carry a doubtful date",
        "check that the kiosk reaches an NTP server (`timedatectl timesync-status`); after a power cut it "
        "synchronises within minutes once online",
    )


def kernel_clock_estimate() -> tuple[float, float] | None:
    """(offset, estimated error) in seconds from the kernel's NTP state (ntp_adjtime, read-only), or None.

    struct timex on Linux begins `int modes; long offset, freq, maxerror, esterror; int status`; offset is
    in nanoseconds when STA_NANO is set, else microseconds; esterror is in microseconds."""
    buffer = ctypes.create_string_buffer(512)  # modes = 0: read only
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        if libc.ntp_adjtime(buffer) < 0:
            return None
    except (OSError, AttributeError):
        return None
    _modes, offset, _freq, _maxerror, esterror, status = struct.unpack_from("@iqqqqi", buffer.raw)
    scale = 1e-9 if status & STA_NANO else 1e-6
    return offset * scale, esterror * 1e-6


def check_disk(journal: Path) -> Finding:
    where = _existing_parent(journal)
    usage = shutil.disk_usage(where)
    free = f"{usage.free / 1024 / 1024:.0f} MB free of {usage.total / 1024 / 1024:.0f} MB on {where}"
    if usage.free < FULL_DISK:
        return fail("disk", free, "the journal can fail to record loans: free space (old logs, receipts)")
    if usage.free < LOW_DISK:
        return warn("disk", free, "little space left: free some before it fills")
    return ok("disk", free)


def check_journal(journal: Path) -> Finding:
    if not journal.exists():
        return warn("journal", f"{journal} does not exist yet", "the station makes it at its first start")
    if not os.access(journal, os.R_OK):
        return warn("journal", f"{journal}: not readable by this user", "run `sudo kiosk doctor`")
    try:
        connection = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
        try:
            answer = [row[0] for row in connection.execute("PRAGMA integrity_check")]
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        if "locked" in str(error):
            return warn("journal", f"{journal}: busy ({error})", "run `kiosk doctor` again in a minute")
        answer = [str(error)]
    if answer == ["ok"]:
        return ok("journal", f"{journal}: integrity ok")
    return fail(
        "journal",
        f"{journal} is damaged ({'; '.join(answer[:3])})",
        "stop the station, copy the journal aside for the consortium's IT, and report it: entries in it may "
        "not have reached the library system (`kiosk journal show` on the copy)",
    )


def check_file_modes(config: StationConfig) -> Finding:
    """Owner-only: the journal (it names patrons), its directory, the device token, the SIP2 password."""
    journal = Path(config.journal.path)
    files = [journal, *(journal.with_name(journal.name + s) for s in JOURNAL_COMPANIONS)]
    files += [Path(p) for p in (config.gateway.token_file, config.sip2.password_file) if p]
    wrong = [f"{path} is {_mode(path):04o} (should be 0600)" for path in files if _open_to_others(path)]
    if journal.parent.exists() and _mode(journal.parent) & 0o077:
        wrong.append(f"{journal.parent} is {_mode(journal.parent):04o} (should be 0700)")
    if not wrong:
        return ok("files", "the journal, its folder and the secrets are the kiosk user's alone")
    return fail(
        "files",
        "; ".join(wrong),
        "others on this machine can read patron data or secrets: `chmod 600` the files and `chmod 700` the "
        "folder (the station itself makes them so at start)",
    )


def _open_to_others(path: Path) -> bool:
    return path.exists() and stat.S_ISREG(path.stat().st_mode) and bool(_mode(path) & 0o077)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _existing_parent(path: Path) -> Path:
    path = path.absolute()
    while not path.exists():
        path = path.parent
    return path if path.is_dir() else path.parent


__all__ = ["check_clock", "check_disk", "check_file_modes", "check_journal"]
