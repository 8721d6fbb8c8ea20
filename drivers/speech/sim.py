"""A speaker that records what it was asked to say: for the demo's window and the tests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from drivers.speech.base import DEFAULT_VOLUME, SpeechUnavailable, Tone, check_level
from drivers.speech.espeak import VOICES


@dataclass(frozen=True)
class Spoken:
    text: str
    language: str
    volume: float
    headset: bool = False  # said through the headset, not the loudspeaker


class SimulatedSpeaker:
    """Same languages as espeak-ng unless told otherwise; `said`, `tones` and `stops` record everything."""

    def __init__(self, languages: frozenset[str] | None = None, seconds_per_char: float = 0.0) -> None:
        self._languages = languages if languages is not None else frozenset(VOICES)
        self._volume = DEFAULT_VOLUME
        self.headset = False
        self._seconds_per_char = seconds_per_char  # > 0: speaking takes time, so stop() can cut it
        self.said: list[Spoken] = []
        self.tones: list[Tone] = []
        self.stops = 0
        self.interrupted = 0
        self._speaking: asyncio.Task[None] | None = None

    @property
    def languages(self) -> frozenset[str]:
        return self._languages

    @property
    def volume(self) -> float:
        return self._volume

    def set_volume(self, level: float) -> None:
        self._volume = check_level(level)

    def reset_volume(self) -> None:
        self._volume = DEFAULT_VOLUME

    def route(self, headset: bool) -> None:
        self.headset = headset

    async def speak(self, text: str, language: str) -> None:
        if language not in self._languages:
            raise SpeechUnavailable(language, self._languages)
        await self.stop()
        self.said.append(Spoken(text, language, self._volume, self.headset))
        if self._seconds_per_char > 0:
            self._speaking = asyncio.ensure_future(asyncio.sleep(len(text) * self._seconds_per_char))
            try:
                await self._speaking
            except asyncio.CancelledError:
                self.interrupted += 1
            finally:
                self._speaking = None

    async def stop(self) -> None:
        self.stops += 1
        if self._speaking is not None and not self._speaking.done():
            self._speaking.cancel()
            await asyncio.sleep(0)

    async def tone(self, kind: Tone = Tone.KEY) -> None:
        self.tones.append(kind)

    async def close(self) -> None:
        await self.stop()

    def texts(self, language: str | None = None) -> list[str]:
        return [s.text for s in self.said if language is None or s.language == language]
