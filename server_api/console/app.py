"""The console in the gateway's application: its pages under /console, the kiosks' endpoints under
/v1/console, its static files, HTML error pages, security headers, and the alert watcher beside the
gateway's own upkeep. `kiosk-gateway serve` runs `create_console_app`."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.middleware.base import BaseHTTPMiddleware, DispatchFunction
from starlette.types import ASGIApp, Receive, Scope, Send

from server_api.gateway.app import Gateway, create_app
from server_api.gateway.config import GatewayConfig

from . import alerts
from .device_api import router as device_router
from .pages import admin, auth, config, fleet, statistics, tasks
from .settings import ConsoleSettings, load_console_settings
from .web import PREFIX, Console, ConsoleError, SignInNeeded, make_environments, redirect, render

log = logging.getLogger(__name__)
PAGES = (auth.router, fleet.router, config.router, tasks.router, statistics.router, admin.router)
STATIC = Path(__file__).with_name("static")
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


async def _console_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConsoleError)
    return render(request, "error.html", exc.status, error=exc.message)


async def _sign_in_needed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInNeeded)
    return redirect(f"{PREFIX}/login" + ("?expired=1" if exc.expired else ""))


class _ConsoleOnly:
    """Only console paths go through `dispatch` (a BaseHTTPMiddleware costs a task and a memory stream per
    request; the kiosks' endpoints pass straight by)."""

    def __init__(self, app: ASGIApp, dispatch: DispatchFunction) -> None:
        self.plain = app
        self.console = BaseHTTPMiddleware(app, dispatch=dispatch)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            await self.console(scope, receive, send)
        else:
            await self.plain(scope, receive, send)


def mount_console(app: FastAPI, gateway: Gateway, settings: ConsoleSettings | None = None) -> Console:
    """Add the console to the gateway's `app`."""
    console = Console(gateway, settings or load_console_settings(gateway.config), make_environments())
    app.state.console = console
    # The staff pages are HTML for people (forms with a CSRF token, redirects, a session cookie): not an API,
    # so not in /openapi.json; tests/gateway/fuzz.py fuzzes them signed in from a schema of their own
    # (`console_schema`). What kiosks call (/v1/console, JSON, device token) is API, and is published.
    for router in PAGES:
        app.include_router(router, include_in_schema=False)
    app.include_router(device_router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="console-static")
    app.add_exception_handler(ConsoleError, _console_error)
    app.add_exception_handler(SignInNeeded, _sign_in_needed)

    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        try:
            response = await call_next(request)
        except Exception:  # a page that failed: an HTML page that says so, the details in the log
            log.exception("console page %s failed", request.url.path)
            response = render(request, "error.html", 500, error="internal")
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    app.add_middleware(_ConsoleOnly, dispatch=security_headers)

    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[Any]:
        async with inner(app_) as state:
            watcher = asyncio.create_task(
                alerts.watch(gateway.engine, console.settings, gateway.config), name="console-alerts"
            )
            try:
                yield state
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher

    app.router.lifespan_context = lifespan
    return console


def console_schema() -> dict[str, Any]:
    """An OpenAPI document of the staff pages alone (paths, methods, path and query parameters), for
    fuzzing them signed in; never served."""
    routes = []
    for router in PAGES:
        for route in router.routes:
            if isinstance(route, APIRoute):
                shown = copy.copy(route)
                shown.include_in_schema = True
                routes.append(shown)
    return get_openapi(title="kiosk console pages", version="1", routes=routes)


def create_console_app(config: GatewayConfig, engine: Engine | None = None) -> FastAPI:
    """The gateway with its staff console."""
    app = create_app(config, engine)
    mount_console(app, app.state.gateway)
    return app


__all__ = ["PAGES", "console_schema", "create_console_app", "mount_console"]
