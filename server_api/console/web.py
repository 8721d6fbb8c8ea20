"""What every console page shares: the Jinja2 templates in every language of `i18n.LANGUAGES`, the
signed-in person (from the session cookie), the CSRF check on every POST, and HTML error pages (never a
traceback, never JSON).

Cookies: `console_session` is Secure, HttpOnly, SameSite=Strict and lives under /console only.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import Path as FastApiPath
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Engine

from server_api.gateway.app import Gateway
from server_api.gateway.storage import run

from . import i18n
from .accounts import Viewer, csrf_ok, session_viewer
from .i18n import N_
from .managed import Words
from .settings import ConsoleSettings

PREFIX = "/console"
SESSION_COOKIE = "console_session"
LOGIN_COOKIE = "console_login"  # the sign-in form's CSRF token (double submit: cookie and field)
LANGUAGE_COOKIE = "console_lang"
TEMPLATES = Path(__file__).with_name("templates")
RowId = Annotated[int, FastApiPath(ge=1, le=2**62)]  # a row's id in a URL (larger ones cannot exist)


class ConsoleError(Exception):
    """Shown as an HTML page with `status`: the message says what is wrong and what to do."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class SignInNeeded(Exception):
    """No live session: the browser goes to the sign-in page (and says why when the session timed out)."""

    def __init__(self, expired: bool) -> None:
        self.expired = expired


@dataclass
class Console:
    gateway: Gateway
    settings: ConsoleSettings
    environments: dict[str, Environment]

    @property
    def engine(self) -> Engine:
        return self.gateway.engine

    @property
    def offline_after(self) -> timedelta:
        return timedelta(seconds=self.settings.offline_after_seconds)

    def library_name(self, number: str) -> str:
        return self.gateway.config.library_names.get(number, number)


def staff_words(problem: str, *, gettext: Callable[[str], str]) -> str:
    """A problem sentence in the page's language: `Words` are translated with their values; any other
    text is looked up as it is (a message of the catalogue, or shown as written)."""
    if isinstance(problem, Words):
        return problem.translated(gettext)
    return gettext(problem)


def make_environments() -> dict[str, Environment]:
    environments = {}
    for language in i18n.LANGUAGES:
        env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(["html"]),
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
        )
        translations = i18n.translations(language)
        env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
        env.filters["staff_words"] = functools.partial(staff_words, gettext=translations.gettext)
        environments[language] = env
    return environments


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def language_of(request: Request) -> str:
    return i18n.pick(request.headers.get("accept-language", ""), request.cookies.get(LANGUAGE_COOKIE))


def gettext(request: Request) -> Any:
    return i18n.translations(language_of(request)).gettext


async def viewer(request: Request) -> Viewer:
    """The signed-in person; `SignInNeeded` otherwise (a dependency of every page but sign-in)."""
    console = console_of(request)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    found = (
        await run(session_viewer, console.engine, cookie, console.settings.idle_minutes) if cookie else None
    )
    if found is None:
        raise SignInNeeded(expired=bool(cookie))
    request.state.viewer = found
    return found


async def form_of(request: Request, person: Viewer) -> dict[str, str]:
    """The POSTed form, once its CSRF token is this session's."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    if not csrf_ok(person, values.get("csrf", "")):
        raise ConsoleError(403, "csrf")
    return values


def require(person: Viewer, permission: str, library: str | None = None) -> None:
    """403 when the role may not do this; 404 when the library is not one the person may see."""
    if library is not None and not person.sees(library):
        raise ConsoleError(404, "not_found")
    if not person.may(permission):
        raise ConsoleError(403, "forbidden")


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    console = console_of(request)
    language = language_of(request)
    person: Viewer | None = getattr(request.state, "viewer", None)
    page = console.environments[language].get_template(template)
    html = page.render(
        request=request,
        viewer=person,
        csrf=person.csrf if person else "",
        lang=language,
        languages=i18n.LANGUAGES,
        library_name=console.library_name,
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def set_cookie(response: Response, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path=PREFIX, secure=True, httponly=True, samesite="strict"
    )


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


__all__ = [
    "LANGUAGE_COOKIE",
    "LOGIN_COOKIE",
    "PREFIX",
    "SESSION_COOKIE",
    "Console",
    "ConsoleError",
    "RowId",
    "SignInNeeded",
    "console_of",
    "form_of",
    "gettext",
    "language_of",
    "make_environments",
    "new_login_token",
    "redirect",
    "render",
    "require",
    "set_cookie",
    "viewer",
]


# Shown through `_(value)`: action names in statistics and role names.
RUNTIME_MESSAGES = (
    N_("loans"),
    N_("returns"),
    N_("renewals"),
    N_("refusals"),
    N_("admin"),
    N_("staff"),
    N_("technician"),
)
