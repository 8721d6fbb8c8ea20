"""Speech and sound output (EN 301 549 5.1.3): the `Speaker` protocol, espeak-ng, and a simulator.

    speaker = open_speaker("espeak", device="plughw:CARD=Device")   # or open_speaker("sim")
    await speaker.speak("Legg lånekortet på platen.", "nb")
    await speaker.tone(Tone.KEY)        # a PIN digit: a neutral beep, never the digit
    speaker.reset_volume()              # after each session

One switch between the real device and the simulator, as in pyserial: `open_speaker(kind)`.
"""

from __future__ import annotations

from drivers.speech.base import (
    DEFAULT_VOLUME,
    Speaker,
    SpeechError,
    SpeechUnavailable,
    Tone,
)
from drivers.speech.espeak import VOICES, EspeakSpeaker, player_command
from drivers.speech.jack import (
    AlsaJack,
    EvdevJack,
    HeadsetJack,
    JackError,
    JackWatcher,
    SimulatedJack,
    open_jack,
)
from drivers.speech.sim import SimulatedSpeaker, Spoken
from drivers.speech.tones import duration, tone_wav

__all__ = [
    "DEFAULT_VOLUME",
    "VOICES",
    "AlsaJack",
    "EspeakSpeaker",
    "EvdevJack",
    "HeadsetJack",
    "JackError",
    "JackWatcher",
    "SimulatedJack",
    "SimulatedSpeaker",
    "Speaker",
    "SpeechError",
    "SpeechUnavailable",
    "Spoken",
    "Tone",
    "duration",
    "open_jack",
    "open_speaker",
    "player_command",
    "tone_wav",
]


def open_speaker(kind: str = "espeak", device: str = "", headset_device: str = "") -> Speaker:
    """ "espeak" (espeak-ng played by aplay on `device`, or on `headset_device` while a headset is
    plugged in) or "sim" (records what was said)."""
    if kind == "sim":
        return SimulatedSpeaker()
    if kind == "espeak":
        headset = player_command(headset_device or device)
        return EspeakSpeaker(player=player_command(device), headset_player=headset)
    raise ValueError(f"unknown speaker {kind!r}: use 'espeak' or 'sim'")
