"""`HttpCirculation`: the `Circulation` protocol over HTTPS + JSON to the consortium's gateway.

One `httpx.AsyncClient` (HTTP/1.1 keep-alive: one connection stays open between actions), the device token
as `Authorization: Bearer`, TLS with the system's CAs or a pinned CA file, an optional client certificate.

What the caller may conclude from an error: `server_api.client_errors` (the same classes the station
already handles for SIP2).

Retries, only where they are safe: circulation calls carry each item's idempotency key (the journal's
transaction UUID), so a lost reply is retried with the same keys and the gateway answers from its ledger;
reads (item status, transaction status, offline data, ping) are retried too. A patron lookup (which may
count a wrong PIN) and the session end are retried only when nothing was sent (connect errors).
Once a try of a stack may have reached the gateway, a later try's "nothing was done" (cannot connect: the
gateway was killed and is starting again; 401/403/429/503) no longer speaks for the first one, so the
stack fails with `GatewayNoReply`, never `GatewayUnreachable`: the station then asks about its UUIDs
instead of telling the patron it was not sent and lending the item again under a new UUID.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from server_api.circulation import (
    CheckinOutcome,
    CheckoutOutcome,
    CirculationError,
    CirculationUnavailable,
    ItemStatus,
    PatronAccount,
    RenewOutcome,
    Transaction,
)
from server_api.client_errors import (
    GatewayBadReply,
    GatewayNoReply,
    GatewayRefused,
    GatewayRequestRefused,
    GatewayUnreachable,
    describe,
    item_error,
    status_error,
)
from server_api.gateway.wire import (
    CheckinResults,
    CheckoutResults,
    EnrollAnswer,
    Heartbeat,
    HourStatistics,
    ItemAnswer,
    ItemState,
    OfflineData,
    PatronAnswer,
    RenewResults,
    TransactionAnswer,
    TransactionIn,
)


@dataclass(frozen=True)
class GatewaySettings:
    url: str  # https://gateway.example:8443
    token: str = ""  # the device token (or token_file)
    token_file: str = ""  # 0600 file with the token, written by `kiosk enroll`
    ca_file: str = ""  # pin this CA (PEM) instead of the system's CAs
    client_cert: str = ""  # client certificate (PEM), if the gateway asks for one
    client_key: str = ""  # its key, unless inside client_cert
    connect_timeout: float = 3.0
    timeout: float = 15.0  # a stack waits on the library system: allow its SIP2 timeout and more
    retries: int = 2  # extra tries where safe

    def bearer(self) -> str:
        if self.token:
            return self.token
        if self.token_file:
            return Path(self.token_file).read_text(encoding="utf-8").strip()
        raise CirculationUnavailable("no device token: enroll this kiosk with the gateway first")

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_file or None)
        if self.client_cert:
            context.load_cert_chain(self.client_cert, self.client_key or None)
        return context


@dataclass(frozen=True)
class ItemFailure:
    """One item of a stack that was not carried out (or whose fate is unknown): the error it maps to."""

    item_id: str
    txn_id: uuid.UUID
    error: CirculationError


M = TypeVar("M", bound=BaseModel)
OutcomeT = TypeVar("OutcomeT", CheckoutOutcome, CheckinOutcome, RenewOutcome)
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class HttpCirculation:
    """The `Circulation` protocol through the gateway; also stacks in one request and "what happened?"."""

    def __init__(
        self, settings: GatewaySettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        timeout = httpx.Timeout(settings.timeout, connect=settings.connect_timeout)
        self._client = httpx.AsyncClient(
            base_url=settings.url.rstrip("/"),
            timeout=timeout,
            verify=settings.ssl_context() if settings.url.startswith("https") else True,
            limits=httpx.Limits(max_connections=8, max_keepalive_connections=4, keepalive_expiry=60),
            headers={"User-Agent": "library-kiosk"},
            transport=transport,
        )

    # -- transport ----------------------------------------------------------------------------------------

    async def _call(
        self, method: str, path: str, body: Any = None, *, retry_sent: bool, acts: bool = False
    ) -> httpx.Response:
        """`acts`: the request carries out actions (a stack). Once one try of it may have reached the
        gateway, no later try can say "nothing was done": that try may have been carried out (the gateway
        killed after sending it on, a reply lost), so a later "cannot connect", 401/403/429/503 is
        `GatewayNoReply` and the caller asks what happened to its UUIDs."""
        headers = {"Authorization": f"Bearer {self.settings.bearer()}"}
        last: Exception | None = None
        maybe_done = False  # an earlier try of an acting request may have been carried out
        for attempt in range(self.settings.retries + 1):
            if attempt:
                await asyncio.sleep(min(0.2 * 2**attempt, 2.0))
            try:
                response = await self._client.request(method, path, json=body, headers=headers)
            except _NOT_SENT as exc:
                last = GatewayUnreachable(f"the gateway cannot be reached: {describe(exc)}")
                if maybe_done:
                    last = GatewayNoReply(f"{last}; an earlier try may have been carried out")
                continue
            except httpx.TransportError as exc:
                last = GatewayNoReply(f"no reply from the gateway: {describe(exc)}")
                maybe_done = maybe_done or acts
                if retry_sent:
                    continue
                raise last from None
            if response.status_code >= 500 and response.status_code not in (502, 503, 504) and retry_sent:
                last = status_error(response)
                maybe_done = maybe_done or acts
                continue
            if maybe_done and response.status_code != 200:
                error = status_error(response)
                if isinstance(error, CirculationUnavailable):
                    raise GatewayNoReply(f"{error}; an earlier try may have been carried out")
            return response
        assert last is not None
        raise last

    async def _json(
        self,
        method: str,
        path: str,
        model: type[M],
        body: Any = None,
        *,
        retry_sent: bool,
        acts: bool = False,
    ) -> M:
        response = await self._call(method, path, body, retry_sent=retry_sent, acts=acts)
        if response.status_code != 200:
            raise status_error(response)
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            raise GatewayBadReply(
                f"the gateway's answer to {path} is not valid: {exc.error_count()} errors"
            ) from None

    # -- stacks -------------------------------------------------------------------------------------------

    async def checkout_many(
        self, patron_id: str, items: Sequence[tuple[str, Transaction]], *, pin: str | None = None
    ) -> list[CheckoutOutcome | ItemFailure]:
        """Lend a stack in one request: one outcome or `ItemFailure` per item, in order."""
        body = {"patron_id": patron_id, "pin": pin, "items": _items(items)}
        answer = await self._json("POST", "/v1/checkouts", CheckoutResults, body, retry_sent=True, acts=True)
        return _per_item(answer.results, items)

    async def checkin_many(
        self, items: Sequence[tuple[str, Transaction]]
    ) -> list[CheckinOutcome | ItemFailure]:
        answer = await self._json(
            "POST", "/v1/checkins", CheckinResults, {"items": _items(items)}, retry_sent=True, acts=True
        )
        return _per_item(answer.results, items)

    async def renew_many(
        self, patron_id: str, items: Sequence[tuple[str, Transaction]]
    ) -> list[RenewOutcome | ItemFailure]:
        body = {"patron_id": patron_id, "items": _items(items)}
        answer = await self._json("POST", "/v1/renewals", RenewResults, body, retry_sent=True, acts=True)
        return _per_item(answer.results, items)

    # -- Circulation --------------------------------------------------------------------------------------

    async def checkout(
        self, patron_id: str, item_id: str, txn: Transaction, *, pin: str | None = None
    ) -> CheckoutOutcome:
        return _single(await self.checkout_many(patron_id, [(item_id, txn)], pin=pin))

    async def checkin(self, item_id: str, txn: Transaction) -> CheckinOutcome:
        return _single(await self.checkin_many([(item_id, txn)]))

    async def renew(self, patron_id: str, item_id: str, txn: Transaction) -> RenewOutcome:
        return _single(await self.renew_many(patron_id, [(item_id, txn)]))

    async def patron(self, patron_id: str, pin: str | None, txn: Transaction) -> PatronAccount:
        return (await self.patron_answer(patron_id, pin, txn)).account

    async def patron_answer(self, patron_id: str, pin: str | None, txn: Transaction) -> PatronAnswer:
        """The account and, after too many wrong PINs on this card anywhere, `cooldown_seconds`."""
        body = {"patron_id": patron_id, "pin": pin, "txn": _txn(txn)}
        return await self._json("POST", "/v1/patrons", PatronAnswer, body, retry_sent=False)

    async def item_status(self, item_id: str) -> ItemStatus:
        path = f"/v1/items/{quote(item_id, safe='')}"
        return (await self._json("GET", path, ItemAnswer, retry_sent=True)).status

    async def end_session(self, patron_id: str) -> None:
        response = await self._call("POST", "/v1/sessions/end", {"patron_id": patron_id}, retry_sent=False)
        if response.status_code != 204:
            raise status_error(response)

    async def ping(self) -> None:
        response = await self._call("GET", "/v1/ping", retry_sent=True)
        if response.status_code != 204:
            raise status_error(response)

    async def close(self) -> None:
        await self._client.aclose()

    # -- beyond Circulation ------------------------------------------------------------------------------

    async def transaction_status(self, txn_id: uuid.UUID) -> TransactionAnswer:
        """What happened to transaction `txn_id`? (`known=False`: the gateway never received it.)"""
        return await self._json("GET", f"/v1/transactions/{txn_id}", TransactionAnswer, retry_sent=True)

    async def offline_data(self) -> OfflineData:
        return await self._json("GET", "/v1/offline-data", OfflineData, retry_sent=True)

    async def heartbeat(self, beat: Heartbeat) -> None:
        response = await self._call("POST", "/v1/heartbeats", beat.model_dump(mode="json"), retry_sent=True)
        if response.status_code != 204:
            raise status_error(response)

    async def email_receipt(self, patron_id: str, language: str, subject: str, body: str) -> None:
        """Have the gateway e-mail a receipt to the address the library system has for the card (the
        kiosk never holds it). Not retried once sent: a patron should not get the receipt twice.
        `GatewayRefused` (nothing sent: the mail server or the library system cannot be reached, 429) or
        `GatewayRequestRefused` (404: the library sends no e-mail receipts; 409: no usable address)."""
        body_ = {"patron_id": patron_id, "language": language, "subject": subject, "body": body}
        response = await self._call("POST", "/v1/receipts", body_, retry_sent=False)
        if response.status_code != 204:
            raise status_error(response)

    async def hour_statistics(self, report: HourStatistics) -> None:
        response = await self._call(
            "POST", "/v1/statistics", report.model_dump(mode="json"), retry_sent=False
        )
        if response.status_code != 204:
            raise status_error(response)


async def enroll(
    url: str,
    code: str,
    *,
    ca_file: str = "",
    client_cert: str = "",
    client_key: str = "",
    timeout: float = 15.0,
) -> EnrollAnswer:
    """Exchange a one-time enrollment code for a device token (`kiosk enroll URL CODE`)."""
    tls = GatewaySettings(url, ca_file=ca_file, client_cert=client_cert, client_key=client_key)
    verify: ssl.SSLContext | bool = tls.ssl_context() if url.startswith("https") else True
    async with httpx.AsyncClient(base_url=url.rstrip("/"), timeout=timeout, verify=verify) as client:
        try:
            response = await client.post("/v1/enroll", json={"code": code})
        except httpx.TransportError as exc:
            raise GatewayUnreachable(f"the gateway cannot be reached: {describe(exc)}") from None
    if response.status_code != 200:
        raise status_error(response)
    try:
        return EnrollAnswer.model_validate_json(response.content)
    except ValidationError:
        raise GatewayBadReply("the gateway's enrollment answer is not valid") from None


def write_token_file(path: str | Path, token: str) -> Path:
    """Store a device token readable by its owner only (0600), atomically."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(temporary, 0o600)
    os.replace(temporary, target)
    return target


