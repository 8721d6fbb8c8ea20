"""The crash harness through the consortium's gateway: station -> kiosk-gateway (its own process, SQLite)
-> FaultyLink -> demo ILS. The gateway is killed as well as the station (SIGKILL, at a random moment of a
life) and started again at once, as systemd would: what it had in flight is reconciled through SIP2 at its
start, and the station asks it what happened to each UUID. The verdict is the same: 0 lost, 0 dup."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from tests.gateway.servers import GatewayProcess, enroll, make_gateway_config

KIOSK_LIBRARY = "2190000"  # the demo kiosk's branch (kiosk.demo: "tromso")
# A gateway starting after a kill first reconciles what it left in flight through SIP2, before it serves;
# on two busy cores with four epochs at once that has taken more than 20 s.
START_TIMEOUT = 90.0


class GatewaySide:
    """One gateway for one epoch, in front of the epoch's library system (through its link)."""

    def __init__(self, folder: Path, ils_port: int) -> None:
        self.config = make_gateway_config(
            folder, ils_port, "sqlite:///gateway.sqlite", extra_gateway="instance_beat = 0.5"
        )
        self.process = GatewayProcess(self.config)
        self.token = ""
        self.kills = 0

    async def start(self) -> GatewaySide:
        await asyncio.to_thread(self.process.start, START_TIMEOUT)
        if not self.token:
            self.token = await asyncio.to_thread(
                enroll, self.process.url, self.config, KIOSK_LIBRARY, "Crash kiosk"
            )
        return self

    def worker_args(self) -> list[str]:
        return ["--gateway-url", self.process.url, "--gateway-token", self.token]

    async def kill_during(self, rng: random.Random, life: asyncio.Task[tuple[int, str]]) -> None:
        """Now and then SIGKILL the gateway during the station's life, then start it again."""
        if rng.random() >= 0.5:
            return
        done, _ = await asyncio.wait({life}, timeout=rng.uniform(0.2, 2.0))
        if done:
            return
        self.process.kill()
        self.kills += 1
        await self.start()

    async def stop(self) -> None:
        await asyncio.to_thread(self.process.stop)
