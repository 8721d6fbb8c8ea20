"""The consortium administrator's pages: accounts and the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from server_api.gateway.schema import audit_log, staff_users
from server_api.gateway.storage import run

from ..accounts import ROLES, AccountError, Viewer, add_account, set_disabled, set_password, viewer_of
from ..fleet import visible
from ..i18n import N_
from ..web import PREFIX, ConsoleError, console_of, form_of, redirect, render, require, viewer

router = APIRouter(prefix=PREFIX)
Person = Annotated[Viewer, Depends(viewer)]


def _accounts(engine: Any) -> list[Viewer]:
    with engine.connect() as db:
        names = list(db.execute(select(staff_users.c.username).order_by(staff_users.c.username)).scalars())
    return [v for name in names if (v := viewer_of(engine, name, disabled_too=True)) is not None]


async def _page(request: Request, problems: list[str], status: int = 200) -> Response:
    engine = console_of(request).engine
    return render(
        request,
        "accounts.html",
        status,
        accounts=await run(_accounts, engine),
        roles=ROLES,
        problems=problems,
        all_libraries=console_of(request).gateway.config.library_names,
        disabled=await run(_disabled, engine),
    )


@router.get("/accounts")
async def accounts_page(request: Request, person: Person) -> Response:
    require(person, "accounts")
    return await _page(request, [])


@router.post("/accounts")
async def new_account(request: Request, person: Person) -> Response:
    form = await form_of(request, person)
    require(person, "accounts")
    libraries = [n for n in console_of(request).gateway.config.libraries() if form.get(f"library_{n}")]
    try:
        await run(
            lambda: add_account(
                console_of(request).engine, form.get("username", "").strip(), form.get("password", ""),
                role=form.get("role", ""), libraries=libraries, actor=person.username,
            )
        )  # fmt: skip
    except AccountError as exc:
        return await _page(request, [str(exc)], 422)
    return redirect(f"{PREFIX}/accounts?added=1")


def _disabled(engine: Any) -> set[str]:
    with engine.connect() as db:
        return set(db.execute(select(staff_users.c.username).where(staff_users.c.disabled)).scalars())


@router.post("/accounts/{username}/state")
async def account_state(request: Request, person: Person, username: str) -> Response:
    form = await form_of(request, person)
    require(person, "accounts")
    disable = form.get("disabled", "") == "1"
    if username == person.username and disable:
        return await _page(request, [N_("You cannot disable your own account.")], 422)
    engine = console_of(request).engine
    if not await run(lambda: set_disabled(engine, username[:100], disable, actor=person.username)):
        raise ConsoleError(404, "not_found")
    return redirect(f"{PREFIX}/accounts?changed=1")


@router.post("/accounts/{username}/password")
async def account_password(request: Request, person: Person, username: str) -> Response:
    form = await form_of(request, person)
    require(person, "accounts")
    engine = console_of(request).engine
    try:
        done = await run(
            lambda: set_password(engine, username[:100], form.get("password", ""), actor=person.username)
        )
    except AccountError as exc:
        return await _page(request, [str(exc)], 422)
    if not done:
        raise ConsoleError(404, "not_found")
    return redirect(f"{PREFIX}/accounts?changed=1")


@router.get("/audit")
async def audit_page(request: Request, person: Person) -> Response:
    require(person, "audit")

    def rows() -> list[dict[str, Any]]:
        query = select(audit_log).where(visible(person, audit_log.c.library) | audit_log.c.library.is_(None))
        with console_of(request).engine.connect() as db:
            return [dict(r._mapping) for r in db.execute(query.order_by(audit_log.c.id.desc()).limit(300))]

    return render(request, "audit.html", entries=await run(rows))
