"""The idempotency ledger: one durable row per transaction UUID (the kiosk journal's id).

States of a key (the whole table of moves; anything else is refused by the compare-and-set updates):

    (new) ──claim (INSERT, primary key)──► IN_FLIGHT ──reply──► DONE (outcome stored)
    IN_FLIGHT ──nothing sent (unreachable, unencodable)──► NOT_APPLIED
    IN_FLIGHT ──sent, no reply, and asking did not settle it──► UNKNOWN
    IN_FLIGHT (owner process dead) ─┐
    UNKNOWN ────────────────────────┴─take over (CAS)──► IN_FLIGHT ──ask 63/17──► DONE | NOT_APPLIED | UNKNOWN
    NOT_APPLIED ──a repeat of the key, take over (CAS)──► IN_FLIGHT (sent again: it certainly did not happen)

Rules:
- The claim is committed *before* anything is sent, the outcome *before* the kiosk is answered.
- Exactly one process owns an IN_FLIGHT row (`owner`). Two processes that receive the same key at once
  both try the INSERT; the primary key lets one win, the other waits for the outcome.
- A take-over is an UPDATE guarded by the row's state, owner and attempt count: of several processes that
  try it, exactly one sees rowcount 1.
- A process proves it is alive by a heartbeat in `instances`; an IN_FLIGHT row whose owner stopped beating
  (or whose owner ran on this host with a pid that no longer exists) is an orphan of a crash.
- The card number of a checkout stays in the row only while the key is IN_FLIGHT or UNKNOWN (reconciling
  needs it); settling blanks it.
- Settled keys are forgotten after `[gateway] ledger_days` (`expire`, at start and hourly), except those of
  a kiosk that still reports an unconfirmed entry from before then.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Update, and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from .devices import utcnow
from .group_commit import GroupWriter
from .schema import heartbeats, instances, ledger
from .wire import LedgerState

State = LedgerState


@dataclass(frozen=True)
class Entry:
    key: str
    library: str
    device_id: str
    operation: str
    item_id: str
    patron_id: str
    request: dict[str, Any]
    state: State
    outcome: dict[str, Any] | None
    error: str
    owner: str
    claimed_at: datetime
    settled_at: datetime | None
    reconciled: bool
    attempts: int

    @classmethod
    def of(cls, row: Any) -> Entry:
        return cls(
            key=row.key,
            library=row.library,
            device_id=row.device_id,
            operation=row.operation,
            item_id=row.item_id,
            patron_id=row.patron_id,
            request=row.request,
            state=State(row.state),
            outcome=row.outcome,
            error=row.error,
            owner=row.owner,
            claimed_at=row.claimed_at,
            settled_at=row.settled_at,
            reconciled=row.reconciled,
            attempts=row.attempts,
        )


@dataclass(frozen=True)
class Settlement:
    key: str
    state: State
    outcome: dict[str, Any] | None = None
    error: str = ""
    reconciled: bool = False
    also: Callable[[Connection], None] | None = None


class _Row:
    """Attribute access to a row dict, so that `Entry.of` reads a claimed row without a SELECT."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


@dataclass(frozen=True)
class Claim:
    mine: bool  # True: this process inserted the row and must carry the action out
    entry: Entry


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pending_before(report: dict[str, Any] | None, cutoff: datetime) -> bool:
    """Whether a heartbeat reports an unconfirmed entry from before `cutoff` (a day's margin for clocks
    and time zones: kiosks report local time)."""
    stamp = (report or {}).get("oldest_pending_at")
    if not stamp:
        return False
    try:
        when = datetime.fromisoformat(str(stamp))
    except ValueError:
        return True  # unreadable: keep its keys rather than guess
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when < cutoff + timedelta(days=1)


def _settle(*, keeps_card: bool) -> Update:
    """Settle a key this process holds in flight (the WHERE is the compare-and-set); executemany rows."""
    values: dict[str, Any] = {
        "state": bindparam("b_state"),
        "outcome": bindparam("b_outcome", type_=ledger.c.outcome.type),
        "error": bindparam("b_error"),
        "settled_at": bindparam("b_settled_at", type_=ledger.c.settled_at.type),
        "reconciled": bindparam("b_reconciled", type_=ledger.c.reconciled.type),
    }
    if not keeps_card:
        values["patron_id"] = ""
    return (
        update(ledger)
        .where(
            ledger.c.key == bindparam("b_key"),
            ledger.c.owner == bindparam("b_owner"),
            ledger.c.state == State.IN_FLIGHT.value,
        )
        .values(**values)
    )


