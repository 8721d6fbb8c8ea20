"""Heartbeats, statistics per kiosk and hour, and `/metrics` (Prometheus text format, prometheus_client).

Rules:
- A heartbeat replaces the device's previous one (the latest state is what operators need); it holds
  hardware and queue facts only.
- Statistics are counts per (device, hour, metric, label): loans, returns and renewals the gateway
  carried out, refusals by reason (added as they happen, in the commit that settles them), and what only
  the kiosk knows (sessions by language, minutes offline, loans and returns taken offline: metric
  "offline", labels "loans" / "returns"), which the kiosk reports as totals of the hour with its heartbeat
  and which replace what was there. No patron, card or item ever appears in them.
- `/metrics` shows per-process counters (requests, items by result, SIP2 time) and, read from the database
  at scrape time, every kiosk's last heartbeat: any process behind a load balancer answers for all.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Connection, Engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from server_api.circulation import CheckinOutcome, CheckoutOutcome, RenewOutcome, Transaction

from .devices import Device, utcnow
from .schema import devices, heartbeats, statistics
from .wire import Heartbeat, HourStatistics

METRIC_FOR = {"checkout": "loans", "checkin": "returns", "renew": "renewals"}


def as_utc(at: datetime) -> datetime:
    """Naive UTC, as stored: an aware time is converted, a naive one is taken as UTC already."""
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def hour_of(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0, tzinfo=None)


class Telemetry:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gateway_http_requests", "HTTP requests answered", ["endpoint", "status"], registry=self.registry
        )
        self.items = Counter(
            "gateway_items",
            "Stack items by operation and result",
            ["operation", "result"],
            registry=self.registry,
        )
        self.stack_seconds = Histogram(
            "gateway_stack_seconds",
            "Time to carry out one stack request (ledger and SIP2)",
            ["operation"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        # Stops growing when the processes cannot share their kiosk request counts (limits.Batched).
        self.rate_limit_shares = Counter(
            "gateway_rate_limit_shares",
            "Times this process shared its kiosk request counts with the other processes",
            registry=self.registry,
        )
        self.registry.register(_KioskCollector(engine))
        # Built once: constructing a statement costs more than running it (one per settled item).
        self._upserts = {replace: self._upsert(replace=replace) for replace in (False, True)}

    # -- heartbeats ---------------------------------------------------------------------------------------

    def heartbeat(self, device: Device, beat: Heartbeat) -> None:
        """The latest state replaces the last; the hour counts it carries go to the statistics (in the same
        commit)."""
        report = beat.model_dump(mode="json", exclude={"hours"})
        statement = self._insert(heartbeats).values(
            device_id=device.id, library=device.library, received_at=utcnow(), report=report
        )
        statement = statement.on_conflict_do_update(
            index_elements=["device_id"],
            set_={"received_at": statement.excluded.received_at, "report": statement.excluded.report},
        )
        with self.engine.begin() as db:
            db.execute(statement)
            for hour in beat.hours:
                self.kiosk_hour(device, hour, db)

    def last_heartbeat(self, device_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as db:
            row = db.execute(select(heartbeats).where(heartbeats.c.device_id == device_id)).first()
        return None if row is None else {"received_at": row.received_at, **row.report}

    # -- statistics ---------------------------------------------------------------------------------------

    def _insert(self, table: Any) -> Any:
        return (postgresql if self.engine.dialect.name == "postgresql" else sqlite).insert(table)

    def _upsert(self, *, replace: bool) -> Any:
        """Statistics cells: added to (the gateway's counts) or replaced (the kiosk's totals)."""
        statement = self._insert(statistics)
        excluded = statement.excluded.value
        return statement.on_conflict_do_update(
            index_elements=["device_id", "hour", "metric", "label"],
            set_={"value": excluded if replace else statistics.c.value + excluded},
        )

    def add(
        self,
        device: Device,
        hour: datetime,
        cells: list[tuple[str, str, float]],
        db: Connection | None = None,
        *,
        replace: bool = False,
    ) -> None:
        """Add `cells` to the hour's counts, or (`replace`: totals the kiosk reports) set them."""
        if not cells:
            return
        rows = [
            {
                "device_id": device.id,
                "library": device.library,
                "hour": hour_of(hour),
                "metric": metric,
                "label": label,
                "value": value,
            }
            for metric, label, value in cells
        ]
        statement = self._upserts[replace]
        if db is not None:
            db.execute(statement, rows)
            return
        with self.engine.begin() as own:
            own.execute(statement, rows)

    def count_outcome(
        self,
        db: Connection,
        device: Device,
        operation: str,
        outcome: CheckoutOutcome | CheckinOutcome | RenewOutcome,
        txn: Transaction,
    ) -> None:
        label = "offline" if txn.offline else ""
        if outcome.ok:
            cells = [(METRIC_FOR[operation], label, 1.0)]
        else:
            cells = [("refusals", str(outcome.reason or "other"), 1.0)]
        self.add(device, txn.at, cells, db)
        self.items.labels(operation, "ok" if outcome.ok else "refused").inc()

    def kiosk_hour(self, device: Device, report: HourStatistics, db: Connection | None = None) -> None:
        """What only the kiosk counts, as its totals for the hour: they replace what was there, so a
        report sent twice counts once. Its cells never overlap the gateway's own (loans, returns, ...)."""
        cells = [("language", code, float(n)) for code, n in report.languages.items() if n]
        if report.offline_minutes:
            cells.append(("offline_minutes", "", report.offline_minutes))
        cells += [
            ("offline", label, float(n))
            for label, n in (("loans", report.offline_loans), ("returns", report.offline_returns))
            if n
        ]
        # Beside the refusals the gateway counts as it carries actions out: its labels are the library
        # system's reasons, these all begin "offline_", so the two never share a cell.
        cells += [("refusals", reason, float(n)) for reason, n in report.offline_refusals.items() if n]
        self.add(device, report.hour, cells, db, replace=True)

    def hours(self, library: str, since: datetime) -> list[dict[str, Any]]:
        query = (
            select(
                statistics.c.device_id,
                statistics.c.hour,
                statistics.c.metric,
                statistics.c.label,
                statistics.c.value,
            )
            .where(statistics.c.library == library, statistics.c.hour >= since)
            .order_by(statistics.c.hour, statistics.c.device_id, statistics.c.metric, statistics.c.label)
        )
        with self.engine.connect() as db:
            return [dict(row._mapping) for row in db.execute(query)]

    def expire(self, days: int) -> int:
        with self.engine.begin() as db:
            cutoff = utcnow() - timedelta(days=days)
            return int(db.execute(delete(statistics).where(statistics.c.hour < cutoff)).rowcount)


