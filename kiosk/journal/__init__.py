"""The durable write-ahead journal and its exactly-once replay."""

from kiosk.journal.journal import (
    FINAL,
    PURGE_EVERY,
    QUIET_SPELL,
    UNSETTLED,
    Entry,
    GroupCommit,
    Journal,
    JournalBusy,
    JournalUpkeep,
    NewEntry,
    Operation,
    State,
)
from kiosk.journal.sync import (
    CHARGED,
    TOLD_FAILED,
    Replayer,
    SyncReport,
)

__all__ = [
    "CHARGED",
    "FINAL",
    "PURGE_EVERY",
    "QUIET_SPELL",
    "TOLD_FAILED",
    "UNSETTLED",
    "Entry",
    "GroupCommit",
    "Journal",
    "JournalBusy",
    "JournalUpkeep",
    "NewEntry",
    "Operation",
    "Replayer",
    "State",
    "SyncReport",
]
