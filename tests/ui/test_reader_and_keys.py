"""What is spoken for a screen, the sounds for rows, and what each key does (no window needed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drivers.speech import Tone
from kiosk.core import Action, ItemRow, RowState, Screen, ScreenName, Text
from ui.keyboard import KeyboardNavigator, KeyTargets
from ui.reader import phrases, row_sounds


def _borrow(*rows: ItemRow, message: Text | None = None) -> Screen:
    return Screen(ScreenName.BORROW, "nb", Text("borrow.heading"), message, rows, (Action.FINISH,))


DONE = ItemRow("1", "Bákčasa gáfe", RowState.DONE, Text.of("row.borrowed", date="2026-12-13"))
REFUSED = ItemRow(
    "2", "Referanse", RowState.REFUSED, Text.of("refusal.item_not_for_loan", ils="Referanseverk")
)


def test_a_screen_is_read_in_order_with_the_librarys_words_apart() -> None:
    said = phrases(_borrow(DONE, REFUSED))
    assert said[0] == "Lån"
    assert "1 ferdig. 1 trenger deg: se nedenfor." in said
    assert "Bákčasa gáfe: Lånt. Leveres 13. desember 2026" in said
    assert "Referanse: Ikke lånt: dette kan ikke lånes ut." in said
    assert "Melding fra bibliotekssystemet: Referanseverk" in said
    assert said[-1] == "Avslutt."


def test_an_item_done_and_an_item_refused_sound_different_once() -> None:
    before = _borrow(ItemRow("1", "Bákčasa gáfe", RowState.WORKING, Text("row.working")))
    now = _borrow(DONE, REFUSED)
    assert row_sounds(before, now) == [Tone.DONE, Tone.PROBLEM]
    assert row_sounds(now, now) == []


def test_an_error_message_gets_the_problem_sound() -> None:
    pin = Screen(ScreenName.PIN, "nb", Text("pin.heading"), Text.of("pin.wrong", left=2))
    assert row_sounds(None, pin) == [Tone.PROBLEM]


@dataclass
class FakeButton:
    ref: str
    focused: bool = False
    pressed: int = 0

    def activate(self) -> None:
        self.pressed += 1

    def get_root_window(self) -> object:
        return object()


class FakeKeypad:
    def __init__(self) -> None:
        self.keys: list[str] = []

    def press(self, key: str) -> None:
        self.keys.append(key)


def _navigator(buttons: list[FakeButton], keypad: Any = None) -> tuple[KeyboardNavigator, list[str]]:
    spoken: list[str] = []
    targets = KeyTargets(lambda: buttons, lambda: keypad, lambda: spoken.append("again"))
    return KeyboardNavigator(targets), spoken  # type: ignore[arg-type]


def test_tab_and_arrows_move_the_focus_and_enter_presses() -> None:
    a, b = FakeButton("action:borrow"), FakeButton("action:return")
    keys, _ = _navigator([a, b])
    keys.key(9)
    assert a.focused and not b.focused
    keys.key(274)  # down
    assert b.focused and not a.focused
    keys.key(9, ["shift"])
    assert a.focused
    keys.key(13)
    assert a.pressed == 1


def test_both_keypad_layouts_type_the_printed_digits_and_enter_is_ok() -> None:
    keypad = FakeKeypad()
    keys, _ = _navigator([], keypad)
    for code in (263, 55, 257, 49, 8, 271):  # keypad 7, 7, keypad 1, 1, Backspace, keypad Enter
        keys.key(code)
    assert keypad.keys == ["7", "7", "1", "1", "erase", "ok"]


def test_the_speech_key_repeats_the_screen() -> None:
    keys, spoken = _navigator([])
    assert keys.key(282) and keys.key(268)  # F1, keypad *
    assert spoken == ["again", "again"]
    assert not keys.key(65)  # a letter is not ours


async def test_keypad_plus_and_minus_change_the_volume_for_the_session() -> None:
    from drivers.speech import SimulatedSpeaker
    from ui.reader import ScreenReader

    speaker = SimulatedSpeaker()
    reader = ScreenReader(speaker, lambda awaitable: awaitable.close())
    keys = KeyboardNavigator(KeyTargets(lambda: [], lambda: None, lambda: None, reader.change_volume))
    keys.key(270)  # keypad +
    keys.key(270)
    assert speaker.volume == 0.9
    for _ in range(20):
        keys.key(269)  # keypad -
    assert speaker.volume == 0.1  # never silent by accident
    reader.end_of_session()
    assert speaker.volume == 0.7
