"""The `Speaker` protocol: what the station asks of speech output (EN 301 549 5.1.3), and its errors.

A speaker says a text in a language, stops at once when asked (a new screen, a patron who walked away),
has a volume the patron may change and the station resets after each session, and plays a neutral tone
for each PIN digit (5.1.3.8: a PIN is never spoken). Languages without a voice are reported, not
guessed: the UI then says that speech is not available and offers the languages that are spoken.
"""

from __future__ import annotations

import enum
from typing import Protocol, runtime_checkable

DEFAULT_VOLUME = 0.7  # of the speaker's range; the level every session starts at


class SpeechError(Exception):
    """Speech output failed; the message says what to check (the synthesiser, the sound card)."""


class SpeechUnavailable(SpeechError):
    """No voice for this language. `spoken` lists the languages that have one."""

    def __init__(self, language: str, spoken: frozenset[str]) -> None:
        super().__init__(f"no voice for {language!r}: speech is available in {', '.join(sorted(spoken))}")
        self.language = language
        self.spoken = spoken


class Tone(enum.StrEnum):
    KEY = "key"  # a PIN digit or a key press: the same neutral beep for every digit
    DONE = "done"  # an item done
    PROBLEM = "problem"  # an item that needs the patron: lower, longer, distinct from DONE


@runtime_checkable
class Speaker(Protocol):
    """Speech and sound output. Every method returns promptly: blocking work runs in a thread."""

    @property
    def languages(self) -> frozenset[str]:
        """The languages this speaker has a voice for."""
        ...

    @property
    def volume(self) -> float:
        """0.0 (silent) to 1.0 (loudest)."""
        ...

    def set_volume(self, level: float) -> None: ...

    def route(self, headset: bool) -> None:
        """Speak through the headset (True: one is plugged in) or the loudspeaker, from the next sound."""
        ...

    def reset_volume(self) -> None:
        """Back to DEFAULT_VOLUME (after each session: the next patron starts at a known level)."""
        ...

    async def speak(self, text: str, language: str) -> None:
        """Say `text` (stopping whatever is being said). Raises SpeechUnavailable without a voice."""
        ...

    async def stop(self) -> None:
        """Stop speaking now; nothing happens when nothing is being said."""
        ...

    async def tone(self, kind: Tone = Tone.KEY) -> None:
        """A short sound: the same for every PIN digit, one for an item done, another for a problem."""
        ...

    async def close(self) -> None: ...


def check_level(level: float) -> float:
    if not 0.0 <= level <= 1.0:
        raise ValueError(f"volume must be between 0.0 and 1.0, got {level!r}")
    return float(level)
