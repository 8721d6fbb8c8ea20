"""Compare a station's journal with the demo library system's own transaction log.

The demo library system writes every checkout, checkin and renewal it applies to its `events` table,
with the transaction date it was given. That is the ground truth the offline scenario, the network-fault
test and the crash test hold the station to:

- every journal entry that ended DONE, or in a CONFLICT that took effect, must appear exactly once;
- entries that ended REFUSED (never reached it, or refused online) or in a CONFLICT that did not take
  effect must not appear;
- an action sent twice shows up as a second event (a repeated checkout becomes a renewal, a repeated
  checkin a checkin of an item not on loan): that is what "duplicated" counts.

Only meaningful against the demo library system, whose database we can read; a real one is audited by
its own reports.
"""

from __future__ import annotations

import collections
import sqlite3
from pathlib import Path
from typing import Any

from kiosk.journal import Journal, State, took_effect
from server_api.demo_ils.data import iso

Key = tuple[str, str]  # (event kind, item id)


def ils_events(ils_db: Path, items: set[str] | None = None) -> list[tuple[str, str, str | None, str]]:
    """(kind, item id, patron, transaction date) of every applied circulation event, in order."""
    with sqlite3.connect(ils_db) as db:
        rows = db.execute(
            "SELECT kind, item_id, patron, at FROM events"
            " WHERE kind IN ('checkout', 'checkin', 'renew') ORDER BY id"
        ).fetchall()
    return [
        (str(kind), str(item), patron, str(at))
        for kind, item, patron, at in rows
        if items is None or item in items
    ]


def audit(journal: Journal, ils_db: Path) -> dict[str, Any]:
    """Lost and duplicated transactions, conflicts, and whether original dates were kept."""
    entries = journal.entries()
    unsettled = [e for e in entries if took_effect(e) is None]
    expected: collections.Counter[Key] = collections.Counter()
    dated: set[tuple[str, str, str]] = set()
    for entry in entries:
        if took_effect(entry):
            expected[(entry.operation.value, entry.item_id)] += 1
            dated.add((entry.operation.value, entry.item_id, iso(entry.at)))
    items = {e.item_id for e in entries}
    events = ils_events(ils_db, items)
    applied = collections.Counter((kind, item) for kind, item, _patron, _at in events)
    applied_dated = {(kind, item, at) for kind, item, _patron, at in events}
    conflicts = [e for e in entries if e.state is State.CONFLICT]
    return {
        "entries": len(entries),
        "replayed": sum(1 for e in entries if e.replayed),
        "lost": sum((expected - applied).values()),
        "duplicated": sum((applied - expected).values()),
        "unsettled": len(unsettled),
        "original_dates_kept": dated <= applied_dated,
        "untrusted_clock": sum(1 for e in entries if not e.clock_synchronised),
        "conflicts": [
            {
                "id": str(e.id),
                "item_id": e.item_id,
                "operation": e.operation.value,
                "patron_id": e.patron_id,
                "reason": e.reason,
                "screen_message": e.screen_message,
                "took_effect": bool(e.outcome.get("happened", False)),
            }
            for e in conflicts
        ],
    }


__all__ = ["audit", "ils_events"]
