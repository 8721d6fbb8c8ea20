"""Fleet at a glance: every kiosk the person may see, its last heartbeat, and its problems, worst first.

Tenancy lives here, in the queries: `visible(viewer, column)` is added to every query of a library's rows,
so a kiosk of another library is never read, whatever the URL asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, case, func, select, true

from server_api.gateway.devices import utcnow
from server_api.gateway.schema import devices, heartbeats

from .accounts import Viewer
from .tables import commands, config_reports, tasks

# Problem kinds, the worst first; the fleet is sorted by the worst problem a kiosk has.
SEVERITY = (
    "offline",
    "out_of_order",
    "reader",
    "printer_out",
    "security_writes",
    "unreachable_ils",
    "old_journal",
    "conflicts",
    "tasks",
    "clock",
    "printer_low",
    "config_error",
)
OLD_JOURNAL = timedelta(hours=1)


def visible(viewer: Viewer, column: Any) -> ColumnElement[bool]:
    """The rows of the libraries `viewer` may see."""
    if viewer.libraries is None:
        return true()
    return column.in_(sorted(viewer.libraries))  # type: ignore[no-any-return]


@dataclass
class KioskState:
    id: str
    library: str
    name: str
    seen_at: datetime | None
    report: dict[str, Any]
    config_version: str  # what it runs: its heartbeat's word, else its last report of a version it took
    config_error: str  # why it could not take the version it was last offered ("" when it took it)
    open_tasks: int
    security_tasks: int
    out_of_order: str | None  # the message, when a technician put it out of order
    enrolled_at: datetime | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def online(self) -> bool:
        return "offline" not in self.problems

    def oldest_pending(self) -> datetime | None:
        value = self.report.get("oldest_pending_at")
        return datetime.fromisoformat(value).replace(tzinfo=None) if value else None


def problems_of(kiosk: KioskState, now: datetime, offline_after: timedelta) -> list[str]:
    report, found = kiosk.report, []
    if kiosk.seen_at is None or kiosk.seen_at < now - offline_after:
        found.append("offline")
    if kiosk.out_of_order is not None:
        found.append("out_of_order")
    if report and report.get("reader", "ok") != "ok":
        found.append("reader")
    printer = str(report.get("printer", "ok"))
    if printer in ("paper_out", "offline", "error", "missing"):
        found.append("printer_out")
    elif printer not in ("ok", ""):
        found.append("printer_low")
    if kiosk.security_tasks:
        found.append("security_writes")
    if report and not report.get("online", True):
        found.append("unreachable_ils")
    pending = kiosk.oldest_pending()
    if pending is not None and pending < now - OLD_JOURNAL:
        found.append("old_journal")
    if report.get("conflicts"):
        found.append("conflicts")
    if kiosk.open_tasks:
        found.append("tasks")
    if report and not report.get("clock_synchronised", True):
        found.append("clock")
    if kiosk.config_error:
        found.append("config_error")
    return sorted(found, key=SEVERITY.index)


def _task_counts(engine: Engine, viewer: Viewer) -> dict[str, tuple[int, int]]:
    open_security = func.sum(case((tasks.c.kind == "security_write", 1), else_=0))
    query = (
        select(tasks.c.device_id, func.count(), open_security)
        .where(tasks.c.handled_at.is_(None), visible(viewer, tasks.c.library))
        .group_by(tasks.c.device_id)
    )
    with engine.connect() as db:
        return {row[0]: (int(row[1]), int(row[2] or 0)) for row in db.execute(query)}


def _out_of_order(engine: Engine, viewer: Viewer) -> dict[str, str | None]:
    """Per kiosk, the message of its latest out_of_order command, unless in_service came after it."""
    query = (
        select(commands.c.device_id, commands.c.kind, commands.c.message)
        .where(commands.c.kind.in_(("out_of_order", "in_service")), visible(viewer, commands.c.library))
        .order_by(commands.c.id)
    )
    state: dict[str, str | None] = {}
    with engine.connect() as db:
        for row in db.execute(query):
            state[row.device_id] = row.message if row.kind == "out_of_order" else None
    return state


def fleet(
    engine: Engine,
    viewer: Viewer,
    offline_after: timedelta,
    *,
    library: str | None = None,
    device_id: str | None = None,
) -> list[KioskState]:
    """The kiosks `viewer` may see (optionally one library or one kiosk), problems first."""
    query = (
        select(
            devices.c.id,
            devices.c.library,
            devices.c.name,
            devices.c.created_at,
            heartbeats.c.received_at,
            heartbeats.c.report,
        )
        .select_from(devices.outerjoin(heartbeats, heartbeats.c.device_id == devices.c.id))
        .where(devices.c.revoked_at.is_(None), visible(viewer, devices.c.library))
    )
    if library is not None:
        query = query.where(devices.c.library == library)
    if device_id is not None:
        query = query.where(devices.c.id == device_id)
    with engine.connect() as db:
        rows = db.execute(query).all()
        reports = {
            r.device_id: r
            for r in db.execute(select(config_reports).where(visible(viewer, config_reports.c.library)))
        }
    counts, stopped, now = _task_counts(engine, viewer), _out_of_order(engine, viewer), utcnow()
    kiosks = []
    for row in rows:
        report = reports.get(row.id)
        kiosk = KioskState(
            id=row.id,
            library=row.library,
            name=row.name,
            seen_at=row.received_at,
            report=dict(row.report or {}),
            config_version=str((row.report or {}).get("config_version") or "")
            or (report.version if report and not report.error else ""),
            config_error=report.error if report else "",
            open_tasks=counts.get(row.id, (0, 0))[0],
            security_tasks=counts.get(row.id, (0, 0))[1],
            out_of_order=stopped.get(row.id),
            enrolled_at=row.created_at,
        )
        kiosk.problems = problems_of(kiosk, now, offline_after)
        kiosks.append(kiosk)
    worst = {k.id: min((SEVERITY.index(p) for p in k.problems), default=len(SEVERITY)) for k in kiosks}
    return sorted(kiosks, key=lambda k: (worst[k.id], -len(k.problems), k.library, k.name))


__all__ = ["SEVERITY", "KioskState", "fleet", "problems_of", "visible"]
