"""Speech through Debian's espeak-ng, played by ALSA's `aplay` (the kiosk's USB sound card by `device`).

espeak-ng has voices for nb, fi, sv, ru, en and Lule Sámi (smj), but none for nn, se, sma, sms or fkv:
those are reported as unavailable, never read with another language's voice. The text is passed as an
argument after `--`, never through a shell. Each call runs the blocking subprocesses in a worker thread;
`stop()` ends them at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from drivers.speech.base import DEFAULT_VOLUME, SpeechError, SpeechUnavailable, Tone, check_level
from drivers.speech.tones import tone_wav

# Our language codes -> espeak-ng voice names (Debian 12's espeak-ng 1.51).
VOICES: dict[str, str] = {"nb": "nb", "fi": "fi", "sv": "sv", "ru": "ru", "en": "en-gb", "smj": "smj"}
ESPEAK = "espeak-ng"
RATE_WPM = 150  # a little slower than espeak's 175: clearer for older patrons and learners
MAX_AMPLITUDE = 200  # espeak-ng's -a range is 0-200


def player_command(device: str = "") -> tuple[str, ...]:
    """`aplay` reading WAV from stdin, on `device` (an ALSA name such as "plughw:CARD=Device") if given."""
    return ("aplay", "-q", *(("-D", device) if device else ()), "-")


class EspeakSpeaker:
    """The real `Speaker`. `player` reads WAV on stdin (aplay by default; tests give their own)."""

    def __init__(
        self,
        player: Sequence[str] | None = None,
        voices: dict[str, str] | None = None,
        headset_player: Sequence[str] | None = None,
    ) -> None:
        if shutil.which(ESPEAK) is None:
            raise SpeechError("espeak-ng is not installed (apt-get install espeak-ng): no speech output")
        self._loudspeaker = tuple(player) if player is not None else player_command()
        self._headset = tuple(headset_player) if headset_player is not None else self._loudspeaker
        self._player = self._loudspeaker
        self._voices = dict(voices if voices is not None else VOICES)
        self._volume = DEFAULT_VOLUME
        self._lock = threading.Lock()
        self._running: list[subprocess.Popen[bytes]] = []

    @property
    def languages(self) -> frozenset[str]:
        return frozenset(self._voices)

    @property
    def volume(self) -> float:
        return self._volume

    def set_volume(self, level: float) -> None:
        self._volume = check_level(level)

    def reset_volume(self) -> None:
        self._volume = DEFAULT_VOLUME

    def route(self, headset: bool) -> None:
        self._player = self._headset if headset else self._loudspeaker

    def _voice(self, language: str) -> str:
        voice = self._voices.get(language)
        if voice is None:
            raise SpeechUnavailable(language, self.languages)
        return voice

    def _espeak(self, language: str, *output: str) -> list[str]:
        amplitude = str(round(self._volume * MAX_AMPLITUDE))
        return [ESPEAK, "-v", self._voice(language), "-a", amplitude, "-s", str(RATE_WPM), *output]

    def synthesize(self, text: str, language: str) -> bytes:
        """The WAV espeak-ng makes of `text` (blocking; for receipts read aloud, tests and tools)."""
        with tempfile.TemporaryDirectory(prefix="kiosk-speech-") as folder:
            target = Path(folder) / "speech.wav"
            command = [*self._espeak(language, "-w", str(target)), "--", text]
            done = subprocess.run(command, capture_output=True, timeout=60, check=False)
            if done.returncode != 0 or not target.exists():
                raise SpeechError(f"espeak-ng failed ({done.returncode}): {done.stderr.decode()[-300:]}")
            return target.read_bytes()

    def _start(self, producer: list[str] | None) -> subprocess.Popen[bytes]:
        try:
            source = subprocess.Popen(producer, stdout=subprocess.PIPE) if producer else None
        except OSError as error:
            raise SpeechError(f"cannot start espeak-ng: {error}") from error
        try:
            sink = subprocess.Popen(
                self._player,
                stdin=source.stdout if source else subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError as error:
            if source is not None:
                source.kill()
                source.wait()
            raise SpeechError(f"cannot play sound with {self._player[0]}: {error}") from error
        if source is not None and source.stdout is not None:
            source.stdout.close()  # the player owns the pipe now
        self._running = [p for p in (source, sink) if p is not None]
        return sink

    def _play(self, producer: list[str] | None, wav: bytes | None) -> None:
        """Run espeak-ng | player (or feed `wav` to the player) until done or stopped (blocking)."""
        with self._lock:
            sink = self._start(producer)
        try:
            if wav is not None and sink.stdin is not None:
                with contextlib.suppress(BrokenPipeError):
                    sink.stdin.write(wav)
                    sink.stdin.close()
            for process in reversed(self._running):
                process.wait(timeout=300)
        finally:
            with self._lock:
                self._running = []

    async def speak(self, text: str, language: str) -> None:
        await self.stop()
        producer = [*self._espeak(language, "--stdout"), "--", text]
        await asyncio.to_thread(self._play, producer, None)

    async def tone(self, kind: Tone = Tone.KEY) -> None:
        await asyncio.to_thread(self._play, None, tone_wav(kind, self._volume))

    async def stop(self) -> None:
        await asyncio.to_thread(self._kill)

    def _kill(self) -> None:
        with self._lock:
            running = list(self._running)
        for process in running:
            if process.poll() is None:
                process.kill()
        for process in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)

    async def close(self) -> None:
        await self.stop()
