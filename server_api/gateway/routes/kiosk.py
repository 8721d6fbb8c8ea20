"""The endpoints kiosks call. Every one but `/v1/enroll`, `/health` and `/metrics` (the operators': see
`_may_scrape`) needs the device token;
every one acts for the device's own library (a `library` field naming another one is a 403)."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import time
import uuid
from collections.abc import Sequence
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text

from server_api.circulation import (
    CirculationError,
    CirculationNoReply,
    CirculationUnavailable,
    PatronAccount,
)
from server_api.sip2 import Sip2Circulation

from ..app import Gateway, current_device, gateway_of, problem, tenant
from ..circulate import Action, ItemReport, Outcome, outcome_of
from ..devices import Device, EnrollmentRefused, enroll
from ..mail import address_shown
from ..storage import run
from ..wire import (
    CheckinResult,
    CheckinResults,
    CheckinStack,
    CheckoutResult,
    CheckoutResults,
    CheckoutStack,
    EndSession,
    EnrollAnswer,
    EnrollRequest,
    Heartbeat,
    HourStatistics,
    ItemAnswer,
    LedgerState,
    OfflineData,
    PatronAnswer,
    PatronLookup,
    Problem,
    RenewResult,
    RenewResults,
    RenewStack,
    StackItem,
    TransactionAnswer,
)

router = APIRouter()
DeviceDep = Annotated[Device, Depends(current_device)]
GatewayDep = Annotated[Gateway, Depends(gateway_of)]
ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": Problem} for code in (401, 403, 422, 429, 502, 503, 504)
}
R = TypeVar("R", CheckoutResult, CheckinResult, RenewResult)


def library_error(exc: CirculationError) -> Exception:
    """A single (non-stack) call that failed at the library system, as the answer the client maps back."""
    if isinstance(exc, CirculationUnavailable):
        return problem(503, "library_system_unavailable", f"the library system cannot be reached: {exc}")
    if isinstance(exc, CirculationNoReply):
        return problem(504, "library_system_no_reply", f"the library system did not answer: {exc}")
    return problem(502, "library_system_protocol", f"the library system's answer was not understood: {exc}")


def _unique(items: Sequence[StackItem], gateway: Gateway) -> None:
    if len(items) > gateway.config.limits.max_stack:
        raise problem(422, "stack_too_large", f"at most {gateway.config.limits.max_stack} items per request")
    if len({item.txn.id for item in items}) != len(items):
        raise problem(422, "duplicate_key", "each item of a stack needs its own transaction id")


async def _carry_all(gateway: Gateway, device: Device, actions: list[Action], result: type[R]) -> list[R]:
    """All items concurrently; shielded, so a kiosk that hangs up does not leave keys half done."""
    started = time.perf_counter()
    reports: list[ItemReport] = await asyncio.shield(gateway.carrier.carry_stack(device, actions))
    gateway.telemetry.stack_seconds.labels(actions[0].operation).observe(time.perf_counter() - started)
    for report, action in zip(reports, actions, strict=True):
        if report.state.value != "done":
            gateway.telemetry.items.labels(action.operation, report.state.value).inc()
    return [
        result.model_validate(
            {
                "id": uuid.UUID(report.key),
                "state": report.state,
                "outcome": report.outcome,
                "error": report.error,
                "repeat": report.repeat,
                "reconciled": report.reconciled,
            }
        )
        for report in reports
    ]


@router.post("/v1/checkouts", response_model=CheckoutResults, responses=ERRORS, tags=["circulation"])
async def checkouts(stack: CheckoutStack, device: DeviceDep, gateway: GatewayDep) -> CheckoutResults:
    """Lend a stack of items to one patron. Each item carries its own idempotency key (`txn.id`): a repeat
    returns the stored outcome and is never sent twice."""
    tenant(device, stack.library)
    _unique(stack.items, gateway)
    patron, pin = stack.patron_id, stack.pin

    def action(item: StackItem) -> Action:
        async def send(circulation: Sip2Circulation) -> Outcome:
            return await circulation.checkout(patron, item.item_id, item.txn.transaction(), pin=pin)

        return Action("checkout", item.item_id, patron, item.txn, send)

    results = await _carry_all(gateway, device, [action(i) for i in stack.items], CheckoutResult)
    return CheckoutResults(results=results)


@router.post("/v1/checkins", response_model=CheckinResults, responses=ERRORS, tags=["circulation"])
async def checkins(stack: CheckinStack, device: DeviceDep, gateway: GatewayDep) -> CheckinResults:
    """Return a stack of items; each outcome carries its routing (hold shelf, transit, reshelve, staff)."""
    tenant(device, stack.library)
    _unique(stack.items, gateway)

    def action(item: StackItem) -> Action:
        async def send(circulation: Sip2Circulation) -> Outcome:
            return await circulation.checkin(item.item_id, item.txn.transaction())

        return Action("checkin", item.item_id, "", item.txn, send)

    results = await _carry_all(gateway, device, [action(i) for i in stack.items], CheckinResult)
    return CheckinResults(results=results)


@router.post("/v1/renewals", response_model=RenewResults, responses=ERRORS, tags=["circulation"])
async def renewals(stack: RenewStack, device: DeviceDep, gateway: GatewayDep) -> RenewResults:
    tenant(device, stack.library)
    _unique(stack.items, gateway)
    patron = stack.patron_id

    def action(item: StackItem) -> Action:
        async def send(circulation: Sip2Circulation) -> Outcome:
            return await circulation.renew(patron, item.item_id, item.txn.transaction())

        return Action("renew", item.item_id, patron, item.txn, send)

    results = await _carry_all(gateway, device, [action(i) for i in stack.items], RenewResult)
    return RenewResults(results=results)


@router.post("/v1/patrons", response_model=PatronAnswer, responses=ERRORS, tags=["circulation"])
async def patron(lookup: PatronLookup, device: DeviceDep, gateway: GatewayDep) -> PatronAnswer:
    """A patron's account (and the PIN check). POST, so that neither card nor PIN is in a URL."""
    library = tenant(device, lookup.library)
    if not await run(gateway.limits.card.allow, gateway.limits.card_key(lookup.patron_id)):
        raise problem(
            429, "rate_limited", "too many look-ups of this card; wait a minute", {"Retry-After": "60"}
        )
    if lookup.pin is not None:
        wait = await run(gateway.cards.cooldown, lookup.patron_id)
        if wait:
            return _cooled_down(lookup.patron_id, wait)
    try:
        account = await gateway.carrier.circulation(library).patron(
            lookup.patron_id, lookup.pin, lookup.txn.transaction()
        )
    except CirculationError as exc:
        raise library_error(exc) from None
    account = address_shown(account, gateway.config.libraries()[library].email_receipts)
    if account.found:
        await run(lambda: gateway.cards.saw(lookup.patron_id, blocked=not account.may_borrow))
    if account.pin_ok is not None:
        wait = await run(gateway.cards.pin_result, lookup.patron_id, account.pin_ok)
        if wait:
            return PatronAnswer(account=account, cooldown_seconds=wait)
    return PatronAnswer(account=account)


