"""When the journal commits what rides along, and when it forgets old entries: the station's rules."""

from __future__ import annotations

from datetime import datetime, timedelta

from kiosk.journal.journal import Journal

QUIET_SPELL = timedelta(seconds=30)
PURGE_EVERY = timedelta(days=1)


class JournalUpkeep:
    """The station's rules for committing what rides along, and for forgetting old entries.

    Records are never deferred: a record is committed before anything is sent (`GroupCommit`: the items
    of a stack in one commit). What rides along (outcomes, AFI notes, remembered cards) goes with the next
    record's commit, and is committed on its own only
    - when a patron session ends (the station calls `flush()`),
    - at a tick when no session is active and it has waited at least `quiet` (a quiet spell),
    - when the station stops or the journal is closed.
    So a stack costs one commit, items placed one at a time one each, and the session's last outcomes
    one more; a lone return with no session around it waits for the quiet spell. Finished entries older
    than `purge_after` are purged at start and then every `purge_every`.

    Times come from the caller (the station's clock): no sleeping, and the benchmark drives the same
    code with a simulated clock."""

    def __init__(
        self,
        journal: Journal,
        *,
        quiet: timedelta = QUIET_SPELL,
        purge_after: timedelta | None = timedelta(days=30),
        purge_every: timedelta = PURGE_EVERY,
    ) -> None:
        self.journal = journal
        self.quiet = quiet
        self.purge_after = purge_after
        self.purge_every = purge_every
        self.last_purge: datetime | None = None
        self._waiting_since: datetime | None = None  # when the changes waiting now were first seen
        self._seen_at_commit = -1

    def flush_due(self, now: datetime, *, session_active: bool) -> bool:
        """At a tick: should the waiting changes be committed now?"""
        if not self.journal.pending:
            self._waiting_since = None
            return False
        if self._waiting_since is None or self.journal.commits != self._seen_at_commit:
            # New changes since the last commit (which took the earlier ones along): the spell starts now.
            self._waiting_since, self._seen_at_commit = now, self.journal.commits
        return not session_active and now - self._waiting_since >= self.quiet

    def flush(self) -> None:
        """Commit what waits (blocking: one fsync when anything waits)."""
        self.journal.flush()
        self._waiting_since = None

    def purge_due(self, now: datetime) -> bool:
        if self.purge_after is None:
            return False
        return self.last_purge is None or now - self.last_purge >= self.purge_every

    def purge(self, now: datetime) -> int:
        """Forget finished entries older than `purge_after` (blocking)."""
        self.last_purge = now
        if self.purge_after is None:
            return 0
        return self.journal.purge(self.purge_after, now=now)


__all__ = ["PURGE_EVERY", "QUIET_SPELL", "JournalUpkeep"]
