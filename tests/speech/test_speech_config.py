"""`[speech]` in the station's file: what `kiosk config check` refuses, and what `kiosk run` opens from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from drivers.speech import EvdevJack
from kiosk.cli import main
from kiosk.cli.common import open_jack_or_none, open_speaker_or_none
from kiosk.config import ConfigError, SpeechSection, from_mapping
from tests.cli.station_files import station_file

BAD = [
    ('jack = "bluetooth"', r"\[speech\] jack: 'bluetooth' is not one of none, alsa, evdev"),
    ('jack = "alsa"', r"\[speech\] jack_card: jack = \"alsa\" needs the sound card: see `aplay -l`"),
    ('jack = "evdev"\njack_device = "event3"', r"\[speech\] jack_device: 'event3': jack = \"evdev\" needs"),
    ("enabled = 1", r"\[speech\] enabled: expected true or false, got 1"),
    ('headset = "plughw:1"', r"unknown key in \[speech\]: 'headset' \(did you mean 'headset_device'\?\)"),
]


@pytest.mark.parametrize(("lines", "message"), BAD)
def test_kiosk_config_check_refuses_a_wrong_speech_value_and_says_what_to_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lines: str, message: str
) -> None:
    assert main(["config", "check", str(station_file(tmp_path, f"[speech]\n{lines}"))]) != 0
    assert re.search(message, capsys.readouterr().err)


def test_a_usb_sound_card_with_its_jack_passes() -> None:
    speech = from_mapping(
        {"speech": {"device": "plughw:CARD=Device", "jack": "alsa", "jack_card": "Device"}}
    ).speech
    assert (speech.jack, speech.jack_card, speech.speak_on_headset) == ("alsa", "Device", True)
    with pytest.raises(ConfigError):
        from_mapping({"speech": {"jack": "evdev"}})


def test_kiosk_run_opens_what_speech_says() -> None:
    assert open_speaker_or_none(SpeechSection(enabled=False)) is None
    assert open_jack_or_none(SpeechSection()) is None  # jack = "none"
    jack = open_jack_or_none(SpeechSection(jack="evdev", jack_device="/dev/input/by-path/sound-event"))
    assert isinstance(jack, EvdevJack) and jack.path == "/dev/input/by-path/sound-event"
