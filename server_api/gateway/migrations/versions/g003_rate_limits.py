"""Rate limits shared by every gateway process: counts per minute (kiosk requests) and single attempts
(card look-ups, enrollments, staff sign-ins), server_api/gateway/limits.py

Revision ID: g003_rate_limits
Revises: c002_console_alert_open
Create Date: 2026-12-01 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "g003_rate_limits"
down_revision = "c002_console_alert_open"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_counts",
        sa.Column("scope", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("window", sa.Integer(), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    op.create_table(
        "rate_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
    )
    op.create_index("ix_rate_events_key", "rate_events", ["scope", "key", "at"])


def downgrade() -> None:
    op.drop_index("ix_rate_events_key", table_name="rate_events")
    op.drop_table("rate_events")
    op.drop_table("rate_counts")