def _cooled_down(patron_id: str, seconds: int) -> PatronAnswer:
    minutes = max(1, (seconds + 59) // 60)
    text_ = (
        f"For mange feil PIN. Prøv igjen om {minutes} min. / Too many wrong PINs. Try again in {minutes} min."
    )
    return PatronAnswer(
        account=PatronAccount(patron_id=patron_id, found=True, pin_ok=False, screen_message=text_),
        cooldown_seconds=seconds,
    )


@router.get("/v1/items/{item_id}", response_model=ItemAnswer, responses=ERRORS, tags=["circulation"])
async def item(item_id: str, device: DeviceDep, gateway: GatewayDep) -> ItemAnswer:
    if not 0 < len(item_id) <= 100 or "|" in item_id or not item_id.isprintable():
        raise problem(422, "invalid_item", "an item id is 1-100 printable characters without '|'")
    try:
        return ItemAnswer(status=await gateway.carrier.circulation(device.library).item_status(item_id))
    except CirculationError as exc:
        raise library_error(exc) from None


@router.post("/v1/sessions/end", status_code=204, responses=ERRORS, tags=["circulation"])
async def end_session(body: EndSession, device: DeviceDep, gateway: GatewayDep) -> Response:
    try:
        await gateway.carrier.circulation(tenant(device, body.library)).end_session(body.patron_id)
    except CirculationError as exc:
        raise library_error(exc) from None
    return Response(status_code=204)


@router.get("/v1/ping", status_code=204, responses=ERRORS, tags=["circulation"])
async def ping(device: DeviceDep, gateway: GatewayDep) -> Response:
    """204 when the gateway and this kiosk's library system both answer (SIP2 99/98)."""
    try:
        await gateway.carrier.circulation(device.library).ping()
    except CirculationError as exc:
        raise library_error(exc) from None
    return Response(status_code=204)


@router.get(
    "/v1/transactions/{key}", response_model=TransactionAnswer, responses=ERRORS, tags=["circulation"]
)
async def transaction(key: uuid.UUID, device: DeviceDep, gateway: GatewayDep) -> TransactionAnswer:
    """What happened to transaction `key`? An unsettled key is asked about at the library system first."""
    entry = await run(gateway.ledger.get, str(key))
    if entry is None:
        return TransactionAnswer(id=key, known=False)
    if entry.library != device.library:
        raise problem(403, "other_library", "this transaction belongs to another library")
    orphaned = entry.state is LedgerState.IN_FLIGHT and not await run(gateway.ledger.owner_alive, entry)
    if entry.state is LedgerState.UNKNOWN or orphaned:
        await gateway.carrier.reconcile(entry)
        entry = await run(gateway.ledger.get, str(key)) or entry
    return TransactionAnswer(
        id=key,
        known=True,
        state=entry.state,
        operation=entry.operation,
        item_id=entry.item_id,
        outcome=outcome_of(entry.operation, entry.outcome) if entry.outcome else None,
        reconciled=entry.reconciled,
        claimed_at=entry.claimed_at,
        settled_at=entry.settled_at,
    )


@router.post("/v1/enroll", response_model=EnrollAnswer, responses=ERRORS, tags=["devices"])
async def enroll_device(body: EnrollRequest, request: Request, gateway: GatewayDep) -> EnrollAnswer:
    """Exchange a one-time enrollment code for this kiosk's device token (returned only here)."""
    client = request.client.host if request.client else "unknown"
    if not await run(gateway.limits.enroll.allow, f"enroll:{client}"):
        raise problem(
            429, "rate_limited", "too many enrollment attempts; wait a minute", {"Retry-After": "60"}
        )
    try:
        device, token = await run(enroll, gateway.engine, body.code)
    except EnrollmentRefused as exc:
        raise problem(403, "enrollment_refused", str(exc)) from None
    return EnrollAnswer(
        device_id=device.id,
        token=token,
        library=device.library,
        library_name=gateway.config.library_names.get(device.library, ""),
        kiosk_name=device.name,
        consortium=gateway.config.gateway.consortium,
    )


class DeviceAnswer(BaseModel):
    device_id: str
    library: str
    library_name: str
    kiosk_name: str


@router.get("/v1/device", response_model=DeviceAnswer, responses=ERRORS, tags=["devices"])
async def whoami(device: DeviceDep, gateway: GatewayDep) -> DeviceAnswer:
    return DeviceAnswer(
        device_id=device.id,
        library=device.library,
        library_name=gateway.config.library_names.get(device.library, ""),
        kiosk_name=device.name,
    )


@router.get("/v1/offline-data", response_model=OfflineData, responses=ERRORS, tags=["offline"])
async def offline_data(
    device: DeviceDep, gateway: GatewayDep, library: Annotated[str | None, Query(max_length=32)] = None
) -> OfflineData:
    """The library's offline policy, card rules and pseudonymised card lists; refresh every
    `refresh_seconds`."""
    return await run(gateway.cards.offline_data, tenant(device, library))


@router.post("/v1/heartbeats", status_code=204, responses=ERRORS, tags=["telemetry"])
async def heartbeat(beat: Heartbeat, device: DeviceDep, gateway: GatewayDep) -> Response:
    await run(gateway.telemetry.heartbeat, device, beat)
    return Response(status_code=204)


@router.post("/v1/statistics", status_code=204, responses=ERRORS, tags=["telemetry"])
async def hour_statistics(report: HourStatistics, device: DeviceDep, gateway: GatewayDep) -> Response:
    """What only the kiosk counts in one hour, as totals so far (sent twice, counted once); the heartbeat
    carries the same in `hours`."""
    await run(gateway.telemetry.kiosk_hour, device, report)
    return Response(status_code=204)


@router.get("/health", tags=["operations"])
async def health(gateway: GatewayDep) -> dict[str, str]:
    """For load balancers: 200 when this process and its database answer."""

    def probe() -> None:
        with gateway.engine.connect() as db:
            db.execute(text("SELECT 1"))

    try:
        await run(probe)
    except Exception:
        raise problem(503, "database_unavailable", "the gateway's database does not answer") from None
    return {"status": "ok", "instance": gateway.ledger.instance}


def _may_scrape(request: Request, gateway: Gateway) -> None:
    """With a metrics token: that token, from anywhere. Without: loopback clients only, unless the
    configuration opens it (`metrics_loopback_only = false`)."""
    if gateway.metrics_token is not None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.encode(), gateway.metrics_token.encode()
        ):
            raise problem(
                401, "no_metrics_token", "send the metrics token as 'Authorization: Bearer ...'",
                {"WWW-Authenticate": 'Bearer realm="metrics"'},
            )  # fmt: skip
        return
    if not gateway.config.gateway.metrics_loopback_only:
        return
    host = request.client.host if request.client else ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise problem(
            403, "metrics_loopback_only",
            "/metrics answers the gateway's own host only; set [gateway] metrics_token_file to scrape it "
            "from elsewhere",
        )  # fmt: skip


@router.get("/metrics", tags=["operations"], response_class=Response, responses=ERRORS)
async def metrics(request: Request, gateway: GatewayDep) -> Response:
    """Prometheus text format, for the operators: the metrics token, or the gateway's own host."""
    _may_scrape(request, gateway)
    body = await run(generate_latest, gateway.telemetry.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
