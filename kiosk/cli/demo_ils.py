"""`kiosk demo-ils`: the demo library system alone, serving SIP2 over TCP (for trying a real kiosk
or `kiosk sip2 probe` against it)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path

from kiosk.cli.common import Commands


def cmd_demo_ils(args: argparse.Namespace) -> int:
    from server_api.demo_ils import data as demo_data
    from server_api.demo_ils.server import DemoIls

    async def serve() -> None:
        db = Path(args.db) if args.db else None
        async with DemoIls(db_path=db, host=args.host, port=args.port) as ils:
            user, password = demo_data.KIOSK_LOGIN
            print(f"Demo library system (SIP2) listening on {args.host}:{ils.port}", flush=True)
            print(
                f"SIP2 login: user {user!r}, password {password!r}, location {demo_data.KIOSK_LOCATION!r}",
                flush=True,
            )
            print(f"Demo patron: {demo_data.DEMO_PATRON_ID} (PIN {demo_data.DEMO_PATRON_PIN})", flush=True)
            await asyncio.Event().wait()  # until Ctrl-C

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return 0


def register(commands: Commands) -> None:
    ils = commands.add_parser("demo-ils", help="run the demo library system (SIP2 over TCP) alone")
    ils.add_argument("--host", default="127.0.0.1")
    ils.add_argument("--port", type=int, default=6001)
    ils.add_argument("--db", help="SQLite file (created with demo data if missing); default: in memory")
    ils.set_defaults(func=cmd_demo_ils)


__all__ = ["cmd_demo_ils", "register"]
