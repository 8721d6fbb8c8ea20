"""What the `kiosk` sub-commands share: how they print, and how each one joins the parser."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Mapping
from typing import Any, TypeAlias

from drivers.speech import HeadsetJack, JackError, Speaker, SpeechError, open_jack, open_speaker
from kiosk.config import SpeechSection

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


def open_speaker_or_none(speech: SpeechSection | None = None) -> Speaker | None:
    """espeak-ng for the patron screen's speech on `[speech]`'s devices; without it (or with `enabled =
    false`) the screen runs silent (logged once)."""
    speech = speech or SpeechSection()
    if not speech.enabled:
        return None
    try:
        return open_speaker("espeak", speech.device, speech.headset_device)
    except SpeechError as error:
        logging.getLogger("kiosk.speech").warning("no speech output: %s", error)
        return None


def open_jack_or_none(speech: SpeechSection) -> HeadsetJack | None:
    """`[speech] jack`: how a headset plug is sensed; one that cannot be read is logged, speech stays on
    the loudspeaker."""
    try:
        return open_jack(speech.jack, speech.jack_card, speech.jack_control, speech.jack_device)
    except JackError as error:
        logging.getLogger("kiosk.speech").warning("no headset sensing: %s", error)
        return None


__all__ = ["Commands", "fail", "open_jack_or_none", "open_speaker_or_none", "print_json"]
