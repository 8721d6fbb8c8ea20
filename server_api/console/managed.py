"""The kiosk settings the console manages centrally: each key's type, range or choices, and the rules
between keys, with the same numbers and words as `kiosk config check` (kiosk/config/checks.py).

This module imports nothing but the standard library, so the kiosk can import it too (server_api never
imports kiosk/): kiosk/config should take these ranges from here, so that the two cannot drift apart.
Until it does, tests/console/test_managed.py holds both to the same numbers.

Settings travel as a flat mapping "section.key" -> value (`{"session.idle_timeout": 90}`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Languages the kiosk has catalogues for (kiosk/i18n/languages.py); drafts only as extra languages. The
# staff screen and slips are written in every complete one (a HelGe kiosk's staff read Swedish).
# tests/console/test_managed.py holds both lists to the kiosk's own.
LANGUAGES = ("nb", "nn", "se", "smj", "sma", "sms", "fkv", "fi", "sv", "ru", "en")
STAFF_LANGUAGES = ("nb", "nn", "fi", "sv", "ru", "en")


def N_(message: str) -> str:
    """Marks a message for the console's catalogue (gettext's convention; this module stays stdlib-only)."""
    return message


class Words(str):
    """A sentence for staff that the console translates where it is shown: the English text (for logs,
    the API and tests) with its catalogue `template` and `values`; a value that is itself `Words` is
    translated too (`translated`). Made with `Words.of(N_("... %(name)s ..."), name=...)`."""

    template: str
    values: dict[str, object]

    @classmethod
    def of(cls, template: str, **values: object) -> Words:
        words = cls(template % values if values else template)
        words.template, words.values = template, values
        return words

    def translated(self, gettext: Any) -> str:
        text: str = gettext(self.template)
        if not self.values:
            return text
        return text % {
            k: v.translated(gettext) if isinstance(v, Words) else v for k, v in self.values.items()
        }


@dataclass(frozen=True)
class Key:
    name: str  # "section.key"
    kind: type  # int, float, bool or str
    low: float | None = None
    high: float | None = None
    unit: str = ""
    choices: tuple[str, ...] = ()
    zero_means: str = ""  # 0 is allowed below `low` and means this
    why: str = ""

    @property
    def section(self) -> str:
        return self.name.split(".", 1)[0]

    def range_words(self) -> Words:
        if self.choices:
            return Words.of(N_("one of %(choices)s"), choices=", ".join(self.choices))
        if self.low is None or self.high is None:
            return Words.of("")
        bounds = {"low": _num(self.low), "high": _num(self.high)}
        if self.unit:
            words = Words.of(
                N_("use a whole number from %(low)s to %(high)s %(unit)s")
                if self.kind is int
                else N_("use a number from %(low)s to %(high)s %(unit)s"),
                unit=Words.of(self.unit),
                **bounds,
            )
        elif self.kind is int:
            words = Words.of(N_("use a whole number from %(low)s to %(high)s"), **bounds)
        else:
            words = Words.of(N_("use a number from %(low)s to %(high)s"), **bounds)
        if self.zero_means:
            words = Words.of(N_("%(range)s, or 0 for %(zero)s"), range=words, zero=Words.of(self.zero_means))
        if self.why:
            words = Words.of(N_("%(range)s (%(why)s)"), range=words, why=Words.of(self.why))
        return words


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


KEYS: tuple[Key, ...] = (
    Key(
        "session.idle_timeout",
        int,
        10,
        1800,
        "seconds",
        why=N_("the next patron must not find the last one's session"),
    ),
    Key("session.idle_warning", int, 0, 600, N_("seconds")),
    Key("session.goodbye_time", int, 0, 120, N_("seconds")),
    Key("session.max_pin_attempts", int, 1, 10),
    Key("session.pin_cooldown", int, 60, 86400, N_("seconds"), zero_means=N_("no rest after wrong PINs")),
    Key("session.pin_cooldown_max", int, 60, 7 * 86400, N_("seconds")),
    Key("session.pin_required", bool),
    Key("session.print_staff_slips", bool),
    Key("station.language", str, choices=LANGUAGES),
    Key("station.staff_language", str, choices=STAFF_LANGUAGES),
    Key("station.library_name", str),
    Key("rfid.security_attempts", int, 1, 10, why=N_("with 0 the security bit would never be written")),
    Key("rfid.security_failure", str, choices=("flag", "undo")),
    Key("offline.borrowing", bool),
    Key("offline.max_items_per_session", int, 1, 100, N_("items"), why=N_("set borrowing = false for none")),
    Key("offline.max_items_per_patron", int, 1, 1000, N_("items")),
    Key("offline.loan_days", int, 1, 365, N_("days")),
    Key("offline.known_for_days", int, 1, 365, N_("days")),
    Key("network.failure_budget", int, 1, 100, N_("failed requests")),
    Key("network.probe_interval", float, 1, 3600, N_("seconds")),
    Key(
        "journal.purge_after_days",
        int,
        1,
        365,
        N_("days"),
        why=N_("finished entries are patrons' reading history"),
    ),
)
UNITS = (N_("seconds"), N_("items"), N_("days"), N_("failed requests"))  # for the console's catalogue
BY_NAME: dict[str, Key] = {key.name: key for key in KEYS}
_NOT_A_NUMBER = N_("%(key)s: %(value)s is not a number; %(range)s")

# The kiosk's defaults (kiosk/config/sections.py), for the rules between keys when a key is not set.
DEFAULTS: dict[str, Any] = {
    "session.idle_timeout": 60,
    "session.idle_warning": 20,
    "session.pin_cooldown": 300,
    "session.pin_cooldown_max": 86400,
}


class SettingsError(ValueError):
    """Settings the kiosk would refuse; `problems` holds one sentence per key ("key: what is wrong")."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_value(key: Key, text: str) -> Any:
    """A form's text as the key's type; ValueError says what to write instead."""
    raw = text.strip()
    if key.kind is bool:
        if raw.lower() in ("true", "yes", "1", "on"):
            return True
        if raw.lower() in ("false", "no", "0", "off"):
            return False
        raise ValueError(
            Words.of(N_("%(key)s: write true or false, not %(value)s"), key=key.name, value=repr(raw))
        )
    if key.kind is str:
        return raw
    try:
        number = int(raw) if key.kind is int else float(raw.replace(",", "."))
    except ValueError:
        wrong = (
            N_("%(key)s: %(value)s is not a whole number; %(range)s") if key.kind is int else _NOT_A_NUMBER
        )
        raise ValueError(Words.of(wrong, key=key.name, value=repr(raw), range=key.range_words())) from None
    return number


