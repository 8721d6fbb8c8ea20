"""The gateway's tables (SQLAlchemy Core). Alembic migrations in `migrations/` create them; this module is
what the code queries. Every row a kiosk can reach carries its `library`: tenancy lives in the queries.

No table holds a patron's name or PIN. Card numbers appear in clear only in `ledger.patron_id`, and only
while a transaction's fate is unknown (reconciliation needs them); once settled the column is blanked.
Everything else about cards is an HMAC under the consortium's key.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

devices = Table(
    "devices",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("library", String(32), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("token_hash", String(200), nullable=False),  # argon2 of the token's secret part
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime),
    Column("last_seen_at", DateTime),
)

enrollment_codes = Table(
    "enrollment_codes",
    metadata,
    Column("id", String(16), primary_key=True),  # the code's public part, for the lookup
    Column("library", String(32), nullable=False),
    Column("kiosk_name", String(200), nullable=False),
    Column("code_hash", String(200), nullable=False),  # argon2 of the secret part
    Column("created_by", String(100), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("used_at", DateTime),
    Column("device_id", String(36)),
)

staff_users = Table(
    "staff_users",
    metadata,
    Column("username", String(100), primary_key=True),
    Column("library", String(32)),  # None: consortium-wide administrator
    Column("role", String(20), nullable=False),  # "admin" | "staff"
    Column("password_hash", String(200), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
)

# One row per idempotency key (the kiosk journal's transaction UUID). The primary key makes the claim
# atomic across gateway processes: whoever inserts it owns the send.
ledger = Table(
    "ledger",
    metadata,
    Column("key", String(36), primary_key=True),
    Column("library", String(32), nullable=False),
    Column("device_id", String(36), nullable=False),
    Column("operation", String(16), nullable=False),  # checkout | checkin | renew
    Column("item_id", String(100), nullable=False),
    Column("patron_id", String(100), nullable=False, default=""),  # blanked once settled
    Column("request", JSON, nullable=False),  # the Transaction record (when, offline, due date)
    Column("state", String(16), nullable=False),  # in_flight | done | not_applied | unknown
    Column("outcome", JSON),
    Column("error", Text, nullable=False, default=""),
    Column("owner", String(64), nullable=False),  # the gateway process that holds it in flight
    Column("claimed_at", DateTime, nullable=False),
    Column("settled_at", DateTime),
    Column("attempts", Integer, nullable=False, default=1),
    Column("reconciled", Boolean, nullable=False, default=False),
    Index("ix_ledger_state", "state"),
    Index("ix_ledger_settled_at", "settled_at"),  # the retention's and the scrub's cutoff (g004)
)

instances = Table(
    "instances",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("seen_at", DateTime, nullable=False),
    Column("stopped", Boolean, nullable=False, default=False),
)

heartbeats = Table(
    "heartbeats",
    metadata,
    Column("device_id", String(36), primary_key=True),
    Column("library", String(32), nullable=False),
    Column("received_at", DateTime, nullable=False),
    Column("report", JSON, nullable=False),
)

statistics = Table(
    "statistics",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("device_id", String(36), nullable=False),
    Column("library", String(32), nullable=False),
    Column("hour", DateTime, nullable=False),
    Column("metric", String(32), nullable=False),  # loans | returns | renewals | refusals | language | ...
    Column("label", String(64), nullable=False, default=""),  # refusal reason, language code, ...
    Column("value", Float, nullable=False, default=0),
    UniqueConstraint("device_id", "hour", "metric", "label", name="uq_statistics_cell"),
)

cards = Table(
    "cards",
    metadata,
    Column("library", String(32), primary_key=True),
    Column("card_hmac", String(64), primary_key=True),  # HMAC under the library's derived key
    Column("blocked", Boolean, nullable=False),
    Column("seen_at", DateTime, nullable=False),
)

pin_failures = Table(
    "pin_failures",
    metadata,
    Column("card_hmac", String(64), primary_key=True),  # consortium-wide: one card, every kiosk
    Column("failures", Integer, nullable=False),
    Column("first_at", DateTime, nullable=False),
    Column("locked_until", DateTime),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("library", String(32)),
    Column("action", String(50), nullable=False),
    Column("target", String(200), nullable=False, default=""),
    Column("details", JSON, nullable=False),
)

__all__ = [
    "audit_log",
    "cards",
    "devices",
    "enrollment_codes",
    "heartbeats",
    "instances",
    "ledger",
    "metadata",
    "pin_failures",
    "staff_users",
    "statistics",
]