class _KioskCollector(Collector):
    """Each kiosk's last heartbeat, read at scrape time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["library", "kiosk", "device"]
        families = {
            "online": GaugeMetricFamily("kiosk_online", "1 if the kiosk said it was online", labels=labels),
            "journal_depth": GaugeMetricFamily(
                "kiosk_journal_depth", "Unsettled journal entries", labels=labels
            ),
            "conflicts": GaugeMetricFamily(
                "kiosk_conflicts", "Offline conflicts waiting for staff", labels=labels
            ),
            "clock": GaugeMetricFamily(
                "kiosk_clock_synchronised", "1 if the clock is synchronised", labels=labels
            ),
            "rtt": GaugeMetricFamily(
                "kiosk_sip2_rtt_seconds", "Round trip the kiosk measured", labels=labels
            ),
            "age": GaugeMetricFamily(
                "kiosk_heartbeat_age_seconds", "Seconds since the last heartbeat", labels=labels
            ),
            "pending": GaugeMetricFamily(
                "kiosk_oldest_pending_age_seconds", "Age of the oldest unsettled journal entry", labels=labels
            ),
        }
        now = utcnow()
        query = select(heartbeats, devices.c.name).join(devices, devices.c.id == heartbeats.c.device_id)
        with self.engine.connect() as db:
            rows = db.execute(query.where(devices.c.revoked_at.is_(None))).all()
        for row in rows:
            report, key = row.report, [row.library, row.name, row.device_id]
            families["online"].add_metric(key, 1.0 if report.get("online") else 0.0)
            families["journal_depth"].add_metric(key, float(report.get("journal_depth") or 0))
            families["conflicts"].add_metric(key, float(report.get("conflicts") or 0))
            families["clock"].add_metric(key, 1.0 if report.get("clock_synchronised") else 0.0)
            families["age"].add_metric(key, (now - row.received_at).total_seconds())
            if report.get("sip2_rtt_ms") is not None:
                families["rtt"].add_metric(key, float(report["sip2_rtt_ms"]) / 1000)
            if report.get("oldest_pending_at"):
                oldest = as_utc(datetime.fromisoformat(report["oldest_pending_at"]))
                families["pending"].add_metric(key, max(0.0, (now - oldest).total_seconds()))
        yield from families.values()


__all__ = ["Telemetry", "hour_of"]