def check_value(key: Key, value: Any) -> Words | None:
    """What is wrong with `value` for `key`, or None."""
    if key.kind is bool:
        return None if isinstance(value, bool) else Words.of(N_("%(key)s: write true or false"), key=key.name)
    if key.kind is str:
        if not isinstance(value, str) or len(value) > 200:
            return Words.of(N_("%(key)s: text of at most 200 characters"), key=key.name)
        if key.choices and value not in key.choices:
            return Words.of(
                N_("%(key)s: %(value)s is not %(range)s"),
                key=key.name,
                value=repr(value),
                range=key.range_words(),
            )
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return Words.of(N_("%(key)s: %(range)s"), key=key.name, range=key.range_words())
    if key.kind is int and not isinstance(value, int):
        return Words.of(
            N_("%(key)s: %(value)s is not a whole number; %(range)s"),
            key=key.name,
            value=_num(value),
            range=key.range_words(),
        )
    if not math.isfinite(value):
        return Words.of(_NOT_A_NUMBER, key=key.name, value=str(value), range=key.range_words())
    assert key.low is not None and key.high is not None
    if (key.zero_means and value == 0) or key.low <= value <= key.high:
        return None
    return Words.of(
        N_("%(key)s: %(value)s is out of range: %(range)s"),
        key=key.name,
        value=_num(value),
        range=key.range_words(),
    )


def check_together(values: Mapping[str, Any]) -> list[str]:
    """The rules between keys, on the settings as the kiosk would end up with them."""
    merged = {**DEFAULTS, **values}
    problems: list[str] = []
    if merged["session.idle_warning"] >= merged["session.idle_timeout"]:
        problems.append(
            Words.of(
                N_(
                    "session.idle_warning must be shorter than session.idle_timeout"
                    " (%(warning)s >= %(timeout)s seconds)"
                ),
                warning=merged["session.idle_warning"],
                timeout=merged["session.idle_timeout"],
            )
        )
    if merged["session.pin_cooldown"] > merged["session.pin_cooldown_max"]:
        problems.append(
            Words.of(
                N_(
                    "session.pin_cooldown (%(cooldown)s) is longer than"
                    " session.pin_cooldown_max (%(longest)s)"
                ),
                cooldown=merged["session.pin_cooldown"],
                longest=merged["session.pin_cooldown_max"],
            )
        )
    return problems


def validate(values: Mapping[str, Any]) -> dict[str, Any]:
    """The settings if the kiosk would accept them; else `SettingsError` with every problem."""
    problems: list[str] = [
        Words.of(N_("%(key)s: not a setting the console manages"), key=name)
        for name in values
        if name not in BY_NAME
    ]
    problems += [p for name, v in values.items() if name in BY_NAME and (p := check_value(BY_NAME[name], v))]
    if not problems:
        problems = check_together(values)
    if problems:
        raise SettingsError(problems)
    return dict(values)


__all__ = [
    "BY_NAME",
    "DEFAULTS",
    "KEYS",
    "Key",
    "SettingsError",
    "check_together",
    "check_value",
    "parse_value",
    "validate",
]
