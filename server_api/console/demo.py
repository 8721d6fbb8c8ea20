"""Staff accounts for the demo (`make demo`): an administrator, staff of Tromsø and a technician, with a
password printed at start. Never for a real gateway: the password is in the source."""

from __future__ import annotations

from sqlalchemy import Engine, select

from server_api.gateway.schema import staff_users

from .accounts import add_account

DEMO_PASSWORD = "demo-console-2026"
DEMO_STAFF: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("demo-admin", "admin", ()),
    ("demo-tromso", "staff", ("2190000",)),
    ("demo-tekniker", "technician", ()),
)


def ensure_demo_staff(engine: Engine) -> list[str]:
    """Make the demo accounts that are missing; returns one line per account to print."""
    with engine.connect() as db:
        existing = set(db.execute(select(staff_users.c.username)).scalars())
    for username, role, libraries in DEMO_STAFF:
        if username not in existing:
            add_account(engine, username, DEMO_PASSWORD, role=role, libraries=list(libraries), actor="demo")
    return [f"staff console login: {name} / {DEMO_PASSWORD} ({role})" for name, role, _ in DEMO_STAFF]


__all__ = ["DEMO_PASSWORD", "DEMO_STAFF", "ensure_demo_staff"]
