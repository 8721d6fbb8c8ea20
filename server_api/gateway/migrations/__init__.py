"""Alembic migrations of the gateway's database, shipped in the package (`kiosk-gateway migrate`)."""
