"""Staff endpoints (HTTP Basic, argon2-checked): enrollment codes, devices, revocation, heartbeats,
statistics, the audit log. Staff of a library see and change only their library's kiosks; a consortium
administrator (no library) sees all. Every change is written to the audit log.

The staff console's roles (`server_api.console.accounts`) hold here too: a technician enrolls, lists and
revokes the kiosks of their library (or of every library, without one) but reads neither statistics nor
the audit log; library staff without a library see nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from ..app import Gateway, current_staff, gateway_of, problem
from ..devices import StaffUser, create_enrollment_code, list_devices, revoke, utcnow
from ..schema import audit_log
from ..storage import run
from ..wire import LibraryNumber, Problem, ShortText

router = APIRouter(prefix="/v1/admin", tags=["staff"])
StaffDep = Annotated[StaffUser, Depends(current_staff)]
GatewayDep = Annotated[Gateway, Depends(gateway_of)]
ERRORS: dict[int | str, dict[str, object]] = {code: {"model": Problem} for code in (401, 403, 404, 422, 429)}


def libraries_for(user: StaffUser, library: str | None, gateway: Gateway) -> frozenset[str] | None:
    """The libraries a staff request is about (None: every library): the one named, if the account may
    reach it; else all of the account's libraries. An administrator may name any library or none."""
    if library is not None and library not in gateway.config.libraries():
        raise problem(404, "unknown_library", f"library {library} is not in the gateway's configuration")
    if user.every_library:
        return None if library is None else frozenset({library})
    if not user.libraries:
        raise problem(403, "no_library", "your account names no library: ask an administrator")
    if library is None:
        return user.libraries
    if library not in user.libraries:
        mine = ", ".join(sorted(user.libraries))
        raise problem(403, "other_library", f"you are staff of library {mine}, not {library}")
    return frozenset({library})


def one_library(user: StaffUser, library: str | None, gateway: Gateway) -> str:
    """The one library a request that changes or counts is about: named, or the account's only one."""
    chosen = libraries_for(user, library, gateway)
    if chosen is None or len(chosen) != 1:
        raise problem(422, "library_needed", "name the library (your account reaches more than one)")
    return next(iter(chosen))


def reader_of_reports(user: StaffUser) -> None:
    """Statistics and the audit log are for administrators and library staff, as in the console."""
    if user.role not in ("admin", "staff"):
        raise problem(403, "role", f"a {user.role} does not read statistics or the audit log")


class NewCode(BaseModel):
    model_config = ConfigDict(extra="forbid")
    library: LibraryNumber | None = None
    kiosk_name: Annotated[str, Field(min_length=1, max_length=200)]


class CodeAnswer(BaseModel):
    code: str
    library: str
    kiosk_name: str
    expires_at: datetime


@router.post("/enrollment-codes", response_model=CodeAnswer, responses=ERRORS)
async def new_code(body: NewCode, user: StaffDep, gateway: GatewayDep) -> CodeAnswer:
    library = one_library(user, body.library, gateway)
    hours = gateway.config.gateway.enrollment_code_hours
    code, expires = await run(
        lambda: create_enrollment_code(
            gateway.engine, library, body.kiosk_name, hours=hours, actor=user.username
        )
    )
    return CodeAnswer(code=code, library=library, kiosk_name=body.kiosk_name, expires_at=expires)


class DeviceRow(BaseModel):
    id: str
    library: str
    name: str
    created_at: datetime
    revoked_at: datetime | None
    heartbeat: dict[str, Any] | None = None


@router.get("/devices", response_model=list[DeviceRow], responses=ERRORS)
async def devices(
    user: StaffDep, gateway: GatewayDep, library: Annotated[str | None, Query(max_length=32)] = None
) -> list[DeviceRow]:
    rows = await run(list_devices, gateway.engine, libraries_for(user, library, gateway))
    beats = [await run(gateway.telemetry.last_heartbeat, row["id"]) for row in rows]
    return [DeviceRow(**row, heartbeat=beat) for row, beat in zip(rows, beats, strict=True)]


class Revoked(BaseModel):
    device_id: str
    revoked: bool


@router.post("/devices/{device_id}/revoke", response_model=Revoked, responses=ERRORS)
async def revoke_device(
    device_id: Annotated[str, Field(max_length=36)], user: StaffDep, gateway: GatewayDep
) -> Revoked:
    mine = libraries_for(user, None, gateway)  # library staff without a library revoke nothing
    done = await run(lambda: revoke(gateway.engine, device_id, actor=user.username, libraries=mine))
    if not done:
        raise problem(404, "unknown_device", "no such active device in your library")
    return Revoked(device_id=device_id, revoked=True)


@router.get("/statistics", responses=ERRORS)
async def hour_statistics(
    user: StaffDep,
    gateway: GatewayDep,
    library: Annotated[str | None, Query(max_length=32)] = None,
    days: Annotated[int, Query(ge=1, le=400)] = 7,
) -> list[dict[str, Any]]:
    reader_of_reports(user)
    chosen = one_library(user, library, gateway)
    return await run(gateway.telemetry.hours, chosen, utcnow() - timedelta(days=days))


class AuditRow(BaseModel):
    at: datetime
    actor: str
    library: str | None
    action: str
    target: ShortText
    details: dict[str, Any]


@router.get("/audit", response_model=list[AuditRow], responses=ERRORS)
async def audit(
    user: StaffDep, gateway: GatewayDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[AuditRow]:
    reader_of_reports(user)

    def rows() -> list[AuditRow]:
        query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if not user.every_library:
            query = query.where(audit_log.c.library.in_(sorted(user.libraries)))
        with gateway.engine.connect() as db:
            return [AuditRow.model_validate(dict(row._mapping)) for row in db.execute(query)]

    return await run(rows)