_SETTLE = {keeps_card: _settle(keeps_card=keeps_card) for keeps_card in (False, True)}


class Ledger:
    def __init__(self, engine: Engine, *, beat_seconds: float = 2.0) -> None:
        self.engine = engine
        self.instance = f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.beat_seconds = beat_seconds

    # -- claims -----------------------------------------------------------------------------------------

    def new_row(
        self,
        key: str,
        *,
        library: str,
        device_id: str,
        operation: str,
        item_id: str,
        patron_id: str,
        request: dict[str, Any],
    ) -> dict[str, Any]:
        """The ledger row that claims `key` for this process."""
        return {
            "key": key,
            "library": library,
            "device_id": device_id,
            "operation": operation,
            "item_id": item_id,
            "patron_id": patron_id,
            "request": request,
            "state": State.IN_FLIGHT.value,
            "outcome": None,
            "error": "",
            "owner": self.instance,
            "claimed_at": utcnow(),
            "settled_at": None,
            "attempts": 1,
            "reconciled": False,
        }

    def claim(self, row: dict[str, Any]) -> Claim:
        """Record `row["key"]` as in flight for this process, or return what is already recorded."""
        try:
            with self.engine.begin() as db:
                db.execute(insert(ledger).values(**row))
        except IntegrityError:
            entry = self.get(row["key"])
            if entry is None:  # rows are never deleted while young: cannot happen
                raise
            return Claim(False, entry)
        return Claim(True, Entry.of(_Row(row)))

    def take_over(self, entry: Entry, *, patron_id: str | None = None) -> Entry | None:
        """Make an UNKNOWN, NOT_APPLIED or orphaned IN_FLIGHT row ours; None when another process won."""
        values: dict[str, Any] = {
            "state": State.IN_FLIGHT.value,
            "owner": self.instance,
            "claimed_at": utcnow(),
            "attempts": entry.attempts + 1,
        }
        if patron_id:
            values["patron_id"] = patron_id
        with self.engine.begin() as db:
            won = db.execute(
                update(ledger)
                .where(
                    ledger.c.key == entry.key,
                    ledger.c.state == entry.state.value,
                    ledger.c.owner == entry.owner,
                    ledger.c.attempts == entry.attempts,
                )
                .values(**values)
            ).rowcount
        return self.get(entry.key) if won == 1 else None

    def write_batch(
        self, claim_groups: list[list[dict[str, Any]]], settlements: list[Settlement]
    ) -> list[list[Claim]]:
        """Claims and settlements in one commit. If a claimed key exists already (a repeat, or the same
        key twice in the batch), the settlements are committed on their own and each claim alone."""
        rows = [row for group in claim_groups for row in group]
        try:
            with self.engine.begin() as db:
                if rows:
                    db.execute(insert(ledger), rows)
                self._apply(db, settlements)
        except IntegrityError:
            if settlements:
                self.settle_many(settlements)
            return [[self.claim(row) for row in group] for group in claim_groups]
        return [[Claim(True, Entry.of(_Row(row))) for row in group] for group in claim_groups]

    def settle_many(self, settlements: list[Settlement]) -> None:
        """Record the fates of keys this process holds in flight, in one commit (durable before anyone is
        answered); each settlement's `also` runs in the same commit (the statistics that count it)."""
        with self.engine.begin() as db:
            self._apply(db, settlements)

    def _apply(self, db: Connection, settlements: list[Settlement]) -> None:
        """One executemany per kind of settlement: building an UPDATE per item cost more than running it."""
        now = utcnow()
        for keeps_card in (False, True):
            rows = [
                {
                    "b_key": item.key,
                    "b_owner": self.instance,
                    "b_state": item.state.value,
                    "b_outcome": item.outcome,
                    "b_error": item.error[:500],
                    "b_settled_at": now,
                    "b_reconciled": item.reconciled,
                }
                for item in settlements
                if (item.state is State.UNKNOWN) is keeps_card  # reconciling UNKNOWN needs the card
            ]
            if rows:
                db.execute(_SETTLE[keeps_card], rows)
        for item in settlements:
            if item.also is not None:
                item.also(db)

    def get(self, key: str) -> Entry | None:
        with self.engine.connect() as db:
            row = db.execute(select(ledger).where(ledger.c.key == key)).first()
        return None if row is None else Entry.of(row)

    # -- processes and orphans ---------------------------------------------------------------------------

    def register(self) -> None:
        now = utcnow()
        with self.engine.begin() as db:
            db.execute(
                insert(instances).values(
                    id=self.instance,
                    host=socket.gethostname()[:255],
                    pid=os.getpid(),
                    started_at=now,
                    seen_at=now,
                    stopped=False,
                )
            )

    def beat(self) -> None:
        with self.engine.begin() as db:
            db.execute(update(instances).where(instances.c.id == self.instance).values(seen_at=utcnow()))

    def stop(self) -> None:
        with self.engine.begin() as db:
            db.execute(update(instances).where(instances.c.id == self.instance).values(stopped=True))

    def dead_instances(self) -> set[str]:
        """Processes that no longer carry anything out: stopped, silent, or a dead pid on this host."""
        stale = utcnow() - timedelta(seconds=max(3 * self.beat_seconds, 1.0))
        here = socket.gethostname()[:255]
        dead: set[str] = set()
        with self.engine.connect() as db:
            for row in db.execute(select(instances).where(instances.c.id != self.instance)):
                if row.stopped or row.seen_at < stale or (row.host == here and not _pid_alive(row.pid)):
                    dead.add(row.id)
        return dead

    def orphans(self, limit: int = 200) -> list[Entry]:
        """Keys whose fate must be found out: UNKNOWN ones, and IN_FLIGHT ones whose owner is gone."""
        dead = self.dead_instances()
        with self.engine.connect() as db:
            in_flight_rows = db.execute(
                select(ledger.c.key, ledger.c.owner).where(ledger.c.state == State.IN_FLIGHT.value)
            ).all()
            known = {row.id for row in db.execute(select(instances.c.id))}
            keys = [r.key for r in in_flight_rows if r.owner in dead or r.owner not in known]
            query = select(ledger).where(
                or_(ledger.c.state == State.UNKNOWN.value, and_(ledger.c.key.in_(keys)))
            )
            rows = db.execute(query.order_by(ledger.c.claimed_at).limit(limit)).all()
        return [Entry.of(row) for row in rows]

    def owner_alive(self, entry: Entry) -> bool:
        """Whether the process holding `entry` in flight is still running (and so will settle it)."""
        if entry.owner == self.instance:
            return True
        with self.engine.connect() as db:
            registered = db.execute(select(instances.c.id).where(instances.c.id == entry.owner)).first()
        return registered is not None and entry.owner not in self.dead_instances()

    def expire(self, older_than: timedelta) -> int:
        """Forget settled keys (DONE, NOT_APPLIED) settled more than `older_than` ago; never one in flight
        or UNKNOWN (its fate is still to be found out). A key forgotten is new again: its repeat would be
        sent. So the keys of a kiosk whose last heartbeat reports an unconfirmed journal entry from before
        the cutoff (it may still ask about or resend one of them) are all kept until it catches up."""
        cutoff = utcnow() - older_than
        with self.engine.begin() as db:
            reports = db.execute(select(heartbeats.c.device_id, heartbeats.c.report)).all()
            holding = [row.device_id for row in reports if _pending_before(row.report, cutoff)]
            query = delete(ledger).where(
                ledger.c.state.in_((State.DONE.value, State.NOT_APPLIED.value)),
                ledger.c.settled_at < cutoff,
            )
            if holding:
                query = query.where(ledger.c.device_id.not_in(holding))
            return int(db.execute(query).rowcount)

    def scrub(self, older_than: timedelta) -> int:
        """Blank who a hold is for in outcomes older than `older_than` (the staff slip is long printed)."""
        cutoff = utcnow() - older_than
        count = 0
        with self.engine.begin() as db:
            rows = db.execute(
                select(ledger.c.key, ledger.c.outcome).where(
                    ledger.c.operation == "checkin", ledger.c.settled_at < cutoff, ledger.c.state == "done"
                )
            ).all()
            for row in rows:
                route = (row.outcome or {}).get("route") or {}
                if route.get("hold_patron_id") or route.get("hold_patron_name"):
                    outcome = {
                        **row.outcome,
                        "route": {**route, "hold_patron_id": "", "hold_patron_name": ""},
                    }
                    db.execute(update(ledger).where(ledger.c.key == row.key).values(outcome=outcome))
                    count += 1
        return count


__all__ = ["Claim", "Entry", "GroupWriter", "Ledger", "Settlement", "State"]
