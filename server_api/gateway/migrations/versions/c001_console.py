"""Staff console: extra staff libraries, sessions, login failures, config versions and reports, kiosk staff
credentials, technician commands, staff tasks, alerts (server_api/console/tables.py)

Revision ID: c001_console
Revises: 0001
Create Date: 2026-12-01 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c001_console"
down_revision = "0001"
branch_labels = None
depends_on = None


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True)


def upgrade() -> None:
    op.create_table(
        "console_staff_libraries",
        sa.Column("username", sa.String(100), primary_key=True),
        sa.Column("library", sa.String(32), primary_key=True),
    )
    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(100), nullable=False, index=True),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "console_login_failures",
        sa.Column("username", sa.String(100), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "console_config_versions",
        _id(),
        sa.Column("library", sa.String(32), nullable=False, index=True),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.String(200), nullable=False),
        sa.UniqueConstraint("library", "device_id", "version", name="uq_console_config_version"),
    )
    op.create_table(
        "console_config_reports",
        sa.Column("device_id", sa.String(36), primary_key=True),
        sa.Column("library", sa.String(32), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("reported_at", sa.DateTime(), nullable=False),
        sa.Column("error", sa.String(500), nullable=False),
    )
    op.create_table(
        "console_kiosk_credentials",
        sa.Column("library", sa.String(32), primary_key=True),
        sa.Column("device_id", sa.String(36), primary_key=True),
        sa.Column("username", sa.String(100), primary_key=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("set_by", sa.String(100), nullable=False),
        sa.Column("set_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "console_commands",
        _id(),
        sa.Column("device_id", sa.String(36), nullable=False, index=True),
        sa.Column("library", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("message", sa.String(500), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("picked_at", sa.DateTime(), nullable=True),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.Column("ok", sa.Integer(), nullable=True),
        sa.Column("output", sa.Text(), nullable=False),
    )
    op.create_table(
        "console_tasks",
        _id(),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("library", sa.String(32), nullable=False, index=True),
        sa.Column("kiosk_key", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("item_id", sa.String(100), nullable=False),
        sa.Column("summary", sa.String(200), nullable=False),
        sa.Column("ils_message", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("handled_at", sa.DateTime(), nullable=True),
        sa.Column("handled_by", sa.String(100), nullable=True),
        sa.Column("handled_note", sa.String(200), nullable=False),
        sa.UniqueConstraint("device_id", "kiosk_key", name="uq_console_task_key"),
    )
    op.create_table(
        "console_alerts",
        _id(),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("library", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("raised_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("cleared_at", sa.DateTime(), nullable=True),
    )


def downgrade() -> None:
    for table in (
        "console_alerts",
        "console_tasks",
        "console_commands",
        "console_kiosk_credentials",
        "console_config_reports",
        "console_config_versions",
        "console_login_failures",
        "console_sessions",
        "console_staff_libraries",
    ):
        op.drop_table(table)
