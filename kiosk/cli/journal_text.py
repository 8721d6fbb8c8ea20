"""How `kiosk journal` shows entries: text for staff, JSON for scripts. Patron ids only where asked."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from kiosk.journal import Entry, took_effect


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def yes(value: bool) -> str:
    return "yes" if value else "no"


def took_effect_text(entry: Entry) -> str:
    effect = took_effect(entry)
    return "not known yet" if effect is None else yes(effect)


def flags(entry: Entry) -> str:
    found = []
    if entry.offline:
        found.append("offline")
    if entry.replayed:
        found.append("replayed")
    if not entry.clock_synchronised:
        found.append("clock-untrusted")
    return ",".join(found) or "-"


def entry_record(entry: Entry, *, patron: bool) -> dict[str, Any]:
    """One entry as JSON; with `patron`, also whose it is and what became of it (for staff)."""
    record: dict[str, Any] = {
        "id": str(entry.id),
        "seq": entry.seq,
        "operation": entry.operation.value,
        "item_id": entry.item_id,
        "at": entry.at.isoformat(),
        "due_date": entry.due_date.isoformat() if entry.due_date else None,
        "state": entry.state.value,
        "offline": entry.offline,
        "clock_trusted": entry.clock_synchronised,
        "replayed": entry.replayed,
        "attempts": entry.attempts,
        "reason": entry.reason,
        "library_message": entry.screen_message,
        "updated": entry.updated.isoformat() if entry.updated else None,
    }
    if patron:
        record["patron_id"] = entry.patron_id
        record["took_effect"] = took_effect_text(entry)
        record["outcome"] = entry.outcome
        record["security"] = list(entry.security)
    return record


def describe(entry: Entry) -> list[tuple[str, str]]:
    """Everything about one entry, as (label, value) lines for staff (`kiosk journal show`)."""
    security = "; ".join(
        f"tag {s.get('uid')} AFI {s.get('afi')} {'verified' if s.get('verified') else 'NOT verified'}"
        for s in entry.security
    )
    return [
        ("id", str(entry.id)),
        ("seq", str(entry.seq)),
        ("operation", entry.operation.value),
        ("item", entry.item_id),
        ("patron", entry.patron_id or "-"),
        ("at", when(entry.at)),
        ("due date", when(entry.due_date)),
        ("state", entry.state.value),
        ("reason", entry.reason or "-"),
        ("library system said", entry.screen_message or "-"),
        ("took effect", took_effect_text(entry)),
        ("offline", yes(entry.offline)),
        ("clock trusted", yes(entry.clock_synchronised)),
        ("replayed", yes(entry.replayed)),
        ("attempts", str(entry.attempts)),
        ("outcome", json.dumps(entry.outcome, ensure_ascii=False, default=str) if entry.outcome else "-"),
        ("security", security or "-"),
        ("updated", when(entry.updated)),
    ]


def list_row(entry: Entry) -> str:
    """One line of `kiosk journal list` (no patron id), under `LIST_HEADER`."""
    return (
        f"{when(entry.at):19}  {entry.id.hex[:8]}  {entry.operation.value:9}  {entry.item_id:16}  "
        f"{entry.state.value:9}  {flags(entry):32}  {entry.reason}"
    ).rstrip()


LIST_HEADER = f"{'at':19}  {'id':8}  {'operation':9}  {'item':16}  {'state':9}  {'flags':32}  reason"


def conflict_lines(entry: Entry) -> list[str]:
    """One conflict for staff (`kiosk journal conflicts`): what, why, what the library system said."""
    patron = f" for patron {entry.patron_id}" if entry.patron_id else ""
    return [
        f"{entry.id.hex[:8]}  {when(entry.at)}  {entry.operation.value} of item {entry.item_id}{patron}",
        f"    reason: {entry.reason or '-'}",
        f"    library system said: {entry.screen_message or '-'}",
        f"    took effect: {took_effect_text(entry)}; offline: {yes(entry.offline)}; clock trusted: "
        + yes(entry.clock_synchronised),
    ]


__all__ = [
    "LIST_HEADER",
    "conflict_lines",
    "describe",
    "entry_record",
    "flags",
    "list_row",
    "took_effect_text",
    "when",
    "yes",
]
