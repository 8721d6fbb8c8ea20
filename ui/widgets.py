"""Reusable widgets: text that grows to fit, big buttons with a visible keyboard focus, keypad, language
buttons (the language's own name, no flag: a flag is a country, not a language), pictogram, hold area.

Every interactive widget carries a `ref` string ("action:borrow", "key:7", "lang:se", "demo:place_card") so
tests and accessibility tooling can find it without depending on the translated label.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from kivy.clock import Clock
from kivy.graphics import Color, Line, Rectangle
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from ui.text import tr
from ui.theme import RGBA, Theme


def paint_background(widget: Widget, color: RGBA, border: RGBA | None = None, width: float = 2.0) -> Color:
    """Fill a widget's rectangle (and optionally outline it), following its pos and size; returns the
    fill's Color so its rgba can be changed later."""
    with widget.canvas.before:
        fill = Color(*color)
        rect = Rectangle(pos=widget.pos, size=widget.size)
        if border is not None:
            Color(*border)
            line = Line(rectangle=(*widget.pos, *widget.size), width=width)
        else:
            line = None

    def update(*_: object) -> None:
        rect.pos = widget.pos
        rect.size = widget.size
        if line is not None:
            line.rectangle = (
                widget.x + width / 2,
                widget.y + width / 2,
                widget.width - width,
                widget.height - width,
            )

    widget.bind(pos=update, size=update)
    return fill


def text_width(theme: Theme, text: str, size: int, bold: bool = False) -> int:
    """The width of `text` on one line in the theme's font (to size a box so a word never breaks)."""
    return _text_width(theme.font, text, size, bold)


@functools.lru_cache(maxsize=4096)
def _text_width(font: str, text: str, size: int, bold: bool) -> int:
    """Measured once per font, text, size and weight: the words measured are the UI's own (buttons, state
    words, language names), a few hundred, and measuring renders a texture each time."""
    from kivy.core.text import Label as CoreLabel

    label = CoreLabel(text=text, font_name=font, font_size=size, bold=bold)
    label.refresh()
    return int(label.texture.size[0]) if label.texture is not None else 0


class TextLabel(Label):
    """A label that wraps at spaces to its width and grows to its text's height (or fills its box, when
    `fill=True`: then the layout must give it room, which the overflow tests check)."""

    def __init__(
        self,
        theme: Theme,
        text: str = "",
        size: int | None = None,
        color: RGBA | None = None,
        bold: bool = False,
        halign: str = "left",
        valign: str = "middle",
        fill: bool = False,
        **kwargs: object,
    ) -> None:
        super().__init__(
            text=text,
            font_name=theme.font,
            font_size=size or theme.font_body,
            color=color or theme.text,
            bold=bold,
            halign=halign,
            valign=valign,
            **kwargs,
        )
        if fill:
            self.bind(size=lambda *_: setattr(self, "text_size", self.size))
        else:
            self.size_hint_y = None
            self.height = 0 if not text else self.font_size * 1.3
            self.bind(width=lambda *_: setattr(self, "text_size", (self.width, None)))
            self.bind(
                texture_size=lambda *_: setattr(self, "height", self.texture_size[1] if self.text else 0)
            )


