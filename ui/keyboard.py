"""A hardware keyboard or USB numeric keypad does everything a finger does (EN 301 549 5.1.6).

Digits type into the screen's keypad (card number, PIN); Backspace erases; Enter presses OK on a keypad
screen, else the focused button. Tab / Shift+Tab and the arrow keys move the focus ring between the
buttons on screen, in reading order. The speech key (F1, the keypad's `*` or `.`: the keys with a
tactile mark on common keypads are reachable without sight) reads what is on screen aloud from its start;
the pause key (the keypad's `/`, or Pause) stops speech at once and, pressed again, goes on where it
stopped; the keypad's `+` and `-` (or Page Up / Page Down) make the speech louder or softer (EN 301 549
5.1.3.11).

Telephone (1-2-3 on top) and calculator (7-8-9 on top) keypads send the same key codes for the same
printed digit, so both layouts type what their keys say; the on-screen keypad is the telephone layout.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ui.widgets import KioskButton

# Kivy key codes (SDL2): 48-57 digits, 256-265 keypad 0-9, 13 Enter, 271 keypad Enter, 8 Backspace,
# 9 Tab, 32 Space, 273-276 arrows up/down/right/left, 282 F1, 268 keypad *, 270 keypad +, 269 keypad -,
# 266 keypad ., 267 keypad /, 19 Pause, 280/281 Page Up/Down
DIGITS = {**{48 + d: str(d) for d in range(10)}, **{256 + d: str(d) for d in range(10)}}
ENTER = {13, 271}
BACKSPACE = {8}
SPACE = {32}
NEXT = {274, 275}  # down, right
PREVIOUS = {273, 276}  # up, left
TAB = 9
VOLUME_STEP = 0.1
SPEECH = {282, 268, 266}  # F1, keypad *, keypad .
PAUSE = {267, 19}  # keypad /, Pause
LOUDER = {270, 280}  # keypad +, Page Up
SOFTER = {269, 281}  # keypad -, Page Down


@dataclass
class KeyTargets:
    """What the keys act on, given by the app for the screen shown now."""

    buttons: Callable[[], Sequence[KioskButton]]  # the focusable buttons, in reading order
    keypad: Callable[[], Any]  # the screen's Keypad or None
    speak: Callable[[], object]  # repeat the screen aloud
    volume: Callable[[float], object] = lambda _step: None  # louder (+) or softer (-) by this much
    pause: Callable[[], object] = lambda: None  # pause speech, or go on where it was paused


class KeyboardNavigator:
    def __init__(self, targets: KeyTargets) -> None:
        self.targets = targets
        self.focused: KioskButton | None = None

    def reset(self) -> None:
        """A new screen: no focus until the first arrow or Tab (a touch user never sees a ring)."""
        self.focused = None

    def _move(self, step: int) -> None:
        buttons = list(self.targets.buttons())
        if not buttons:
            return
        if self.focused in buttons:
            index = (buttons.index(self.focused) + step) % len(buttons)
        else:
            index = 0 if step > 0 else len(buttons) - 1
        if self.focused is not None:
            self.focused.focused = False
        self.focused = buttons[index]
        self.focused.focused = True

    def key(self, code: int, modifiers: Sequence[str] = ()) -> bool:
        """Handle one key press; True when it was ours."""
        keypad = self.targets.keypad()
        if code in DIGITS and keypad is not None:
            keypad.press(DIGITS[code])
        elif code in BACKSPACE and keypad is not None:
            keypad.press("erase")
        elif (
            code in ENTER
            and keypad is not None
            and (self.focused is None or self.focused.ref.startswith("key:"))
        ):
            keypad.press("ok")
        elif code in ENTER or code in SPACE:
            if self.focused is None or self.focused.get_root_window() is None:
                return False
            self.focused.activate()
        elif code == TAB:
            self._move(-1 if "shift" in modifiers else 1)
        elif code in NEXT:
            self._move(1)
        elif code in PREVIOUS:
            self._move(-1)
        elif code in SPEECH:
            self.targets.speak()
        elif code in PAUSE:
            self.targets.pause()
        elif code in LOUDER or code in SOFTER:
            self.targets.volume(VOLUME_STEP if code in LOUDER else -VOLUME_STEP)
        else:
            return False
        return True
