"""What every `kiosk` sub-command prints the same way."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any


def print_json(record: Mapping[str, Any]) -> None:
    """One JSON object on one line of stdout, flushed (a pipe reader sees it at once)."""
    sys.stdout.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def error(message: str) -> int:
    """A problem the person at the terminal can act on: one line on stderr, exit status 1."""
    print(f"error: {message}", file=sys.stderr)
    return 1


__all__ = ["error", "print_json"]
