"""The kiosk's settings from the staff console (issue 13), in gateway mode: what they are, whether the
station may run them, and what taking them changes.

- **Checked as `kiosk config check` checks.** The console's settings ("session.idle_timeout": 90) are laid
  over the station's own configuration and checked with the same functions (`check_value` for each key,
  `check_together` and `run_problems` for the whole): a version the station's file would refuse is
  refused here too, with the same words, and the station keeps what it runs.
- **Live or at a restart.** What the patron session decides (`LIVE_KEYS`: its timeouts, PIN rules, the
  offline rules, the starting language) is taken between two patron sessions without a restart. The rest
  is read when the station is built (the staff slips' language and the library's name on receipts, the
  security writes' attempts and failure policy, the network's failure budget and probe, the journal's
  purge), so it waits for a clean restart through the service manager.
- **Persisted.** The version the station runs is kept beside the journal (`central-config.json`, 0600:
  it holds the staff credentials' hashes); `kiosk.cli.build_station` lays it over the file at start, so a
  restart runs what the console said, and the heartbeat names it.
- **Staff credentials.** The console's staff-screen credentials (argon2id hashes only) replace the one
  set on the kiosk with `kiosk staff set-credential` while there are any; they are passphrases.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.config import ConfigError, StationConfig, run_problems
from kiosk.config.checks import check_together, check_value
from kiosk.core import SessionPolicy
from kiosk.credentials import hash_problem
from kiosk.files import write_atomically

log = logging.getLogger(__name__)

CENTRAL_FILE = "central-config.json"
# What the patron session reads on every decision: taken between two sessions, without a restart.
LIVE_KEYS = frozenset(
    f"{section}.{key}"  # "session.idle_timeout" ... (built, so the catalogue's key finder passes them by)
    for section, keys in {
        "session": (
            "idle_timeout",
            "goodbye_time",
            "max_pin_attempts",
            "pin_cooldown",
            "pin_cooldown_max",
            "pin_required",
            "print_staff_slips",
        ),
        "station": ("language",),
        "offline": (
            "borrowing",
            "max_items_per_session",
            "max_items_per_patron",
            "loan_days",
            "known_for_days",
        ),
    }.items()
    for key in keys
)


@dataclass(frozen=True)
class CentralConfig:
    """A version of the console's settings for this kiosk: its name, "section.key" -> value, and the
    staff-screen credentials (argon2id hashes)."""

    version: str
    settings: dict[str, Any]
    staff_credentials: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "settings": self.settings,
            "staff_credentials": [*self.staff_credentials],
        }


def central_path(journal_path: str | Path) -> Path:
    """Where the running version is kept: beside the journal (the one directory the kiosk writes)."""
    return Path(journal_path).with_name(CENTRAL_FILE)


def load_central(path: Path) -> CentralConfig | None:
    """The version kept at `path`; None when there is none or it cannot be read (logged: the station then
    runs its own file and the console's next answer brings the version back)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return CentralConfig(
            str(data["version"]), dict(data["settings"]), tuple(map(str, data["staff_credentials"]))
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        log.warning("%s cannot be read (%s): running the station's own configuration", path, error)
        return None


def store_central(path: Path, central: CentralConfig) -> None:
    """Write atomically, owner-only (the credentials' hashes are in it)."""
    write_atomically(path, json.dumps(central.as_json()))


def with_central(config: StationConfig, central: CentralConfig) -> StationConfig:
    """The station's configuration with `central` laid over it, checked as `kiosk config check` checks a
    file; raises `ConfigError` naming the version, the key and what is wrong."""
    where = f"{config.source} + console settings {central.version}"
    sections: dict[str, dict[str, Any]] = {}
    for name, value in central.settings.items():
        section, _, key = name.partition(".")
        sections.setdefault(section, {})[key] = value
    changed: dict[str, Any] = {}
    for section, values in sections.items():
        current = getattr(config, section, None)
        if section in ("source", "libraries") or not dataclasses.is_dataclass(current):
            raise ConfigError(f"{where}: unknown section [{section}]")
        hints = typing.get_type_hints(type(current))
        for key in values:
            if key not in hints:
                raise ConfigError(f"{where}: [{section}] {key}: not a key of this station")
        checked = {k: check_value(where, section, k, hints[k], v) for k, v in values.items()}
        changed[section] = dataclasses.replace(current, **checked)  # type: ignore[type-var]
    for hashed in central.staff_credentials:
        weak = hash_problem(hashed)
        if weak:
            raise ConfigError(f"{where}: a staff-screen credential is {weak.split(':')[0]}")
    merged = dataclasses.replace(config, **changed, source=where)
    check_together(merged)
    # What `kiosk run` would refuse that the station's own file did not (a demo's or a test's station is
    # built from no file at all: its own problems are not the console's).
    added = [p for p in run_problems(merged) if p.replace(where, config.source) not in run_problems(config)]
    if added:
        raise ConfigError("\n".join(added))
    return dataclasses.replace(merged, source=config.source)


def central_at_start(
    config: StationConfig, journal_path: str | Path
) -> tuple[StationConfig, CentralConfig | None]:
    """The configuration to build the station from: its file with the kept central version laid over it,
    when there is one and it still fits the file (else the file alone, logged; the console's next answer
    is checked again)."""
    central = load_central(central_path(journal_path))
    if central is None:
        return config, None
    try:
        return with_central(config, central), central
    except ConfigError as error:
        log.warning("the kept console settings %s no longer fit this station: %s", central.version, error)
        return config, None


def needs_restart(before: CentralConfig | None, after: CentralConfig) -> list[str]:
    """The keys whose change the station takes only when it is built again, sorted."""
    old = before.settings if before is not None else {}
    keys = set(old) | set(after.settings)
    return sorted(k for k in keys if old.get(k) != after.settings.get(k) and k not in LIVE_KEYS)


def live_policy(current: SessionPolicy, before: StationConfig, after: StationConfig) -> SessionPolicy:
    """`current` with what the configuration change alters in the session's policy (a policy the demo or
    a test compressed keeps everything else)."""
    old, new = before.policy(), after.policy()
    changes = {
        field.name: getattr(new, field.name)
        for field in dataclasses.fields(SessionPolicy)
        if field.name != "languages" and getattr(new, field.name) != getattr(old, field.name)
    }
    languages = current.languages | {new.language}  # a new starting language is offered, as at start
    return dataclasses.replace(current, **changes, languages=languages)


__all__ = [
    "CENTRAL_FILE",
    "LIVE_KEYS",
    "CentralConfig",
    "central_at_start",
    "central_path",
    "live_policy",
    "load_central",
    "needs_restart",
    "store_central",
    "with_central",
]
