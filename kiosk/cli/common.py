"""What the `kiosk` sub-commands share: how they print, and how each one joins the parser."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Mapping
from typing import Any, TypeAlias

from drivers.speech import Speaker, SpeechError, open_speaker

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


def open_speaker_or_none() -> Speaker | None:
    """espeak-ng for the patron screen's speech; without it the screen runs silent (logged once)."""
    try:
        return open_speaker("espeak")
    except SpeechError as error:
        logging.getLogger("kiosk.speech").warning("no speech output: %s", error)
        return None


__all__ = ["Commands", "fail", "open_speaker_or_none", "print_json"]
