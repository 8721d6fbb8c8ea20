"""What a journal entry may become: its states, and the table of the changes allowed between them.

Like h11's `_state.py`, the rules are data. Every change of an entry's state goes through `check()`
(`Journal.settle`, `mark_replaying`, `resolve`); a change the table does not list raises
`IllegalTransition` and changes nothing.

    new ─► SENDING    online: sent right after it was recorded
    new ─► QUEUED     offline: accepted under the offline policy, waits for the replay

    SENDING ──reply──► DONE | REFUSED
    SENDING ──no reply, patron told it failed──► SENDING (told_patron: failed)
    SENDING ──no reply / crash──► (reconcile) ──► DONE | CONFLICT | REFUSED, or REPLAYING (sent again)
    QUEUED ──replay──► REPLAYING
    REPLAYING ──reply──► DONE | REFUSED | CONFLICT
    REPLAYING ──lost reply / crash──► (reconcile) ──► DONE | CONFLICT | REFUSED | REPLAYING (again)
    REPLAYING ──no reply again, patron told it failed──► SENDING (told_patron: failed)
    CONFLICT ──staff──► RESOLVED
    DONE, REFUSED, RESOLVED: final (purged after `[journal] purge_after_days`)

SENDING and REPLAYING mean "may or may not have reached the library system": they are never resent
blindly; `kiosk.journal.sync` first asks the library system what happened (SIP2 has no transaction id).
"""

from __future__ import annotations

import enum


class State(enum.StrEnum):
    SENDING = "sending"
    QUEUED = "queued"
    REPLAYING = "replaying"
    DONE = "done"
    REFUSED = "refused"
    CONFLICT = "conflict"
    RESOLVED = "resolved"


NEW = frozenset({State.SENDING, State.QUEUED})  # what a new entry may start as
UNSETTLED = (State.SENDING, State.QUEUED, State.REPLAYING)
FINAL = (State.DONE, State.REFUSED, State.RESOLVED)

# What may happen to an entry in each state (the diagram above).
TRANSITIONS: dict[State, frozenset[State]] = {
    State.SENDING: frozenset(
        {
            State.SENDING,  # no reply: the patron was told it failed (the outcome says so)
            State.REPLAYING,  # reconciled as not there: sent again
            State.DONE,  # the reply, or reconciled as done
            State.REFUSED,  # refused, never sent, or never reached the library system
            State.CONFLICT,  # the patron was told it failed, but the library system has it
        }
    ),
    State.QUEUED: frozenset({State.REPLAYING}),  # marked durably before the replay sends it
    State.REPLAYING: frozenset(
        {
            State.REPLAYING,  # the replay's reply was lost: reconciled and sent once more
            State.SENDING,  # no reply again while the patron waited: told it failed
            State.DONE,
            State.REFUSED,  # an online action nobody was promised, refused when sent again
            State.CONFLICT,  # an offline action the library system refused on replay
        }
    ),
    State.CONFLICT: frozenset({State.RESOLVED}),  # staff fixed the account
    State.DONE: frozenset(),
    State.REFUSED: frozenset(),
    State.RESOLVED: frozenset(),
}


class JournalError(Exception):
    """Base of what the journal itself raises (SQLite and OS errors pass through as they are)."""


class IllegalTransition(JournalError, KeyError):
    """The entry's state does not allow this change (`TRANSITIONS`); nothing was changed.

    Also a `KeyError`: the table has no such change for the state the entry is in."""

    def __init__(self, entry_id: object, old: State, new: State) -> None:
        allowed = ", ".join(sorted(TRANSITIONS[old])) or "nothing: it is final"
        super().__init__(f"entry {entry_id} is {old}, which cannot become {new} (it may become {allowed})")
        self.entry_id, self.old, self.new = entry_id, old, new

    def __str__(self) -> str:
        return str(self.args[0])  # not KeyError's quoted repr


class UnknownEntry(JournalError, KeyError):
    """No entry with this id (never recorded, or purged)."""

    def __str__(self) -> str:
        return str(self.args[0])


def check(entry_id: object, old: State, new: State) -> None:
    """Raise `IllegalTransition` unless an entry in state `old` may become `new`."""
    if new not in TRANSITIONS[old]:
        raise IllegalTransition(entry_id, old, new)


__all__ = [
    "FINAL",
    "NEW",
    "TRANSITIONS",
    "UNSETTLED",
    "IllegalTransition",
    "JournalError",
    "State",
    "UnknownEntry",
    "check",
]
