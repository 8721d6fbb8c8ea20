"""The kiosk's side of the console, over httpx with the device token (`server_api.client.GatewaySettings`):
what the station calls to follow its central settings, run technicians' commands and post staff tasks.

The station's part (kiosk/): after each heartbeat, `ConfigFollower.fetch()` and `commands()`; when a
patron session has ended (never during one) `take(between_sessions=True)` hands over a new version, the
station applies it and calls `applied(...)` (or with the error that stopped it). Tasks are posted as they
arise and re-posted until the gateway has them (same key: no double).
"""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from server_api.client import GatewaySettings

from .wire import Command, CommandResult, ConfigReport, KioskConfig, TaskIn, TaskOut

M = TypeVar("M")


class ConsoleUnavailable(Exception):
    """The gateway could not be asked, or its answer was not understood: try again with the next heartbeat."""


class ConsoleClient:
    def __init__(
        self, settings: GatewaySettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        self._client = httpx.AsyncClient(
            base_url=settings.url.rstrip("/"),
            timeout=httpx.Timeout(settings.timeout, connect=settings.connect_timeout),
            verify=settings.ssl_context() if settings.url.startswith("https") else True,
            headers={"User-Agent": "library-kiosk"},
            transport=transport,
        )

    async def _call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.settings.bearer()}"}
        try:
            answer = await self._client.request(method, path, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ConsoleUnavailable(f"the gateway cannot be reached: {type(exc).__name__}") from None
        if answer.status_code >= 400:
            raise ConsoleUnavailable(
                f"the gateway refused {path} ({answer.status_code}): {answer.text[:200]}"
            )
        return answer

    async def _get(self, path: str, shape: type[M]) -> M:
        answer = await self._call("GET", path)
        try:
            return TypeAdapter(shape).validate_json(answer.content)
        except ValidationError as exc:
            raise ConsoleUnavailable(f"the gateway's answer to {path} was not understood: {exc}") from None

    async def config(self) -> KioskConfig:
        return await self._get("/v1/console/config", KioskConfig)

    async def report(self, version: str, error: str = "") -> None:
        await self._call(
            "POST", "/v1/console/config/report", _dump(ConfigReport(version=version, error=error[:500]))
        )

    async def commands(self) -> list[Command]:
        return await self._get("/v1/console/commands", list[Command])

    async def finish(self, command: Command, ok: bool, output: str = "") -> None:
        await self._call(
            "POST", f"/v1/console/commands/{command.id}", _dump(CommandResult(ok=ok, output=output))
        )

    async def post_tasks(self, tasks: list[TaskIn]) -> None:
        await self._call("POST", "/v1/console/tasks", [_dump(t) for t in tasks])

    async def tasks(self) -> list[TaskOut]:
        return await self._get("/v1/console/tasks", list[TaskOut])

    async def close(self) -> None:
        await self._client.aclose()


def _dump(model: BaseModel) -> Any:
    return model.model_dump(mode="json")


class ConfigFollower:
    """Which central settings version the kiosk runs, and the next one, held until a session has ended."""

    def __init__(self, client: ConsoleClient, running: str = "") -> None:
        self.client = client
        self.running = running
        self.refused = ""  # the last version the kiosk could not apply: not offered again
        self.waiting: KioskConfig | None = None

    async def fetch(self) -> bool:
        """Ask for the settings; True when a version other than the running (or refused) one is waiting."""
        found = await self.client.config()
        self.waiting = found if found.version not in (self.running, self.refused) else None
        return self.waiting is not None

    def take(self, *, between_sessions: bool) -> KioskConfig | None:
        """The waiting version, only between patron sessions."""
        if not between_sessions or self.waiting is None:
            return None
        taken, self.waiting = self.waiting, None
        return taken

    async def applied(self, config: KioskConfig, error: str = "") -> None:
        """Tell the gateway the version now running, or why it could not be applied."""
        if error:
            self.refused = config.version
        else:
            self.running, self.refused = config.version, ""
        await self.client.report(config.version, error)


__all__ = ["ConfigFollower", "ConsoleClient", "ConsoleUnavailable"]
