"""What the kiosk could not do, for the staff console's task list (issue 13): the journal's offline conflicts
(with the library system's own words) and its staff tasks (security writes that failed or were left
unfinished, staff slips the printer lost), each under the kiosk's own key, so posting again updates and
never doubles (`POST /v1/console/tasks`). Posted once per run and whenever a new one appears; a reader that
stopped answering is no task here (the fleet shows the reader from the heartbeat).

Staff marking a staff task handled in the console mark it done on the kiosk too (`handled_in_console`),
so the kiosk's staff screen shows the same list. (A conflict is resolved where the library system's record
is, through the kiosk's own staff tools.)

No patron data: a conflict names the item, the action and the reason; a lost slip's routing (which may
name a hold patron, as far as the slip would) stays on the kiosk's staff screen.
"""

from __future__ import annotations

from datetime import UTC, datetime

from kiosk.core import StaffTask, TaskKind
from kiosk.journal import Entry, Journal
from server_api.console.wire import TaskIn, TaskOut

SUMMARIES = {
    TaskKind.SECURITY_FAILED: "The security bit could not be set: check the item's tag",
    TaskKind.SECURITY_UNFINISHED: "The station stopped before the security bit was set: check the item",
    TaskKind.SLIP_NOT_PRINTED: "A staff slip was not printed: route the item (the staff screen says where)",
}
KINDS = {
    TaskKind.SECURITY_FAILED: "security_write",
    TaskKind.SECURITY_UNFINISHED: "security_write",
    TaskKind.SLIP_NOT_PRINTED: "lost_slip",
}


def _utc(local: datetime) -> datetime:
    return local.astimezone(UTC)


def conflict_task(entry: Entry) -> TaskIn:
    verb = {"checkout": "Lent", "checkin": "Returned", "renew": "Renewed"}.get(entry.operation.value, "Done")
    return TaskIn(
        key=f"conflict:{entry.id}",
        kind="conflict",
        item_id=entry.item_id[:100],
        summary=f"{verb} offline, refused by the library system afterwards ({entry.reason or 'other'})"[:200],
        ils_message=entry.screen_message[:500],
        at=_utc(entry.at),
    )


def staff_task(task: StaffTask) -> TaskIn | None:
    if task.kind not in KINDS:
        return None
    return TaskIn(
        key=f"task:{task.id}",
        kind=KINDS[task.kind],  # type: ignore[arg-type]
        item_id=task.item_id[:100],
        summary=SUMMARIES[task.kind][:200],
        at=_utc(task.at),
    )


def open_tasks(journal: Journal) -> list[TaskIn]:
    """Everything of the journal that needs staff now, as the console's tasks."""
    found = [conflict_task(e) for e in journal.conflicts()]
    return found + [t for t in map(staff_task, journal.tasks()) if t is not None]


def handled_in_console(journal: Journal, handled: list[TaskOut], at: datetime) -> int:
    """Mark the kiosk's staff tasks staff handled in the console done here; how many were still open."""
    done = 0
    for task in handled:
        if task.handled_at is None or not task.key.startswith("task:"):
            continue
        note = f"handled in the console by {task.handled_by}: {task.handled_note}"[:200]
        done += journal.finish_task(int(task.key.removeprefix("task:")), note, at)
    return done


class TaskPoster:
    """Which tasks the console already has (this run)."""

    def __init__(self) -> None:
        self.posted: set[str] = set()

    def new(self, tasks: list[TaskIn]) -> list[TaskIn]:
        return [t for t in tasks if t.key not in self.posted]

    def taken(self, tasks: list[TaskIn]) -> None:
        self.posted |= {t.key for t in tasks}


__all__ = ["TaskPoster", "conflict_task", "handled_in_console", "open_tasks", "staff_task"]
