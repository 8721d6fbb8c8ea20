"""The one error of the configuration: where (file, section, key), what is wrong, and what to do."""

from __future__ import annotations


class ConfigError(Exception):
    """The configuration cannot be used; the message says where, what is wrong and what to do. One
    problem per line when there are several (`kiosk.config.check_for_run`)."""


def problem(where: str, section: str, key: str, what: str) -> str:
    """'kiosk.toml: [sip2] port: 99999 is out of range: use a whole number from 1 to 65535'"""
    return f"{where}: [{section}] {key}: {what}"


__all__ = ["ConfigError", "problem"]
