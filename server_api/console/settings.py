"""The console's settings: `console.toml` beside the gateway's configuration file (optional; every key has
a default). Unknown keys are errors, every number has a range, like the gateway's own file.

    idle_minutes = 15          # signed out after this long without a request
    offline_after_seconds = 180  # no heartbeat this long: the kiosk counts as offline
    [alerts]
    smtp_host = "127.0.0.1"    # empty: no e-mail
    smtp_port = 25
    sender = "kiosks@example.org"
    offline_minutes = 10
    check_seconds = 60
    consortium = ["drift@example.org"]           # every library's alerts
    [alerts.libraries]
    2190000 = ["tromso@example.org"]
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from server_api.gateway.config import GatewayConfig, GatewayConfigError

FILE_NAME = "console.toml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AlertSettings(_Section):
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_timeout: float = Field(default=10, gt=0, le=120)
    sender: str = "kiosk-gateway@localhost"
    offline_minutes: float = Field(default=10, ge=1, le=7 * 24 * 60)
    check_seconds: float = Field(default=60, ge=0.2, le=3600)
    consortium: tuple[str, ...] = ()
    libraries: dict[str, tuple[str, ...]] = {}


class ConsoleSettings(_Section):
    idle_minutes: float = Field(default=15, ge=1, le=12 * 60)
    offline_after_seconds: float = Field(default=180, ge=5, le=24 * 3600)
    alerts: AlertSettings = AlertSettings()


def load_console_settings(config: GatewayConfig) -> ConsoleSettings:
    path = Path(config.base_dir) / FILE_NAME
    if not path.exists():
        return ConsoleSettings()
    try:
        return ConsoleSettings.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise GatewayConfigError(f"{path}: cannot be read: {exc}") from None
    except ValidationError as exc:
        lines = [f"{path}: {'.'.join(map(str, err['loc']))}: {err['msg']}" for err in exc.errors()]
        raise GatewayConfigError("\n".join(lines)) from None


__all__ = ["AlertSettings", "ConsoleSettings", "console_problems", "load_console_settings"]


def console_problems(config: GatewayConfig) -> list[str]:
    """What `kiosk-gateway check-config` and `serve` say about console.toml (empty: fine or absent)."""
    try:
        load_console_settings(config)
    except GatewayConfigError as exc:
        return str(exc).splitlines()
    return []
