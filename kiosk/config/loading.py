"""Reading the station's file: TOML in UTF-8, every key known, every value checked (`kiosk.config.checks`),
and `check_for_run`: everything `kiosk run` would refuse, so that `kiosk config check` can say it first."""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from drivers.tags import normalise_library_id
from kiosk.config.checks import check_together, check_value
from kiosk.config.errors import ConfigError, problem
from kiosk.config.paths import directory_problem, journal_problem, read_secret
from kiosk.config.sections import StationConfig

_COUNTRY = "NO"  # library numbers without a prefix are Norwegian (Base Bibliotek)
_SECTIONS = {f.name: f for f in dataclasses.fields(StationConfig) if f.name not in ("source", "libraries")}


def _unknown(where: str, what: str, name: str, known: list[str]) -> ConfigError:
    near = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else f" (known: {', '.join(known)})"
    return ConfigError(f"{where}: unknown {what} {name!r}{hint}")


def _section(source: str, name: str, values: Any) -> Any:
    if name not in _SECTIONS:
        raise _unknown(source, "section", f"[{name}]", [f"[{s}]" for s in [*_SECTIONS, "libraries"]])
    if not isinstance(values, dict):
        raise ConfigError(f"{source}: {name} must be a [section] table")
    section_type = typing.get_type_hints(StationConfig)[name]
    hints = typing.get_type_hints(section_type)
    checked: dict[str, Any] = {}
    for key, value in values.items():
        if key not in hints:
            raise _unknown(source, f"key in [{name}]:", key, list(hints))
        expected = hints[key]
        if isinstance(expected, types.UnionType):
            expected = typing.get_args(expected)[0]
        if typing.get_origin(expected) is tuple:
            expected = list  # a TOML array; the section keeps it as a tuple
        checked[key] = check_value(source, name, key, expected, value)
    return section_type(**checked)


def from_mapping(data: dict[str, Any], source: str = "<mapping>") -> StationConfig:
    built: dict[str, Any] = {}
    for name, values in data.items():
        if name == "libraries" and isinstance(values, dict):
            built["libraries"] = _library_names(source, values)
        else:
            built[name] = _section(source, name, values)
    config = StationConfig(**built, source=source)
    check_together(config)
    return config


def _library_names(source: str, values: dict[str, Any]) -> dict[str, str]:
    for code, name in values.items():
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(
                f"{source}: [libraries] {code} must be the library's name in quotes, e.g."
                f' {code} = "Harstad bibliotek"; got {name!r}'
            )
    seen: dict[str, str] = {}
    for code in values:
        # 1902000, 01902000 and NO-1902000 are one library: two names for it would be a coin toss
        same = normalise_library_id(str(code), _COUNTRY).casefold()
        if same in seen:
            raise ConfigError(
                f"{source}: [libraries] {seen[same]} and {code} are the same library: keep one of them"
            )
        seen[same] = str(code)
    return {str(code): name.strip() for code, name in values.items()}


def load(path: Path) -> StationConfig:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the configuration: {error.strerror}") from error
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{raw[error.start]:02x} at position {error.start}): "
            "save the file as UTF-8 (in most editors: Save as, encoding UTF-8)"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from error
    return from_mapping(data, str(path))


def run_problems(config: StationConfig) -> list[str]:
    """Everything `kiosk run` would refuse in `config` on this machine, one line each (none: it runs)."""
    where = config.source
    found: list[str] = []
    journal = journal_problem(Path(config.journal.path))
    if journal:
        found.append(problem(where, "journal", "path", journal))
    if "file" in (config.printer.connection, config.printer.kind):
        receipts = directory_problem(Path(config.printer.directory), private=True)
        if receipts:
            found.append(problem(where, "printer", "directory", receipts))
    try:
        if config.gateway.enabled:
            config.gateway_settings()  # the token file (0600, not empty), the TLS files and their keys
        else:
            config.sip2_settings()  # the password file, the TLS files and their keys, as the station does
            if config.sip2.client_key:
                read_secret(where, "sip2", "client_key", config.sip2.client_key)
    except ConfigError as error:
        found.append(str(error))
    return found


def check_for_run(config: StationConfig) -> None:
    """Raise `ConfigError` with every problem `run_problems` finds, one per line."""
    found = run_problems(config)
    if found:
        raise ConfigError("\n".join(found))


__all__ = ["check_for_run", "from_mapping", "load", "run_problems"]
