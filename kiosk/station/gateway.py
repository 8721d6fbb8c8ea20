"""The consortium's gateway as the station uses it: `GatewayLink` wraps `server_api.client.HttpCirculation`.

- **A stack in one request.** The exactly-once send (`kiosk.station.sending`) handles every item on its
  own: its own journal entry, its own transaction UUID, its own settlement. The items of a stack placed
  together record in one group commit and so reach `checkout` (or `checkin`, `renew`) in the same loop
  turn; `GatewayLink` gathers the calls of that turn (per patron and PIN) and sends them as one
  `POST /v1/checkouts` (`checkout_many`). Each item still carries its own UUID as its idempotency key,
  and each caller gets its own outcome or its own error (`ItemFailure`), exactly as if it had been sent
  alone: the send, the reconciliation and the settlement stay per item.
- **What happened to UUID X?** The gateway claims a UUID durably before it sends anything to the library
  system, so its ledger is the authority: `happened(entry)` asks `GET /v1/transactions/{uuid}` instead of
  looking at the patron's loans. Never received, or certainly not applied: it did not happen (a resend
  with the same UUID is safe either way: the gateway never sends a UUID twice). Done: it happened if the
  library system accepted it. Still in flight or unknown at the gateway: nobody can tell yet, which is
  `CirculationNoReply` (the entry stays unsettled and is asked about again).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kiosk.journal import Entry
from server_api.circulation import (
    CheckinOutcome,
    CheckoutOutcome,
    ItemStatus,
    PatronAccount,
    RenewOutcome,
    Transaction,
)

if TYPE_CHECKING:  # httpx and the wire models load with the client, in gateway mode only (issue 15)
    from server_api.client import HttpCirculation

log = logging.getLogger(__name__)

MAX_STACK = 50  # the gateway's default [limits] max_stack: a bigger stack goes as several requests
_Key = tuple[str, str, str | None]  # operation, patron, PIN
_Waiting = tuple[str, Transaction, "asyncio.Future[Any]"]


class GatewayLink:
    """The `Circulation` protocol through the gateway, the items of one loop turn in one request."""

    def __init__(self, client: HttpCirculation, *, heartbeat_interval: float = 60.0) -> None:
        self.client = client
        self.heartbeat_interval = heartbeat_interval  # for `kiosk.station.gateway_reports`
        self._gathering: dict[_Key, list[_Waiting]] = {}
        self._senders: set[asyncio.Task[None]] = set()  # a task needs an owner
        self.requests = 0  # circulation requests sent (tests see a stack go as one)

    # -- Circulation --------------------------------------------------------------------------------

    async def checkout(
        self, patron_id: str, item_id: str, txn: Transaction, *, pin: str | None = None
    ) -> CheckoutOutcome:
        outcome = await self._join(("checkout", patron_id, pin), item_id, txn)
        assert isinstance(outcome, CheckoutOutcome)
        return outcome

    async def checkin(self, item_id: str, txn: Transaction) -> CheckinOutcome:
        outcome = await self._join(("checkin", "", None), item_id, txn)
        assert isinstance(outcome, CheckinOutcome)
        return outcome

    async def renew(self, patron_id: str, item_id: str, txn: Transaction) -> RenewOutcome:
        outcome = await self._join(("renew", patron_id, None), item_id, txn)
        assert isinstance(outcome, RenewOutcome)
        return outcome

    async def patron(self, patron_id: str, pin: str | None, txn: Transaction) -> PatronAccount:
        return await self.client.patron(patron_id, pin, txn)

    async def item_status(self, item_id: str) -> ItemStatus:
        return await self.client.item_status(item_id)

    async def end_session(self, patron_id: str) -> None:
        await self.client.end_session(patron_id)

    async def ping(self) -> None:
        await self.client.ping()

    async def close(self) -> None:
        for task in list(self._senders):
            await asyncio.gather(task, return_exceptions=True)
        await self.client.close()

    # -- what happened to UUID X? -------------------------------------------------------------------

    async def happened(self, entry: Entry) -> bool:
        """Did the journal entry's action take effect at the library system? Asked of the gateway's
        ledger; raises `CirculationNoReply` while the gateway itself cannot tell yet."""
        from server_api.client import GatewayNoReply
        from server_api.gateway.wire import LedgerState

        answer = await self.client.transaction_status(entry.id)
        if not answer.known or answer.state is LedgerState.NOT_APPLIED:
            return False
        if answer.state is LedgerState.DONE:
            return answer.outcome is not None and answer.outcome.ok
        raise GatewayNoReply(f"transaction {entry.id} is {answer.state} at the gateway: asked again later")

    # -- gathering a loop turn's items --------------------------------------------------------------

    async def _join(self, key: _Key, item_id: str, txn: Transaction) -> object:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Any] = loop.create_future()
        waiting = self._gathering.setdefault(key, [])
        waiting.append((item_id, txn, done))
        if len(waiting) == 1:
            # A task's first step runs after every callback already queued: the rest of the turn joins.
            sender = loop.create_task(self._send(key), name=f"gateway {key[0]}")
            self._senders.add(sender)
            sender.add_done_callback(self._senders.discard)
        return await done

    async def _send(self, key: _Key) -> None:
        waiting = self._gathering.pop(key)
        chunks = [waiting[start : start + MAX_STACK] for start in range(0, len(waiting), MAX_STACK)]
        await asyncio.gather(*(self._send_chunk(key, chunk) for chunk in chunks))

    async def _send_chunk(self, key: _Key, chunk: list[_Waiting]) -> None:
        operation, patron_id, pin = key
        items = [(item_id, txn) for item_id, txn, _ in chunk]
        self.requests += 1
        results: Sequence[object]
        try:
            if operation == "checkout":
                results = await self.client.checkout_many(patron_id, items, pin=pin)
            elif operation == "checkin":
                results = await self.client.checkin_many(items)
            else:
                results = await self.client.renew_many(patron_id, items)
        except BaseException as error:
            # The whole request failed: every item learns it (not sent, or fate unknown: the same for all).
            for _, _, done in chunk:
                if not done.done():
                    done.set_exception(error if isinstance(error, Exception) else asyncio.CancelledError())
            if not isinstance(error, Exception):
                raise
            return
        from server_api.client import ItemFailure

        for (_, _, done), result in zip(chunk, results, strict=True):
            if done.done():
                continue  # its caller gave up waiting; the outcome is in the gateway's ledger
            if isinstance(result, ItemFailure):
                done.set_exception(result.error)
            else:
                done.set_result(result)


__all__ = ["MAX_STACK", "GatewayLink"]
