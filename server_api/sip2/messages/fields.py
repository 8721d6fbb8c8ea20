"""How a SIP2 message is declared: the wire layout lives in each dataclass field's metadata (see the
package docstring), and `register` files each class under its command code."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

# ---------------------------------------------------------------------------------------------------
# Field declaration helpers


def fixed_flag(default: bool = False) -> Any:
    return field(default=default, metadata={"fixed": ("flag", 1)})


def fixed_ok(default: bool = False) -> Any:
    return field(default=default, metadata={"fixed": ("ok", 1)})


def fixed_text(width: int, default: str) -> Any:
    assert len(default) == width
    return field(default=default, metadata={"fixed": ("text", width)})


def fixed_int(width: int, default: int = 0) -> Any:
    return field(default=default, metadata={"fixed": ("int", width)})


def fixed_date() -> Any:
    return field(default=None, metadata={"fixed": ("date", 18)})


# Codes whose values are secrets: never written to a log.
SECRET_CODES = frozenset({"AD", "AC", "CO"})
# Codes whose values say who a patron is or how to reach them (card number, name, home address, e-mail,
# phone, birth date, the hold patron's card and name): kept out of logs too, so a transcript or a staff log
# line about a garbled reply holds no patron data (docs/PRIVACY.md).
PERSONAL_CODES = frozenset({"AA", "AE", "BD", "BE", "BF", "PB", "CY", "DA"})


def var(code: str, kind: str = "opt") -> Any:
    assert len(code) == 2 and kind in ("req", "opt", "rep")
    default: Any = {"req": "", "opt": None, "rep": ()}[kind]
    # Secrets and patron data stay out of repr(), so a message logged by accident does not show them.
    shown = code not in SECRET_CODES and code not in PERSONAL_CODES
    return field(default=default, metadata={"var": (code, kind)}, repr=shown)


@dataclass(frozen=True, kw_only=True)
class Message:
    """Base of every SIP2 message."""

    CODE: ClassVar[str] = ""
    extra: tuple[tuple[str, str], ...] = ()

    def get_extra(self, code: str) -> str | None:
        """First value of an unknown/extension variable field, or None."""
        for key, value in self.extra:
            if key == code:
                return value
        return None


# Registry filled by @register: command code -> class.
MESSAGE_TYPES: dict[str, type[Message]] = {}


def register(cls: type[Message]) -> type[Message]:
    assert cls.CODE and cls.CODE not in MESSAGE_TYPES
    MESSAGE_TYPES[cls.CODE] = cls
    return cls


@dataclass(frozen=True)
class FixedSpec:
    name: str
    kind: str
    width: int


@dataclass(frozen=True)
class VarSpec:
    name: str
    code: str
    kind: str


def layout(cls: type[Message]) -> tuple[tuple[FixedSpec, ...], tuple[VarSpec, ...]]:
    """The wire layout of a message class, read from its field metadata (cached)."""
    cached = _LAYOUTS.get(cls)
    if cached is None:
        fixed: list[FixedSpec] = []
        variable: list[VarSpec] = []
        for f in dataclasses.fields(cls):
            if "fixed" in f.metadata:
                kind, width = f.metadata["fixed"]
                fixed.append(FixedSpec(f.name, kind, width))
            elif "var" in f.metadata:
                code, kind = f.metadata["var"]
                variable.append(VarSpec(f.name, code, kind))
        cached = (tuple(fixed), tuple(variable))
        _LAYOUTS[cls] = cached
    return cached


_LAYOUTS: dict[type[Message], tuple[tuple[FixedSpec, ...], tuple[VarSpec, ...]]] = {}