def _txn(txn: Transaction) -> dict[str, Any]:
    try:
        return TransactionIn.of(txn).model_dump(mode="json")
    except ValidationError as exc:
        raise GatewayRequestRefused(
            f"transaction {txn.id} cannot be sent: {exc.errors()[0]['msg']}"
        ) from None


def _items(items: Sequence[tuple[str, Transaction]]) -> list[dict[str, Any]]:
    return [{"item_id": item_id, "txn": _txn(txn)} for item_id, txn in items]


def _per_item(results: Sequence[Any], items: Sequence[tuple[str, Transaction]]) -> list[Any]:
    by_id = {result.id: result for result in results}
    answers: list[Any] = []
    for item_id, txn in items:
        result = by_id.get(txn.id)
        if result is None:
            answers.append(ItemFailure(item_id, txn.id, GatewayBadReply(f"no answer for item {item_id}")))
        elif result.state is ItemState.DONE and result.outcome is not None:
            answers.append(result.outcome)
        else:
            answers.append(ItemFailure(item_id, txn.id, item_error(result.state, result.error)))
    return answers


def _single(answers: Sequence[OutcomeT | ItemFailure]) -> OutcomeT:
    (answer,) = answers
    if isinstance(answer, ItemFailure):
        raise answer.error
    return answer


__all__ = [
    "GatewayBadReply",
    "GatewayNoReply",
    "GatewayRefused",
    "GatewayRequestRefused",
    "GatewaySettings",
    "GatewayUnreachable",
    "HttpCirculation",
    "ItemFailure",
    "enroll",
    "write_token_file",
]
