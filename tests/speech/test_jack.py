"""Headset jack sensing: ALSA's jack control through amixer (a stand-in amixer on PATH that answers from
a state file, as the real one answers from the card: the command line and its output are the interface),
the evdev switch's ioctl and bits, the simulated jack, and the watcher that reports each change once."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from pathlib import Path

import pytest

from drivers.speech import AlsaJack, EvdevJack, JackError, JackWatcher, SimulatedJack, open_jack
from drivers.speech.jack import SW_HEADPHONE_INSERT, eviocgsw, headphone_control, switch_on

CONTROLS = """numid=3,iface=CARD,name='Headset Mic Jack'
numid=2,iface=CARD,name='Headphone Jack'
numid=5,iface=MIXER,name='PCM Playback Volume'
"""


def fake_amixer(folder: Path, controls: str = CONTROLS) -> Path:
    """An `amixer` for card "Device" that lists `controls` and reads the jack from `folder/jack`."""
    (folder / "jack").write_text("off", encoding="utf-8")
    (folder / "controls").write_text(controls, encoding="utf-8")
    script = folder / "amixer"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys, pathlib\n"
        f"here = pathlib.Path({str(folder)!r})\n"
        "args = sys.argv[1:]\n"
        "(here / 'calls').open('a').write(' '.join(args) + '\\n')\n"
        "if args[:2] != ['-c', 'Device']:\n"
        "    print(f'Invalid card number.', file=sys.stderr); sys.exit(1)\n"
        "if args[2] == 'controls':\n"
        "    print((here / 'controls').read_text(), end='')\n"
        "elif args[2] == 'cget':\n"
        "    name = args[3].split('name=', 1)[1]\n"
        "    print(f\"numid=2,iface=CARD,name='{name}'\")\n"
        "    print('  ; type=BOOLEAN,access=r-------,values=1')\n"
        "    print('  : values=' + (here / 'jack').read_text())\n",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_the_alsa_jack_finds_the_headphone_control_and_reads_it(tmp_path: Path) -> None:
    jack = AlsaJack("Device", amixer=str(fake_amixer(tmp_path)))
    assert jack.plugged() is False
    assert jack.control == "Headphone Jack"  # not the headset microphone's jack
    (tmp_path / "jack").write_text("on", encoding="utf-8")
    assert jack.plugged() is True
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls == ["-c Device controls", *["-c Device cget iface=CARD,name=Headphone Jack"] * 2]


def test_a_named_control_is_read_as_it_is_named(tmp_path: Path) -> None:
    jack = AlsaJack("Device", "Headset Mic Jack", amixer=str(fake_amixer(tmp_path)))
    assert jack.plugged() is False
    assert "controls" not in (tmp_path / "calls").read_text()


def test_a_wrong_card_says_where_the_cards_are_listed(tmp_path: Path) -> None:
    jack = AlsaJack("Nope", amixer=str(fake_amixer(tmp_path)))
    with pytest.raises(
        JackError, match=r"sound card 'Nope': Invalid card number\. \(aplay -l lists the cards"
    ):
        jack.plugged()


def test_a_card_without_a_jack_control_says_so_and_what_to_set(tmp_path: Path) -> None:
    amixer = fake_amixer(tmp_path, controls="numid=5,iface=MIXER,name='PCM Playback Volume'\n")
    with pytest.raises(JackError, match=r"no headphone jack control \(it has: PCM Playback Volume\); set"):
        AlsaJack("Device", amixer=str(amixer)).plugged()


def test_without_amixer_the_error_names_the_package() -> None:
    with pytest.raises(JackError, match=r"apt-get install alsa-utils"):
        AlsaJack("Device", amixer="no-such-amixer-here")


def test_the_headphone_control_is_preferred_to_the_microphone_jack() -> None:
    assert headphone_control(["Headset Mic Jack", "Headphone Jack", "Line Out Jack"]) == "Headphone Jack"
    assert headphone_control(["Headset Jack"]) == "Headset Jack"
    assert headphone_control(["Line Out Jack", "Mic Jack"]) == ""


def test_the_evdev_switch_ioctl_and_its_bits() -> None:
    assert eviocgsw(1) == 0x8001451B  # EVIOCGSW(1) from linux/input.h, on every Linux the kiosk runs
    plugged = bytes([1 << SW_HEADPHONE_INSERT, 0, 0])
    assert switch_on(plugged, SW_HEADPHONE_INSERT) is True
    assert switch_on(bytes([0b1011, 0, 0]), SW_HEADPHONE_INSERT) is False  # lid, tablet mode, mic: not ours
    assert switch_on(b"", SW_HEADPHONE_INSERT) is False


def test_an_evdev_path_that_is_not_a_switch_device_is_an_error_that_says_so(tmp_path: Path) -> None:
    with pytest.raises(JackError, match=r"/dev/null: not an input device with switches"):
        EvdevJack(os.devnull).plugged()
    with pytest.raises(JackError, match=r"No such file or directory \(the kiosk user must be in group input"):
        EvdevJack(str(tmp_path / "event99")).plugged()


def test_open_jack_is_the_one_switch_between_the_sources(tmp_path: Path) -> None:
    assert open_jack("none") is None
    assert isinstance(open_jack("sim"), SimulatedJack)
    assert isinstance(open_jack("evdev", device="/dev/input/event3"), EvdevJack)
    with pytest.raises(ValueError, match="use none, alsa, evdev or sim"):
        open_jack("bluetooth")


async def test_the_watcher_reports_each_plug_and_unplug_once(tmp_path: Path) -> None:
    jack = AlsaJack("Device", amixer=str(fake_amixer(tmp_path)))
    seen: list[bool] = []
    watcher = JackWatcher(jack, seen.append, interval=0.02)
    await watcher.start()
    try:
        for state, expected in (("on", [True]), ("off", [True, False]), ("on", [True, False, True])):
            (tmp_path / "jack").write_text(state, encoding="utf-8")
            for _ in range(200):
                if seen == expected:
                    break
                await asyncio.sleep(0.02)
            assert seen == expected
    finally:
        await watcher.stop()


async def test_a_failing_source_is_logged_once_and_watched_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    jack = AlsaJack("Nope", amixer=str(fake_amixer(tmp_path)))
    watcher = JackWatcher(jack, lambda _plugged: None, interval=0.01)
    calls = tmp_path / "calls"
    await watcher.start()
    for _ in range(500):  # bounded: tried again and again
        if calls.exists() and len(calls.read_text().splitlines()) >= 3:
            break
        await asyncio.sleep(0.02)
    await watcher.stop()
    assert len(calls.read_text().splitlines()) >= 3
    said = (
        "headset sensing: sound card 'Nope': Invalid card number. "
        "(aplay -l lists the cards; [speech] jack_card)"
    )
    assert [r.message for r in caplog.records].count(said) == 1