class KioskButton(Button):
    """A large, bordered touch target that grows to its (wrapped) label. `primary` buttons are filled, the
    others outlined. `focused` draws the keyboard focus ring; Enter or Space activates it."""

    ref = StringProperty("")
    focused = BooleanProperty(False)
    min_height = NumericProperty(0)

    def __init__(
        self,
        theme: Theme,
        text: str,
        on_activate: Callable[[], object],
        ref: str = "",
        primary: bool = True,
        font_size: int | None = None,
        pad: int | None = None,
        **kwargs: Any,
    ) -> None:
        self._theme = theme
        self._primary = primary
        bg, fg = (
            (theme.primary_bg, theme.primary_text) if primary else (theme.secondary_bg, theme.secondary_text)
        )
        kwargs.setdefault("size_hint_y", None)
        kwargs.setdefault("height", theme.button_height)
        kwargs.setdefault("halign", "center")
        super().__init__(
            text=text,
            font_name=theme.font,
            font_size=font_size or theme.font_button,
            background_normal="",
            background_down="",
            background_color=bg,
            color=fg,
            valign="middle",
            bold=True,
            **kwargs,
        )
        self.min_height = self.height
        self.ref = ref
        self._on_activate = on_activate
        self._pad = theme.spacing if pad is None else pad
        self.bind(width=self._wrap, texture_size=self._grow)
        self._wrap()
        with self.canvas.after:
            Color(*theme.border)
            self._outline = Line(rectangle=(*self.pos, *self.size), width=theme.border_width)
            self._focus_color = Color(*theme.focus[:3], 0)
            self._focus = Line(rectangle=(*self.pos, *self.size), width=theme.focus_width)
        self.bind(pos=self._redraw, size=self._redraw, focused=self._redraw)

    def _wrap(self, *_: object) -> None:
        self.text_size = (max(1, self.width - 2 * self._pad), None)

    def _grow(self, *_: object) -> None:
        if self.size_hint_y is None:
            self.height = max(self.min_height, self.texture_size[1] + self._pad * 2)

    def _redraw(self, *_: object) -> None:
        self._outline.rectangle = (self.x + 1, self.y + 1, self.width - 2, self.height - 2)
        inset = self._theme.focus_width
        self._focus.rectangle = (
            self.x + inset,
            self.y + inset,
            self.width - 2 * inset,
            self.height - 2 * inset,
        )
        self._focus_color.a = 1 if self.focused else 0

    def on_state(self, _instance: object, state: str) -> None:
        t = self._theme
        if state == "down":
            self.background_color = t.primary_pressed if self._primary else t.secondary_pressed
        else:
            self.background_color = t.primary_bg if self._primary else t.secondary_bg

    def on_release(self) -> None:
        self._on_activate()

    def activate(self) -> None:
        """What a keyboard's Enter does: the same as a touch."""
        self._on_activate()


