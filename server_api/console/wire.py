"""What travels between kiosk and console (`/v1/console/...`), as Pydantic models: the gateway validates
with them and `server_api.console.kiosk_client` reads the answers with them. Pydantic only (no FastAPI,
no SQLAlchemy): the kiosk imports it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_LOG = 200_000  # characters of fetched log a kiosk may send back
Text = Annotated[str, Field(max_length=500)]
TaskKind = Literal["conflict", "security_write", "lost_slip", "routing"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Credential(BaseModel):
    username: str
    password_hash: str  # argon2; replaces a local staff-screen login with the same user name


class KioskConfig(BaseModel):
    version: str  # "L<library version>.K<kiosk version>"
    settings: dict[str, bool | int | float | str]  # "section.key" -> value (server_api.console.managed)
    staff_credentials: list[Credential]


class ConfigReport(_In):
    version: Annotated[str, Field(min_length=1, max_length=64)]
    error: Text = ""  # empty: applied; else why the kiosk could not


class Command(BaseModel):
    id: int
    kind: str  # restart | out_of_order | in_service | fetch_logs
    message: str  # out_of_order: what patrons see
    created_at: datetime


class CommandResult(_In):
    ok: bool
    output: Annotated[str, Field(max_length=MAX_LOG)] = ""  # fetch_logs: the log, without patron data


class TaskIn(_In):
    key: Annotated[str, Field(min_length=1, max_length=64)]  # the kiosk's own id: posting again updates
    kind: TaskKind
    item_id: Annotated[str, Field(max_length=100)] = ""
    summary: Annotated[str, Field(max_length=200)] = ""
    ils_message: Text = ""  # the library system's own words (never a patron's name)
    at: datetime | None = None


class TaskOut(BaseModel):
    key: str
    kind: str
    item_id: str
    summary: str
    ils_message: str
    created_at: datetime
    handled_at: datetime | None
    handled_by: str | None
    handled_note: str


__all__ = [
    "MAX_LOG",
    "Command",
    "CommandResult",
    "ConfigReport",
    "Credential",
    "KioskConfig",
    "TaskIn",
    "TaskOut",
]
