"""What the `kiosk` sub-commands share: how they print, and how each one joins the parser."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from typing import Any, TypeAlias

# The `commands` of the top-level parser, handed to each sub-command's `register()`.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def print_json(record: Mapping[str, Any]) -> None:
    """One JSON object on one line of stdout, flushed (a pipe reader sees it at once)."""
    sys.stdout.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def fail(message: str, status: int = 1) -> int:
    """A problem the person at the terminal can act on: one line on stderr, and the exit status."""
    print(message, file=sys.stderr)
    return status


__all__ = ["Commands", "fail", "print_json"]
