"""What technicians send to kiosks (commands) and what kiosks could not do (staff tasks).

Commands: a technician queues `restart` (the station restarts between patron sessions), `out_of_order`
(with a message for patrons), `in_service`, `fetch_logs` (the kiosk uploads its recent log, which holds
no patron data). The kiosk reads its pending commands after each heartbeat (`GET /v1/console/commands`)
and reports each one's result; a command is handed out until the kiosk reports it done.

Tasks: the kiosk posts what needs staff (offline conflicts with the library system's words, unfinished
security writes, lost staff slips, returns that need routing) under its own key, so posting again updates
instead of doubling; staff mark them handled; the kiosk reads its own list back for its staff screen.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from server_api.gateway.devices import audit, utcnow

from .accounts import Viewer
from .fleet import visible
from .tables import commands, tasks
from .wire import MAX_LOG

COMMAND_KINDS = ("restart", "out_of_order", "in_service", "fetch_logs")
TASK_KINDS = ("conflict", "security_write", "lost_slip", "routing")


def queue_command(
    engine: Engine, viewer: Viewer, device_id: str, library: str, kind: str, message: str = ""
) -> int:
    if kind not in COMMAND_KINDS:
        raise ValueError(f"unknown command {kind!r}")
    with engine.begin() as db:
        new_id = db.execute(
            insert(commands).values(
                device_id=device_id,
                library=library,
                kind=kind,
                message=message[:500],
                created_by=viewer.username,
                created_at=utcnow(),
                output="",
            )
        ).inserted_primary_key[0]  # type: ignore[index]
    audit(engine, viewer.username, f"console.command.{kind}", library, device_id, after={"message": message})
    return int(new_id)


def recent_commands(engine: Engine, viewer: Viewer, device_id: str, limit: int = 20) -> list[dict[str, Any]]:
    query = (
        select(commands)
        .where(commands.c.device_id == device_id, visible(viewer, commands.c.library))
        .order_by(commands.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as db:
        return [dict(row._mapping) for row in db.execute(query)]


def pending_commands(engine: Engine, device_id: str) -> list[dict[str, Any]]:
    """What the kiosk has still to do, oldest first; marks them picked up."""
    query = (
        select(commands.c.id, commands.c.kind, commands.c.message, commands.c.created_at)
        .where(commands.c.device_id == device_id, commands.c.done_at.is_(None))
        .order_by(commands.c.id)
    )
    with engine.begin() as db:
        rows = [dict(row._mapping) for row in db.execute(query)]
        db.execute(
            update(commands)
            .where(commands.c.device_id == device_id, commands.c.picked_at.is_(None))
            .values(picked_at=utcnow())
        )
    return rows


def finish_command(engine: Engine, device_id: str, command_id: int, ok: bool, output: str) -> bool:
    with engine.begin() as db:
        done = db.execute(
            update(commands)
            .where(commands.c.id == command_id, commands.c.device_id == device_id)
            .values(done_at=utcnow(), ok=int(ok), output=output[:MAX_LOG])
        )
    return bool(done.rowcount)


def post_task(engine: Engine, device_id: str, library: str, task: dict[str, Any]) -> None:
    """Insert or update the kiosk's task with its key (never re-opens one staff handled)."""
    if task["kind"] not in TASK_KINDS:
        raise ValueError(f"unknown task kind {task['kind']!r}")
    values = {
        "kind": task["kind"],
        "item_id": task.get("item_id", "")[:100],
        "summary": task.get("summary", "")[:200],
        "ils_message": task.get("ils_message", "")[:500],
    }
    key = (tasks.c.device_id == device_id, tasks.c.kiosk_key == task["key"])
    with engine.begin() as db:
        if db.execute(select(tasks.c.id).where(*key)).first() is not None:
            db.execute(update(tasks).where(*key).values(**values))
            return
        db.execute(
            insert(tasks).values(
                device_id=device_id,
                library=library,
                kiosk_key=task["key"],
                created_at=task.get("at") or utcnow(),
                handled_note="",
                **values,
            )
        )


def kiosk_tasks(engine: Engine, device_id: str) -> list[dict[str, Any]]:
    query = select(tasks).where(tasks.c.device_id == device_id).order_by(tasks.c.id)
    with engine.connect() as db:
        return [dict(row._mapping) for row in db.execute(query)]


def staff_tasks(
    engine: Engine, viewer: Viewer, *, handled: bool = False, device_id: str | None = None
) -> list[dict[str, Any]]:
    """The tasks of the libraries `viewer` may see: open ones (oldest first) or handled ones."""
    done = tasks.c.handled_at.is_not(None) if handled else tasks.c.handled_at.is_(None)
    query = select(tasks).where(done, visible(viewer, tasks.c.library))
    if device_id is not None:
        query = query.where(tasks.c.device_id == device_id)
    order = tasks.c.handled_at.desc() if handled else tasks.c.created_at
    with engine.connect() as db:
        return [dict(row._mapping) for row in db.execute(query.order_by(order).limit(500))]


def task_library(engine: Engine, viewer: Viewer, task_id: int) -> str | None:
    """The library of a task `viewer` may see, else None."""
    query = select(tasks.c.library).where(tasks.c.id == task_id, visible(viewer, tasks.c.library))
    with engine.connect() as db:
        return db.execute(query).scalar_one_or_none()


def handle_task(engine: Engine, viewer: Viewer, task_id: int, note: str) -> bool:
    """Mark a task handled; False when it is not one `viewer` may see, or already handled."""
    where = (tasks.c.id == task_id, tasks.c.handled_at.is_(None), visible(viewer, tasks.c.library))
    now: datetime = utcnow()
    with engine.begin() as db:
        row = db.execute(select(tasks.c.library, tasks.c.kind, tasks.c.item_id).where(*where)).first()
        if row is None:
            return False
        db.execute(
            update(tasks)
            .where(*where)
            .values(handled_at=now, handled_by=viewer.username, handled_note=note[:200])
        )
    audit(
        engine,
        viewer.username,
        "console.task.handle",
        row.library,
        f"task {task_id}",
        kind=row.kind,
        item=row.item_id,
        before="open",
        after={"handled": True, "note": note[:200]},
    )
    return True


__all__ = [
    "COMMAND_KINDS",
    "TASK_KINDS",
    "finish_command",
    "handle_task",
    "kiosk_tasks",
    "pending_commands",
    "post_task",
    "queue_command",
    "recent_commands",
    "staff_tasks",
    "task_library",
]
