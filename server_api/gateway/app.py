"""The FastAPI application: the running `Gateway`, its start and stop, authentication and error shapes.

- Start: the database must be at the newest schema; this process registers itself (`instances`), settles
  the keys a crashed process left in flight (SIP2 63/17), then beats every `instance_beat` seconds and
  does the upkeep (orphans again, expired cards, old statistics, hold patrons blanked in old outcomes).
- Every error is a `Problem` (`{"error": code, "message": sentence}`), never a traceback. Validation
  errors do not echo the input back (it may hold a PIN).
- Logs carry method, path, status and device id; never a body, a token or a PIN.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBasic, HTTPBasicCredentials, HTTPBearer
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .circulate import Carrier
from .config import GatewayConfig
from .devices import Device, StaffCheck, StaffUser, TokenCheck
from .ledger import Ledger
from .limits import Limits
from .offline import CardBook
from .storage import open_engine, require_current, run
from .telemetry import Telemetry

log = logging.getLogger(__name__)
VERSION = "1"
DATABASE_THREADS = 32


@dataclass
class Gateway:
    """Everything a request handler needs, made once per process."""

    config: GatewayConfig
    engine: Engine
    ledger: Ledger
    carrier: Carrier
    cards: CardBook
    telemetry: Telemetry
    tokens: TokenCheck
    staff: StaffCheck
    limits: Limits
    metrics_token: str | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def build(cls, config: GatewayConfig, engine: Engine | None = None) -> Gateway:
        engine = engine or open_engine(config.database_url())
        ledger = Ledger(engine, beat_seconds=config.gateway.instance_beat)
        telemetry = Telemetry(engine)
        limits = Limits(
            engine,
            device=config.limits.device_requests_per_minute,
            card=config.limits.card_lookups_per_minute,
            enroll=config.limits.enrollments_per_minute,
            key=config.consortium_key(),
        )
        limits.device.on_shared = telemetry.rate_limit_shares.inc
        return cls(
            config=config,
            engine=engine,
            ledger=ledger,
            carrier=Carrier(config, ledger, telemetry.count_outcome),
            cards=CardBook(engine, config, config.consortium_key()),
            telemetry=telemetry,
            tokens=TokenCheck(engine),
            staff=StaffCheck(engine),
            limits=limits,
            metrics_token=config.metrics_token(),
        )

    async def start(self) -> None:
        # Database calls run in threads (`storage.run`); asyncio's default pool has cores + 4 threads, so
        # a few commits waiting on fsync would queue every request's token check behind them.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=DATABASE_THREADS, thread_name_prefix="gateway-db")
        )
        await run(require_current, self.engine)
        await run(self.ledger.register)
        settled = await self.carrier.reconcile_orphans()
        if settled:
            log.info(
                "ledger: %d transaction(s) left in flight were found done at the library system", settled
            )
        self.tasks.append(asyncio.create_task(self._upkeep(), name="gateway-upkeep"))
        self.limits.start()

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.limits.stop()
        await self.carrier.close()
        await run(self.ledger.stop)

    async def _upkeep(self) -> None:
        rounds = 0
        while True:
            await asyncio.sleep(self.config.gateway.instance_beat)
            rounds += 1
            try:
                await run(self.ledger.beat)
                if rounds % 5 == 0:
                    await self.carrier.reconcile_orphans()
                    await run(self.limits.expire)
                if rounds % 1800 == 0:
                    await run(self.cards.expire)
                    await run(self.telemetry.expire, self.config.gateway.statistics_days)
                    await run(self.ledger.scrub, timedelta(days=1))
            except Exception:  # the database went away for a moment: keep beating
                log.exception("gateway upkeep failed; trying again")


def problem(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> HTTPException:
    return HTTPException(status, {"error": error, "message": message}, headers=headers)


def the_gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


async def gateway_of(request: Request) -> Gateway:
    """The dependency (async: FastAPI runs a plain `def` dependency in its thread pool, a thread hop on
    every request)."""
    return the_gateway(request)


_bearer = HTTPBearer(auto_error=False)
_basic = HTTPBasic(auto_error=False)


async def current_device(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Device:
    gateway = the_gateway(request)
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise problem(401, "no_token", "send the device token as 'Authorization: Bearer ...'", challenge)
    device = await run(gateway.tokens.device, credentials.credentials)
    if device is None:
        raise problem(
            401, "bad_token", "this device token is unknown or revoked: enroll the kiosk again", challenge
        )
    if not await gateway.limits.device.allow(device.id):
        raise problem(
            429, "rate_limited", "too many requests from this kiosk; slow down", {"Retry-After": "5"}
        )
    request.state.device_id = device.id
    return device


async def current_staff(
    request: Request, credentials: Annotated[HTTPBasicCredentials | None, Depends(_basic)]
) -> StaffUser:
    challenge = {"WWW-Authenticate": 'Basic realm="kiosk-gateway"'}
    if credentials is None:
        raise problem(401, "no_login", "staff sign in with their user name and password", challenge)
    gateway = the_gateway(request)
    if not await run(gateway.limits.enroll.allow, f"staff:{credentials.username[:80]}"):
        raise problem(429, "rate_limited", "too many sign-in attempts; wait a minute", {"Retry-After": "60"})
    user = await run(gateway.staff.user, credentials.username, credentials.password)
    if user is None:
        raise problem(401, "bad_login", "wrong user name or password", challenge)
    return user


def tenant(device: Device, library: str | None) -> str:
    """The library a device acts for: its own, and never another."""
    if library is not None and library != device.library:
        raise problem(403, "other_library", f"this kiosk belongs to library {device.library}, not {library}")
    return device.library


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = (
        exc.detail if isinstance(exc.detail, dict) else {"error": "http_error", "message": str(exc.detail)}
    )
    return JSONResponse(detail, status_code=exc.status_code, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    where = "; ".join(
        f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg', 'invalid')}"
        for err in exc.errors()[:10]
    )
    return JSONResponse({"error": "invalid_request", "message": where[:2000]}, status_code=422)


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.error(
        "internal error on %s %s: %s", request.method, request.url.path, type(exc).__name__, exc_info=exc
    )
    return JSONResponse(
        {"error": "internal", "message": "the gateway failed on this request; it was logged"}, status_code=500
    )


class CountRequests:
    """Requests by route and status for /metrics (plain ASGI: Starlette's BaseHTTPMiddleware costs a task
    and a stream per request)."""

    def __init__(self, app: ASGIApp, telemetry: Telemetry) -> None:
        self.app = app
        self.telemetry = telemetry
        self._children: dict[tuple[str, int], Any] = {}  # labels() takes a lock and builds a key each time

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            endpoint = getattr(scope.get("route"), "path", "other")
            child = self._children.get((endpoint, status))
            if child is None:
                child = self._children[endpoint, status] = self.telemetry.requests.labels(
                    endpoint, str(status)
                )
            child.inc()


def create_app(config: GatewayConfig, engine: Engine | None = None) -> FastAPI:
    """The ASGI application for `config` (uvicorn runs it; tests too)."""
    from .routes import admin, kiosk, receipts, updates

    gateway = Gateway.build(config, engine)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await gateway.start()
        try:
            yield
        finally:
            await gateway.stop()

    app = FastAPI(
        title="Kiosk gateway",
        version=VERSION,
        summary="The consortium's central circulation service for self-service kiosks",
        lifespan=lifespan,
    )
    app.state.gateway = gateway
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _internal_error)
    app.include_router(kiosk.router)
    app.include_router(admin.router)
    app.include_router(updates.router)
    app.include_router(receipts.router)  # e-mail receipts

    app.add_middleware(CountRequests, telemetry=gateway.telemetry)
    return app


__all__ = ["Gateway", "create_app", "current_device", "current_staff", "gateway_of", "problem", "tenant"]
