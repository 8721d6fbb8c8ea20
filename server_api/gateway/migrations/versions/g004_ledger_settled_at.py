"""An index on ledger.settled_at: the retention (Ledger.expire, hourly) and the hold scrub (Ledger.scrub)
select settled rows by it, which without the index is a scan of the whole ledger (1.4 million rows at 50
kiosks and 90 days).

Revision ID: g004_ledger_settled_at
Revises: g003_rate_limits
Create Date: 2026-12-01 20:15:00
"""

from __future__ import annotations

from alembic import op

revision = "g004_ledger_settled_at"
down_revision = "g003_rate_limits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_ledger_settled_at", "ledger", ["settled_at"])


def downgrade() -> None:
    op.drop_index("ix_ledger_settled_at", table_name="ledger")
