"""The consortium's central circulation service: kiosks talk HTTPS + JSON to it, it talks SIP2 (one pool
per library's account) to the library system. See docs/GATEWAY.md.

Modules: `config` (TOML), `schema`/`storage` (SQLAlchemy + Alembic), `wire` (the JSON models, also used by
`server_api.client`), `devices` (enrollment, tokens), `ledger` (idempotency keys), `circulate` (stacks
over SIP2, reconciliation), `offline` (offline data, PIN cool-down), `telemetry` (heartbeats,
statistics, /metrics), `app` (the FastAPI application), `cli` (`kiosk-gateway`).

Importing this package imports nothing heavy; the kiosk uses `server_api.gateway.wire` only.
"""
