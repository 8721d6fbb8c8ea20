"""The station's sounds as WAV data, written with Python's `wave` module (no sound files to ship)."""

from __future__ import annotations

import io
import math
import struct
import wave

from drivers.speech.base import Tone

RATE = 22050  # espeak-ng's own rate, so one player setting fits both

# (frequency in Hz, duration in s) per sound; a problem is lower and longer than a done.
SHAPES: dict[Tone, tuple[tuple[float, float], ...]] = {
    Tone.KEY: ((660.0, 0.06),),
    Tone.DONE: ((880.0, 0.08), (1320.0, 0.10)),
    Tone.PROBLEM: ((330.0, 0.18), (247.0, 0.26)),
}


def tone_wav(kind: Tone, volume: float) -> bytes:
    """16-bit mono WAV of the sound at `volume` (0.0-1.0), with 5 ms fades so it does not click."""
    samples: list[int] = []
    fade = int(RATE * 0.005)
    for frequency, seconds in SHAPES[kind]:
        count = int(RATE * seconds)
        for i in range(count):
            envelope = min(1.0, i / fade, (count - i) / fade)
            value = math.sin(2 * math.pi * frequency * i / RATE) * envelope * volume
            samples.append(int(value * 32000))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return buffer.getvalue()


def duration(wav: bytes) -> float:
    """Seconds of sound in WAV data."""
    with wave.open(io.BytesIO(wav), "rb") as data:
        return data.getnframes() / data.getframerate()
