"""The durable write-ahead journal and its exactly-once replay.

- `states`: what an entry may become (the table every change is checked against);
- `entry`: one entry, and whether a settled one took effect at the library system;
- `storage`: how it is durable (SQLite, WAL, one write path, the lock file);
- `journal`: recording, settling, reading entries; cards seen blocked;
- `cards`: what is remembered of cards, under their pseudonym (HMAC-SHA256, this station's key);
- `tasks`: each loan's and return's security intent (recorded with it), and the staff tasks;
- `group_commit`: the records of a stack in one commit;
- `upkeep`: when what rides along is committed, and when old entries are purged;
- `sync`: the replay, exactly once, in order per item.
"""

from kiosk.journal.cards import station_key
from kiosk.journal.entry import Entry, NewEntry, took_effect
from kiosk.journal.group_commit import GroupCommit
from kiosk.journal.journal import Journal
from kiosk.journal.states import (
    FINAL,
    TRANSITIONS,
    UNSETTLED,
    IllegalTransition,
    JournalError,
    State,
    UnknownEntry,
)
from kiosk.journal.storage import SCHEMA_VERSION, JournalBusy, JournalNewer
from kiosk.journal.sync import (
    TOLD_FAILED,
    ConflictForStaff,
    EntryReplayed,
    Replayer,
    ReplayReport,
    SyncReport,
)
from kiosk.journal.tasks import INTENDED_AFI, PendingUndo, SecurityIntent, UnfinishedWrite
from kiosk.journal.upkeep import PURGE_EVERY, QUIET_SPELL, JournalUpkeep

__all__ = [
    "FINAL",
    "INTENDED_AFI",
    "PURGE_EVERY",
    "QUIET_SPELL",
    "SCHEMA_VERSION",
    "TOLD_FAILED",
    "TRANSITIONS",
    "UNSETTLED",
    "ConflictForStaff",
    "Entry",
    "EntryReplayed",
    "GroupCommit",
    "IllegalTransition",
    "Journal",
    "JournalBusy",
    "JournalError",
    "JournalNewer",
    "JournalUpkeep",
    "NewEntry",
    "PendingUndo",
    "ReplayReport",
    "Replayer",
    "SecurityIntent",
    "State",
    "SyncReport",
    "UnfinishedWrite",
    "UnknownEntry",
    "station_key",
    "took_effect",
]
