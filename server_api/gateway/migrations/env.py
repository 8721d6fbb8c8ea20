"""Alembic environment: the connection comes from `server_api.gateway.storage.migrate`."""

from __future__ import annotations

from alembic import context

from server_api.gateway.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `kiosk-gateway migrate` (server_api.gateway.storage.migrate)")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
