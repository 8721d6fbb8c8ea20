"""The real espeak-ng (Debian's): voices for the languages it has, WAV output of the right length, and
the pipeline to a player, stopped at once when asked."""

from __future__ import annotations

import asyncio
import io
import shutil
import struct
import sys
import time
import wave
from pathlib import Path

import pytest

from drivers.speech import EspeakSpeaker, SpeechError, SpeechUnavailable, Tone, duration, tone_wav

pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (apt-get install espeak-ng)"
)

SENTENCES = {
    "nb": "Legg lånekortet på platen.",
    "fi": "Aseta kirjastokortti alustalle.",
    "sv": "Lägg lånekortet på plattan.",
    "ru": "Положите читательский билет на панель.",
    "en": "Place your library card on the pad.",
    "smj": "Buorre boahtem girjjevuorkkáj.",
}


def _copying_player(target: Path) -> list[str]:
    """A player that writes what it is given to `target` (there is no sound card in the test machine)."""
    code = "import sys, shutil; shutil.copyfileobj(sys.stdin.buffer, open(sys.argv[1], 'wb'))"
    return [sys.executable, "-c", code, str(target)]


def _peak(wav: bytes) -> int:
    with wave.open(io.BytesIO(wav), "rb") as data:
        frames = data.readframes(data.getnframes())
    return max(abs(v) for (v,) in struct.iter_unpack("<h", frames))


@pytest.mark.parametrize("language", sorted(SENTENCES))
def test_espeak_ng_speaks_each_language_it_has_a_voice_for(language: str) -> None:
    wav = EspeakSpeaker().synthesize(SENTENCES[language], language)
    seconds = duration(wav)
    assert 0.8 < seconds < 8.0, f"{language}: {seconds:.2f} s for {SENTENCES[language]!r}"


def test_a_longer_text_takes_longer_to_say() -> None:
    speaker = EspeakSpeaker()
    short = duration(speaker.synthesize("Lån.", "nb"))
    long = duration(speaker.synthesize("Lånt. Leveres 13. desember 2026. Legg det neste på platen.", "nb"))
    assert long > short * 3


@pytest.mark.parametrize("language", ["nn", "se", "sma", "sms", "fkv"])
def test_languages_without_a_voice_are_reported_with_the_spoken_ones(language: str) -> None:
    with pytest.raises(SpeechUnavailable) as caught:
        EspeakSpeaker().synthesize("Bures", language)
    assert caught.value.spoken == frozenset(SENTENCES)
    assert "speech is available in en, fi, nb, ru, smj, sv" in str(caught.value)


def test_volume_changes_the_amplitude_and_resets_to_the_default() -> None:
    speaker = EspeakSpeaker()
    speaker.set_volume(0.2)
    quiet = _peak(speaker.synthesize("Hallo", "nb"))
    speaker.set_volume(1.0)
    loud = _peak(speaker.synthesize("Hallo", "nb"))
    assert loud > quiet * 2
    speaker.reset_volume()
    assert speaker.volume == 0.7
    with pytest.raises(ValueError, match=r"between 0\.0 and 1\.0"):
        speaker.set_volume(3)


async def test_speech_goes_through_the_player_as_wav(tmp_path: Path) -> None:
    target = tmp_path / "played.wav"
    speaker = EspeakSpeaker(player=_copying_player(target))
    await speaker.speak("Velkommen til biblioteket", "nb")
    data = target.read_bytes()
    assert data[:4] == b"RIFF"
    # espeak-ng's streamed header has no length: count the samples after the 44-byte header
    assert (len(data) - 44) / 2 / 22050 > 1.0


async def test_stop_ends_speech_at_once(tmp_path: Path) -> None:
    slow = [sys.executable, "-c", "import sys, time\nfor _ in sys.stdin.buffer: time.sleep(0.5)"]
    speaker = EspeakSpeaker(player=slow)
    talking = asyncio.ensure_future(speaker.speak("Legg lånekortet på platen. " * 30, "nb"))
    await asyncio.sleep(0.5)
    started = time.monotonic()
    await speaker.stop()
    await asyncio.wait_for(talking, 5)
    assert time.monotonic() - started < 3


async def test_a_pin_digit_is_a_tone_not_a_word(tmp_path: Path) -> None:
    target = tmp_path / "tone.wav"
    speaker = EspeakSpeaker(player=_copying_player(target))
    await speaker.tone(Tone.KEY)
    assert target.read_bytes() == tone_wav(Tone.KEY, speaker.volume)


async def test_a_missing_player_is_a_speech_error_that_names_it() -> None:
    speaker = EspeakSpeaker(player=["no-such-player-here"])
    with pytest.raises(SpeechError, match="cannot play sound with no-such-player-here"):
        await speaker.speak("Hei", "nb")
