"""The fleet, one kiosk, and the technician's commands."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy import select

from server_api.gateway.storage import run

from ..accounts import Viewer
from ..alerts import open_alerts
from ..configs import effective
from ..fleet import KioskState, fleet, visible
from ..operations import COMMAND_KINDS, queue_command, recent_commands, staff_tasks
from ..tables import commands
from ..web import PREFIX, ConsoleError, RowId, console_of, form_of, redirect, render, require, viewer

router = APIRouter(prefix=PREFIX)
Person = Annotated[Viewer, Depends(viewer)]


@router.get("", include_in_schema=False)
async def without_slash() -> Response:
    return redirect(f"{PREFIX}/")


@router.get("/")
async def fleet_page(request: Request, person: Person, library: str = "") -> Response:
    require(person, "fleet", library or None)
    console = console_of(request)
    kiosks = await run(lambda: fleet(console.engine, person, console.offline_after, library=library or None))
    alerts = await run(open_alerts, console.engine, person)
    mine = [n for n in console.gateway.config.libraries() if person.sees(n)]
    return render(request, "fleet.html", kiosks=kiosks, alerts=alerts, library=library, libraries=mine)


async def visible_kiosk(request: Request, person: Viewer, device_id: str) -> KioskState:
    """The kiosk, if `person` may see it (by its library, in the query); else 404."""
    console = console_of(request)
    found = await run(lambda: fleet(console.engine, person, console.offline_after, device_id=device_id[:36]))
    if not found:
        raise ConsoleError(404, "not_found")
    return found[0]


@router.get("/kiosks/{device_id}")
async def kiosk_page(request: Request, person: Person, device_id: str) -> Response:
    require(person, "fleet")
    kiosk = await visible_kiosk(request, person, device_id)
    engine = console_of(request).engine
    version, settings = await run(effective, engine, kiosk.library, kiosk.id)
    return render(
        request,
        "kiosk.html",
        kiosk=kiosk,
        wanted_version=version,
        settings=settings,
        commands=await run(recent_commands, engine, person, kiosk.id),
        tasks=await run(lambda: staff_tasks(engine, person, device_id=kiosk.id)),
        command_kinds=COMMAND_KINDS,
    )


@router.post("/kiosks/{device_id}/commands")
async def send_command(request: Request, person: Person, device_id: str) -> Response:
    form = await form_of(request, person)
    kiosk = await visible_kiosk(request, person, device_id)
    require(person, "technician", kiosk.library)
    kind = form.get("kind", "")
    if kind not in COMMAND_KINDS:
        raise ConsoleError(422, "bad_command")
    message = form.get("message", "").strip()
    if kind == "out_of_order" and not message:
        raise ConsoleError(422, "message_needed")
    engine = console_of(request).engine
    await run(lambda: queue_command(engine, person, kiosk.id, kiosk.library, kind, message))
    return redirect(f"{PREFIX}/kiosks/{kiosk.id}?sent={kind}")


@router.get("/kiosks/{device_id}/commands/{command_id}/output")
async def command_output(request: Request, person: Person, device_id: str, command_id: RowId) -> Response:
    kiosk = await visible_kiosk(request, person, device_id)
    require(person, "technician", kiosk.library)

    def output() -> str | None:
        query = select(commands.c.output).where(
            commands.c.id == command_id,
            commands.c.device_id == kiosk.id,
            visible(person, commands.c.library),
        )
        with console_of(request).engine.connect() as db:
            return db.execute(query).scalar_one_or_none()

    text = await run(output)
    if text is None:
        raise ConsoleError(404, "not_found")
    return PlainTextResponse(
        text, headers={"Content-Disposition": f'attachment; filename="kiosk-{command_id}.log"'}
    )
