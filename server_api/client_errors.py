"""The errors of `HttpCirculation` (server_api/client.py), and how a gateway's answer maps onto them.

What the caller may conclude from an error (the same classes the station already handles for SIP2):

- `GatewayUnreachable`, `GatewayRefused` (`CirculationUnavailable`): nothing was done. Connection refused,
  TLS failure, connect timeout, a 401/403 (token unknown or revoked: enroll again), a 429 (slow down), a
  503 (the library system cannot be reached from the gateway), or an item the gateway did not send.
- `GatewayNoReply` (`CirculationNoReply`): the request may have been carried out: a read timeout, a
  connection lost after sending, a 5xx from the gateway, an item whose fate the gateway could not learn
  (`no_reply`) or that is still in flight elsewhere. Reconcile: `transaction_status(uuid)` first.
- `GatewayBadReply` (`CirculationNoReply` and `CirculationProtocolError`): an answer that does not parse.
- `GatewayRequestRefused` (`CirculationProtocolError`): a 422 or a reused key; retrying will not help.
"""

from __future__ import annotations

import httpx

from server_api.circulation import (
    CirculationError,
    CirculationNoReply,
    CirculationProtocolError,
    CirculationUnavailable,
)
from server_api.gateway.wire import ItemState


class GatewayUnreachable(CirculationUnavailable):
    """The gateway could not be reached (refused, DNS, TLS, connect timeout). Nothing was sent."""


class GatewayRefused(CirculationUnavailable):
    """The gateway answered but did nothing: token refused (401/403), rate limit (429), library system
    unreachable from the gateway (503), or an item it did not send. `status` is the HTTP status."""

    def __init__(self, message: str, status: int = 0, error: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.error = error

    @property
    def device_revoked(self) -> bool:
        return self.status == 401


class GatewayNoReply(CirculationNoReply):
    """Sent, no usable answer: the action may have happened. Ask `transaction_status` before anything."""


class GatewayBadReply(GatewayNoReply, CirculationProtocolError):
    """An answer came that is not what the API promises."""


class GatewayRequestRefused(CirculationProtocolError):
    """The gateway refused the request itself (422, a reused transaction id). Nothing was done."""


def item_error(state: ItemState, error: str) -> CirculationError:
    """The error one item of a stack maps to, from its state in the gateway's answer."""
    message = error or state.value
    if state is ItemState.UNAVAILABLE:
        return GatewayRefused(f"not sent: {message}", 503, state.value)
    if state in (ItemState.PROTOCOL_ERROR, ItemState.KEY_REUSED):
        return GatewayRequestRefused(message)
    if state is ItemState.DONE:
        return GatewayBadReply("an item is done but carries no outcome")
    return GatewayNoReply(message)  # no_reply, in_flight: fate unknown


def status_error(response: httpx.Response) -> CirculationError:
    """The error an HTTP answer other than the one expected maps to."""
    try:
        body = response.json()
        error, message = str(body.get("error", "")), str(body.get("message", ""))
    except (ValueError, AttributeError):
        error, message = "", response.text[:200]
    status = response.status_code
    text = f"gateway answered {status}: {message or error or response.reason_phrase}"
    if status in (401, 403, 429, 503):
        return GatewayRefused(text, status, error)
    if status == 504:
        return GatewayNoReply(text)
    if status == 502:
        return GatewayBadReply(text)
    if 400 <= status < 500:
        return GatewayRequestRefused(text)
    return GatewayNoReply(text)


def describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


__all__ = [
    "GatewayBadReply",
    "GatewayNoReply",
    "GatewayRefused",
    "GatewayRequestRefused",
    "GatewayUnreachable",
    "describe",
    "item_error",
    "status_error",
]
