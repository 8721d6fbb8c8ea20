"""What kiosks ask the console for, with their device token (`Authorization: Bearer ...`). A kiosk only
ever reaches its own configuration, commands and tasks: each query is filtered by the token's device.

- `GET /v1/console/config`: the settings to run (library's, then the kiosk's overrides), their version
  name and the staff-screen credentials (hashes). The kiosk applies them between patron sessions, never
  in one, and then `POST /v1/console/config/report` with the version it runs (or why it could not).
- `GET /v1/console/commands` after each heartbeat; `POST /v1/console/commands/{id}` with the result.
- `POST /v1/console/tasks` with what needs staff; `GET /v1/console/tasks` for the staff screen's list.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import Field

from server_api.gateway.app import Gateway, current_device, gateway_of, problem
from server_api.gateway.devices import Device
from server_api.gateway.storage import run
from server_api.gateway.wire import Problem

from . import configs, operations
from .web import RowId
from .wire import Command, CommandResult, ConfigReport, Credential, KioskConfig, TaskIn, TaskOut

router = APIRouter(prefix="/v1/console", tags=["console"])
DeviceDep = Annotated[Device, Depends(current_device)]
GatewayDep = Annotated[Gateway, Depends(gateway_of)]
ERRORS: dict[int | str, dict[str, object]] = {code: {"model": Problem} for code in (401, 404, 422, 429)}


@router.get("/config", response_model=KioskConfig, responses=ERRORS)
async def kiosk_config(device: DeviceDep, gateway: GatewayDep) -> KioskConfig:
    version, settings = await run(configs.effective, gateway.engine, device.library, device.id)
    hashes = await run(configs.credentials_for, gateway.engine, device.library, device.id)
    return KioskConfig(
        version=version, settings=settings, staff_credentials=[Credential(**c) for c in hashes]
    )


@router.post("/config/report", status_code=204, responses=ERRORS)
async def config_report(body: ConfigReport, device: DeviceDep, gateway: GatewayDep) -> Response:
    await run(configs.report, gateway.engine, device.id, device.library, body.version, body.error)
    return Response(status_code=204)


@router.get("/commands", response_model=list[Command], responses=ERRORS)
async def commands(device: DeviceDep, gateway: GatewayDep) -> list[Command]:
    rows = await run(operations.pending_commands, gateway.engine, device.id)
    return [Command(**row) for row in rows]


@router.post("/commands/{command_id}", status_code=204, responses=ERRORS)
async def command_done(
    command_id: RowId, body: CommandResult, device: DeviceDep, gateway: GatewayDep
) -> Response:
    if not await run(operations.finish_command, gateway.engine, device.id, command_id, body.ok, body.output):
        raise problem(404, "unknown_command", "no such command for this kiosk")
    return Response(status_code=204)


@router.post("/tasks", status_code=204, responses=ERRORS)
async def post_tasks(
    body: Annotated[list[TaskIn], Field(max_length=500)], device: DeviceDep, gateway: GatewayDep
) -> Response:
    for task in body:
        await run(operations.post_task, gateway.engine, device.id, device.library, task.model_dump())
    return Response(status_code=204)


@router.get("/tasks", response_model=list[TaskOut], responses=ERRORS)
async def own_tasks(device: DeviceDep, gateway: GatewayDep) -> list[TaskOut]:
    rows = await run(operations.kiosk_tasks, gateway.engine, device.id)
    return [TaskOut(key=row["kiosk_key"], **row) for row in rows]
