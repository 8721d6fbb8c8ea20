"""What the kiosks could not do: open tasks, handled ones, marking one handled."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from server_api.gateway.storage import run

from ..accounts import Viewer
from ..fleet import fleet
from ..operations import handle_task, staff_tasks, task_library
from ..web import PREFIX, ConsoleError, RowId, console_of, form_of, redirect, render, require, viewer

router = APIRouter(prefix=PREFIX)
Person = Annotated[Viewer, Depends(viewer)]


@router.get("/tasks")
async def tasks_page(request: Request, person: Person, handled: int = 0) -> Response:
    require(person, "tasks")
    console = console_of(request)
    rows = await run(lambda: staff_tasks(console.engine, person, handled=bool(handled)))
    names = {k.id: k.name for k in await run(fleet, console.engine, person, console.offline_after)}
    return render(request, "tasks.html", tasks=rows, names=names, handled=bool(handled))


@router.post("/tasks/{task_id}/handle")
async def handle(request: Request, person: Person, task_id: RowId) -> Response:
    form = await form_of(request, person)
    engine = console_of(request).engine
    library = await run(task_library, engine, person, task_id)
    if library is None:
        raise ConsoleError(404, "not_found")
    require(person, "tasks", library)
    done = await run(handle_task, engine, person, task_id, form.get("note", "").strip())
    if not done:  # not a task of one's own libraries, or handled already: the same answer
        raise ConsoleError(404, "not_found")
    return redirect(f"{PREFIX}/tasks?done={task_id}")
