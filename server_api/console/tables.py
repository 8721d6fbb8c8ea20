"""The console's own tables (migration `c001_console`), beside the gateway's. Every row that belongs to a
library carries its `library`, so each query can be filtered by the libraries the person may see.

No patron data: tasks name items and the library system's words, never a patron; statistics stay the
gateway's counts."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

# Extra libraries of a staff member or technician (staff_users.library stays the first one).
staff_libraries = Table(
    "console_staff_libraries",
    metadata,
    Column("username", String(100), primary_key=True),
    Column("library", String(32), primary_key=True),
)

sessions = Table(
    "console_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),  # SHA-256 of the cookie's value
    Column("username", String(100), nullable=False, index=True),
    Column("csrf", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("seen_at", DateTime, nullable=False),
)

login_failures = Table(
    "console_login_failures",
    metadata,
    Column("username", String(100), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("first_at", DateTime, nullable=False),
    Column("locked_until", DateTime),
)

# One row per saved version; device_id "" is the library's own settings, else a kiosk's overrides.
config_versions = Table(
    "console_config_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("library", String(32), nullable=False, index=True),
    Column("device_id", String(36), nullable=False, default=""),
    Column("version", Integer, nullable=False),
    Column("settings", JSON, nullable=False),
    Column("author", String(100), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("note", String(200), nullable=False, default=""),
    UniqueConstraint("library", "device_id", "version", name="uq_console_config_version"),
)

config_reports = Table(
    "console_config_reports",
    metadata,
    Column("device_id", String(36), primary_key=True),
    Column("library", String(32), nullable=False),
    Column("version", String(64), nullable=False),
    Column("reported_at", DateTime, nullable=False),
    Column("error", String(500), nullable=False, default=""),
)

# Staff-screen logins for a kiosk: device_id "" for every kiosk of the library. Hashes only.
kiosk_credentials = Table(
    "console_kiosk_credentials",
    metadata,
    Column("library", String(32), primary_key=True),
    Column("device_id", String(36), primary_key=True, default=""),
    Column("username", String(100), primary_key=True),
    Column("password_hash", String(200), nullable=False),
    Column("set_by", String(100), nullable=False),
    Column("set_at", DateTime, nullable=False),
)

commands = Table(
    "console_commands",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("device_id", String(36), nullable=False, index=True),
    Column("library", String(32), nullable=False),
    Column("kind", String(20), nullable=False),  # restart | out_of_order | in_service | fetch_logs
    Column("message", String(500), nullable=False, default=""),
    Column("created_by", String(100), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("picked_at", DateTime),
    Column("done_at", DateTime),
    Column("ok", Integer),
    Column("output", Text, nullable=False, default=""),  # fetched logs (the kiosk strips patron data)
)

tasks = Table(
    "console_tasks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("device_id", String(36), nullable=False),
    Column("library", String(32), nullable=False, index=True),
    Column("kiosk_key", String(64), nullable=False),  # the kiosk's own id for it: posting again updates
    Column("kind", String(20), nullable=False),  # conflict | security_write | lost_slip | routing
    Column("item_id", String(100), nullable=False, default=""),
    Column("summary", String(200), nullable=False, default=""),
    Column("ils_message", String(500), nullable=False, default=""),  # the library system's own words
    Column("created_at", DateTime, nullable=False),
    Column("handled_at", DateTime),
    Column("handled_by", String(100)),
    Column("handled_note", String(200), nullable=False, default=""),
    UniqueConstraint("device_id", "kiosk_key", name="uq_console_task_key"),
)

alerts = Table(
    "console_alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("device_id", String(36), nullable=False),
    Column("library", String(32), nullable=False),
    Column("kind", String(20), nullable=False),  # offline | paper_out | reader_gone | security_writes
    Column("raised_at", DateTime, nullable=False),
    Column("sent_at", DateTime),
    Column("cleared_at", DateTime),
    # one open alert per kiosk and kind, also with several gateway processes (migration c002)
    Index(
        "uq_console_alert_open",
        "device_id",
        "kind",
        unique=True,
        sqlite_where=text("cleared_at IS NULL"),
        postgresql_where=text("cleared_at IS NULL"),
    ),
)

__all__ = [
    "alerts",
    "commands",
    "config_reports",
    "config_versions",
    "kiosk_credentials",
    "login_failures",
    "metadata",
    "sessions",
    "staff_libraries",
    "tasks",
]
