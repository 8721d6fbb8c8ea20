"""What the patron hears: the screen read phrase by phrase, paused and resumed with the keypad, through the
headset while one is plugged in (and started by plugging it in), and the receipt read aloud on request.
With the recording speaker (speaking takes time, so a pause has something to cut), on the asyncio loop."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest

from drivers.speech import EspeakSpeaker, SimulatedSpeaker
from kiosk.core import Action, ItemRow, RowState, Screen, ScreenName, Text
from ui.keyboard import KeyboardNavigator, KeyTargets
from ui.reader import ScreenReader

DONE = ItemRow("1", "Bákčasa gáfe", RowState.DONE, Text.of("row.borrowed", date="2026-12-13"))
REFUSED = ItemRow("2", "Referanse", RowState.REFUSED, Text.of("refusal.item_not_for_loan", ils="Ref."))
RECEIPT = Screen(
    ScreenName.RECEIPT, "nb", Text("receipt.heading"), None, (DONE, REFUSED), (Action.PRINT_RECEIPT,)
)
MENU = Screen(ScreenName.MENU, "nb", Text("menu.heading"), None, (), (Action.BORROW, Action.FINISH))


def reader_with(speaker: SimulatedSpeaker) -> ScreenReader:
    return ScreenReader(speaker, asyncio.ensure_future)


async def settle(reader: ScreenReader, rounds: int = 400) -> None:
    for _ in range(rounds):  # bounded
        if not reader.speaking:
            return
        await asyncio.sleep(0.01)


async def test_the_pause_key_stops_at_once_and_again_goes_on_from_the_phrase_it_cut() -> None:
    speaker = SimulatedSpeaker(seconds_per_char=0.01)
    reader = reader_with(speaker)
    keys = KeyboardNavigator(
        KeyTargets(lambda: [], lambda: None, lambda: None, pause=lambda: reader.pause_or_resume(MENU))
    )
    reader.start(MENU)
    await asyncio.sleep(0.05)  # into the first phrase, "Hva vil du gjøre?"
    assert keys.key(267)  # keypad /
    await asyncio.sleep(0.3)
    assert reader.paused and speaker.interrupted == 1
    paused_at = len(speaker.said)
    assert keys.key(267)  # again: go on
    await settle(reader)
    resumed = [s.text for s in speaker.said[paused_at:]]
    assert resumed[0] == speaker.said[paused_at - 1].text  # the cut phrase again, not the screen's start
    assert resumed[-1] == "Lån, Avslutt."
    assert keys.key(19)  # Pause, with nothing left to say: the screen again, from its start
    await settle(reader)
    assert speaker.said[-1].text == "Lån, Avslutt."


async def test_plugging_a_headset_in_reads_the_screen_through_it_and_pulling_it_out_stops() -> None:
    speaker = SimulatedSpeaker(seconds_per_char=0.002)
    reader = reader_with(speaker)
    reader.headset_changed(True, MENU)
    await settle(reader)
    assert reader.active and speaker.said and all(s.headset for s in speaker.said)
    reader.shown(RECEIPT)  # speech follows the next screen, still through the headset
    await settle(reader)
    assert "Vil du ha kvittering?" in [s.text for s in speaker.said if s.headset]
    reader.headset_changed(False, RECEIPT)
    assert not reader.active and not reader.speaking and not speaker.headset
    count = len(speaker.said)
    reader.shown(MENU)
    await asyncio.sleep(0.05)
    assert len(speaker.said) == count  # nothing read out to the room after the headset is pulled out


async def test_without_speak_on_headset_plugging_in_only_moves_speech_to_the_headset() -> None:
    speaker = SimulatedSpeaker()
    reader = reader_with(speaker)
    reader.speak_on_headset = False
    reader.headset_changed(True, MENU)
    await asyncio.sleep(0.05)
    assert speaker.said == [] and speaker.headset
    reader.start(MENU)  # the Read aloud button
    await settle(reader)
    assert speaker.said and all(s.headset for s in speaker.said)


async def test_a_session_ends_with_the_headset_still_in_speech_stays_on_for_the_next_screen() -> None:
    speaker = SimulatedSpeaker()
    reader = reader_with(speaker)
    reader.headset_changed(True, MENU)
    reader.end_of_session()
    assert reader.active and speaker.volume == 0.7
    reader.speak_on_headset = False
    reader.end_of_session()
    assert not reader.active


async def test_the_receipt_is_read_aloud_on_request_with_what_was_done() -> None:
    speaker = SimulatedSpeaker()
    reader = reader_with(speaker)
    reader.keep_receipt(RECEIPT)
    reader.read_receipt("nb")
    await settle(reader)
    assert [s.text for s in speaker.said] == ["Kvittering", "Bákčasa gáfe: Lånt. Leveres 13. desember 2026"]
    reader.end_of_session()
    assert reader.receipt == ()  # nothing of this visit for the next patron


async def test_espeak_speaks_through_the_headset_player_while_one_is_plugged_in(tmp_path: Path) -> None:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")

    def player(name: str) -> list[str]:
        code = "import sys, shutil; shutil.copyfileobj(sys.stdin.buffer, open(sys.argv[1], 'ab'))"
        return [sys.executable, "-c", code, str(tmp_path / name)]

    speaker = EspeakSpeaker(player=player("loudspeaker"), headset_player=player("headset"))
    await speaker.speak("Lån.", "nb")
    speaker.route(True)
    await speaker.speak("Lever.", "nb")
    speaker.route(False)
    await speaker.speak("Avslutt.", "nb")
    loud, head = (tmp_path / "loudspeaker").read_bytes(), (tmp_path / "headset").read_bytes()
    assert loud.count(b"RIFF") == 2 and head.count(b"RIFF") == 1