class StateBadge(BoxLayout):
    """Icon + word on a coloured block: the row's state readable without colour vision."""

    def __init__(self, theme: Theme, state: str, word: str, **kwargs: object) -> None:
        super().__init__(orientation="vertical", padding=(theme.spacing, theme.spacing // 2), **kwargs)
        bg, fg, icon = theme.state_style(state)
        paint_background(self, bg)
        self.add_widget(TextLabel(theme, icon, size=theme.font_heading, color=fg, halign="center"))
        self.add_widget(TextLabel(theme, word, size=theme.font_small, color=fg, bold=True, halign="center"))
        self.add_widget(Widget())


class Keypad(GridLayout):
    """Digits 1-9, erase, 0, OK (the telephone layout on screen; a USB keypad of either layout types the
    same digits). Keeps the typed digits; each key press calls `on_key` (a tone for PIN digits)."""

    digits = StringProperty("")

    def __init__(
        self,
        theme: Theme,
        language: str,
        on_ok: Callable[[str], object],
        max_length: int = 20,
        on_key: Callable[[], object] | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(
            cols=3,
            spacing=theme.spacing // 2,
            size_hint=(None, None),
            width=theme.key_size * 3 + theme.spacing,
            height=theme.key_size * 4 + theme.spacing * 3 // 2,
            **kwargs,
        )
        self._on_ok = on_ok
        self._on_key = on_key
        self._max = max_length
        for key in ("1", "2", "3", "4", "5", "6", "7", "8", "9", "erase", "0", "ok"):
            if key == "erase":
                label, primary, size = "⌫", False, theme.font_key
            elif key == "ok":
                label, primary, size = tr("pin.ok", language), True, theme.font_button
            else:
                label, primary, size = key, False, theme.font_key
            button = KioskButton(
                theme,
                label,
                lambda k=key: self.press(k),
                ref=f"key:{key}",
                primary=primary,
                font_size=size,
                height=theme.key_size,
                pad=2,
            )
            if key == "erase":
                button.accessible_name = tr("pin.erase", language)
            self.add_widget(button)

    def press(self, key: str) -> None:
        if key == "erase":
            self.digits = self.digits[:-1]
        elif key == "ok":
            if self.digits:
                self._on_ok(self.digits)
        elif len(self.digits) < self._max:
            self.digits += key
        if self._on_key is not None and key != "ok":
            self._on_key()


class EntryDisplay(Label):
    """Shows what was typed on a keypad, as dots for a PIN."""

    value = StringProperty("")
    masked = False

    def __init__(self, theme: Theme, masked: bool, **kwargs: object) -> None:
        super().__init__(
            font_name=theme.font,
            font_size=theme.font_key,
            color=theme.text,
            size_hint_y=None,
            height=int(theme.key_size * 0.9),
            **kwargs,
        )
        self.masked = masked
        paint_background(self, theme.background, theme.border, theme.border_width)
        self.bind(value=self._show)

    def _show(self, *_: object) -> None:
        self.text = " ".join("●" for _ in self.value) if self.masked else self.value


class LanguageButton(KioskButton):
    """The language's own name; the current language is filled and has a check mark."""

    def __init__(
        self,
        theme: Theme,
        code: str,
        name: str,
        current: bool,
        on_activate: Callable[[], object],
        **kwargs: Any,
    ) -> None:
        super().__init__(
            theme,
            ("✔ " if current else "") + name,
            on_activate,
            ref=f"lang:{code}",
            primary=current,
            font_size=theme.font_small,
            **kwargs,
        )


class CardOnPadPictogram(Widget):
    """A card going down onto the pad: the instruction as a picture, for those who do not read it."""

    def __init__(self, theme: Theme, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._theme = theme
        self.bind(pos=self._draw, size=self._draw)

    def _draw(self, *_: object) -> None:
        t = self._theme
        w = min(self.width, self.height * 1.3)
        x0, y0 = self.center_x - w / 2, self.y
        self.canvas.clear()
        with self.canvas:
            Color(*t.row_border)
            Rectangle(pos=(x0, y0 + w * 0.05), size=(w, w * 0.14))
            Color(*t.header_bg)
            for i, r in enumerate((0.10, 0.16, 0.22)):
                Line(
                    ellipse=(self.center_x - w * r, y0 + w * 0.19 - w * r * 0.5, w * r * 2, w * r, 300, 420),
                    width=2.5 - i * 0.5,
                )
            cw, ch = w * 0.5, w * 0.32
            cx, cy = self.center_x - cw / 2, y0 + w * 0.42
            Color(*t.background)
            Rectangle(pos=(cx, cy), size=(cw, ch))
            Color(*t.header_bg)
            Line(rectangle=(cx, cy, cw, ch), width=3)
            Rectangle(pos=(cx, cy + ch * 0.68), size=(cw, ch * 0.14))
            Rectangle(pos=(cx + cw * 0.08, cy + ch * 0.18), size=(cw * 0.3, ch * 0.3))
            ax = self.center_x + cw * 0.72
            Line(points=[ax, cy + ch, ax, cy + ch * 0.05], width=4)
            Line(
                points=[ax - 18, cy + ch * 0.05 + 22, ax, cy + ch * 0.05, ax + 18, cy + ch * 0.05 + 22],
                width=4,
            )


class HoldArea(BoxLayout):
    """A layout that also answers a long press: holding it `hold_time` seconds calls `on_hold` (while the
    finger is still down). Patrons tap; a deliberate hold on the header is how staff open their screen."""

    ref = StringProperty("")

    def __init__(
        self, hold_time: float, on_hold: Callable[[], object], ref: str = "", **kwargs: object
    ) -> None:
        super().__init__(**kwargs)
        self.ref = ref
        self.hold_time = hold_time
        self._on_hold = on_hold
        self._waiting: Any = None  # the scheduled ClockEvent while a finger is down

    def on_touch_down(self, touch: Any) -> bool:
        if self.collide_point(*touch.pos) and self._waiting is None:
            self._waiting = Clock.schedule_once(self._held, self.hold_time)
        return bool(super().on_touch_down(touch))

    def on_touch_up(self, touch: Any) -> bool:
        self.cancel_hold()
        return bool(super().on_touch_up(touch))

    def cancel_hold(self) -> None:
        if self._waiting is not None:
            self._waiting.cancel()
            self._waiting = None

    def _held(self, *_: object) -> None:
        self._waiting = None
        self._on_hold()
