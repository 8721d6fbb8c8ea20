"""Sign in, sign out, language."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from server_api.gateway.devices import audit
from server_api.gateway.storage import run

from ..accounts import SignInRefused, Viewer, close_session, open_session, sign_in
from ..i18n import LANGUAGES
from ..web import (
    LANGUAGE_COOKIE,
    LOGIN_COOKIE,
    PREFIX,
    SESSION_COOKIE,
    console_of,
    form_of,
    new_login_token,
    redirect,
    render,
    set_cookie,
    viewer,
)

router = APIRouter(prefix=PREFIX)


def _login_page(request: Request, error: str = "", status: int = 200, username: str = "") -> Response:
    token = new_login_token()
    response = render(request, "login.html", status, error=error, login_token=token, username=username)
    set_cookie(response, LOGIN_COOKIE, token, max_age=3600)
    return response


@router.get("/login")
async def login_form(request: Request, expired: int = 0) -> Response:
    return _login_page(request, "expired" if expired else "")


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    username, password = str(form.get("username", ""))[:100], str(form.get("password", ""))[:200]
    cookie, field = request.cookies.get(LOGIN_COOKIE, ""), str(form.get("login_token", ""))
    if not cookie or not secrets.compare_digest(cookie.encode(), field.encode()):
        return _login_page(request, "csrf", 403)
    console = console_of(request)
    try:
        person = await run(sign_in, console.engine, username, password)
    except SignInRefused as refused:
        return _login_page(request, str(refused), 401, username)
    response = redirect(f"{PREFIX}/")
    set_cookie(response, SESSION_COOKIE, await run(open_session, console.engine, person))
    await run(lambda: audit(console.engine, person.username, "console.signin", None, person.username))
    response.delete_cookie(LOGIN_COOKIE, path=PREFIX)
    return response


@router.post("/logout")
async def logout(request: Request, person: Annotated[Viewer, Depends(viewer)]) -> Response:
    await form_of(request, person)
    engine = console_of(request).engine
    await run(close_session, engine, request.cookies.get(SESSION_COOKIE, ""))
    await run(lambda: audit(engine, person.username, "console.signout", None, person.username))
    response = redirect(f"{PREFIX}/login")
    response.delete_cookie(SESSION_COOKIE, path=PREFIX, secure=True, httponly=True, samesite="strict")
    return response


@router.get("/language/{code}")
async def language(code: str, back: str = f"{PREFIX}/") -> Response:
    """Remember the language (a preference, not a change to anything: no CSRF needed)."""
    target = back if back.startswith(f"{PREFIX}/") and "//" not in back else f"{PREFIX}/"
    response = redirect(target)
    if code in LANGUAGES:
        set_cookie(response, LANGUAGE_COOKIE, code, max_age=365 * 86400)
    return response
