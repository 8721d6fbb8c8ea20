"""Staff console: one open alert per kiosk and kind (a partial unique index), so several gateway processes
raising the same alert at once make one row and one mail

Revision ID: c002_console_alert_open
Revises: c001_console
Create Date: 2026-12-01 15:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c002_console_alert_open"
down_revision = "c001_console"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "uq_console_alert_open",
        "console_alerts",
        ["device_id", "kind"],
        unique=True,
        sqlite_where=sa.text("cleared_at IS NULL"),
        postgresql_where=sa.text("cleared_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_console_alert_open", table_name="console_alerts")
