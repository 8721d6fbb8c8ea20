"""The simulated speaker records what was said; the tones are short and distinct."""

from __future__ import annotations

import asyncio

import pytest

from drivers.speech import (
    SimulatedSpeaker,
    Speaker,
    SpeechUnavailable,
    Spoken,
    Tone,
    duration,
    open_speaker,
    tone_wav,
)


async def test_the_simulator_records_each_text_in_its_language() -> None:
    speaker = SimulatedSpeaker()
    await speaker.speak("Velkommen til biblioteket", "nb")
    await speaker.speak("Welcome to the library", "en")
    assert speaker.said == [
        Spoken("Velkommen til biblioteket", "nb", 0.7),
        Spoken("Welcome to the library", "en", 0.7),
    ]
    assert speaker.texts("en") == ["Welcome to the library"]


async def test_the_simulator_has_espeaks_languages_and_refuses_the_others() -> None:
    speaker = SimulatedSpeaker()
    with pytest.raises(SpeechUnavailable):
        await speaker.speak("Bures boahtin", "se")
    assert speaker.said == []


async def test_a_new_text_cuts_the_one_being_said() -> None:
    speaker = SimulatedSpeaker(seconds_per_char=0.05)
    first = asyncio.ensure_future(speaker.speak("a long text " * 10, "en"))
    await asyncio.sleep(0.05)
    await speaker.speak("next", "en")
    await first
    assert speaker.interrupted == 1
    assert speaker.texts() == ["a long text " * 10, "next"]


async def test_pin_digits_are_tones_and_the_volume_resets() -> None:
    speaker = SimulatedSpeaker()
    speaker.set_volume(1.0)
    for _ in "1234":
        await speaker.tone(Tone.KEY)
    assert speaker.tones == [Tone.KEY] * 4
    speaker.reset_volume()
    assert speaker.volume == 0.7


def test_both_speakers_meet_the_protocol() -> None:
    assert isinstance(open_speaker("sim"), Speaker)
    with pytest.raises(ValueError, match="unknown speaker"):
        open_speaker("festival")


def test_tones_are_short_and_a_problem_sounds_different_from_done() -> None:
    assert duration(tone_wav(Tone.KEY, 0.7)) < 0.1
    done, problem = tone_wav(Tone.DONE, 0.7), tone_wav(Tone.PROBLEM, 0.7)
    assert done != problem and duration(problem) > duration(done)
    assert tone_wav(Tone.KEY, 0.0)[44:].strip(b"\x00") == b""  # silent at volume 0
