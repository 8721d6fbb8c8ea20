"""Reusable widgets: big buttons, item rows with state badges, keypad, flags, and the staff screen's parts.

Every interactive widget carries a `ref` string ("action:borrow", "key:7", "lang:se", "demo:place_card") so
tests and accessibility tooling can find it without depending on the translated label.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.clock import Clock
from kivy.graphics import Color, Ellipse, Line, Rectangle
from kivy.properties import ListProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from kiosk.core import ItemRow
from ui.text import tr, tr_optional
from ui.theme import RGBA, Theme


def paint_background(widget: Widget, color: RGBA, border: RGBA | None = None, width: float = 2.0) -> None:
    """Fill a widget's rectangle (and optionally outline it), following its pos and size."""
    with widget.canvas.before:
        Color(*color)
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


class TextLabel(Label):
    """A label that wraps to its width and grows to its text's height (or fills, when `fill=True`)."""

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
            self.bind(width=lambda *_: setattr(self, "text_size", (self.width, None)))
            self.bind(texture_size=lambda *_: setattr(self, "height", self.texture_size[1]))


class KioskButton(Button):
    """A large, bordered touch target. `primary` buttons are filled, the others outlined."""

    ref = StringProperty("")

    def __init__(
        self,
        theme: Theme,
        text: str,
        on_activate: Callable[[], object],
        ref: str = "",
        primary: bool = True,
        font_size: int | None = None,
        **kwargs: object,
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
        self.ref = ref
        self._on_activate = on_activate
        self.bind(size=lambda *_: setattr(self, "text_size", (self.width - 24, self.height - 12)))
        with self.canvas.after:
            Color(*theme.border)
            self._outline = Line(rectangle=(*self.pos, *self.size), width=theme.border_width)
        self.bind(pos=self._redraw, size=self._redraw)

    def _redraw(self, *_: object) -> None:
        self._outline.rectangle = (self.x + 1, self.y + 1, self.width - 2, self.height - 2)

    def on_state(self, _instance: object, state: str) -> None:
        t = self._theme
        if state == "down":
            self.background_color = t.primary_pressed if self._primary else t.secondary_pressed
        else:
            self.background_color = t.primary_bg if self._primary else t.secondary_bg

    def on_release(self) -> None:
        self._on_activate()


class StateBadge(BoxLayout):
    """Icon + word on a coloured block: the row's state readable without colour vision."""

    def __init__(self, theme: Theme, state: str, word: str, **kwargs: object) -> None:
        super().__init__(orientation="horizontal", padding=(12, 6), spacing=8, **kwargs)
        bg, fg, icon = theme.state_style(state)
        paint_background(self, bg)
        self.add_widget(
            Label(
                text=icon,
                font_name=theme.font,
                font_size=theme.font_heading,
                color=fg,
                size_hint_x=None,
                width=56,
            )
        )
        self.add_widget(TextLabel(theme, word, size=theme.font_body, color=fg, bold=True, fill=True))


class ItemRowWidget(BoxLayout):
    """One item on its own row: state badge | title and item id | what happened (due date, where it goes)."""

    ref = StringProperty("")
    state = StringProperty("")
    row_text = StringProperty("")
    title = StringProperty("")

    def __init__(self, theme: Theme, row: ItemRow, language: str, **kwargs: object) -> None:
        super().__init__(
            orientation="horizontal",
            size_hint_y=None,
            height=theme.row_height,
            spacing=theme.spacing,
            padding=(0, 0, theme.spacing, 0),
            **kwargs,
        )
        paint_background(self, theme.row_bg, theme.row_border, 1.5)
        self.ref = f"row:{row.item_id}"
        self.state = str(row.state)
        self.title = row.title
        self.row_text = tr(row.text, language)
        self.add_widget(
            StateBadge(
                theme,
                str(row.state),
                tr_optional(f"row.state.{row.state}", language),
                size_hint_x=None,
                width=theme.badge_width,
            )
        )
        middle = BoxLayout(orientation="vertical", padding=(0, 10))
        middle.add_widget(
            TextLabel(
                theme,
                row.title,
                size=theme.font_body,
                bold=True,
                fill=True,
                shorten=True,
                shorten_from="right",
            )
        )
        middle.add_widget(
            TextLabel(
                theme, row.item_id, size=theme.font_small, color=theme.muted_text, fill=True, size_hint_y=0.6
            )
        )
        self.add_widget(middle)
        self.add_widget(
            TextLabel(theme, self.row_text, size=theme.font_body, fill=True, size_hint_x=0.55, halign="right")
        )


class Keypad(GridLayout):
    """Digits 1-9, erase, 0, OK. Keeps the typed digits; `masked` shows dots instead of digits."""

    digits = StringProperty("")

    def __init__(
        self,
        theme: Theme,
        language: str,
        on_ok: Callable[[str], object],
        max_length: int = 20,
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
        self._max = max_length
        for key in ("1", "2", "3", "4", "5", "6", "7", "8", "9", "erase", "0", "ok"):
            if key == "erase":
                label, primary, size = "⌫ " + tr("pin.erase", language), False, theme.font_small
            elif key == "ok":
                label, primary, size = tr("pin.ok", language), True, theme.font_button
            else:
                label, primary, size = key, False, theme.font_key
            self.add_widget(
                KioskButton(
                    theme,
                    label,
                    lambda k=key: self.press(k),
                    ref=f"key:{key}",
                    primary=primary,
                    font_size=size,
                    height=theme.key_size,
                )
            )

    def press(self, key: str) -> None:
        if key == "erase":
            self.digits = self.digits[:-1]
        elif key == "ok":
            if self.digits:
                self._on_ok(self.digits)
        elif len(self.digits) < self._max:
            self.digits += key


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
            height=int(theme.key_size * 0.85),
            **kwargs,
        )
        self.masked = masked
        paint_background(self, theme.background, theme.border, theme.border_width)
        self.bind(value=self._show)

    def _show(self, *_: object) -> None:
        self.text = " ".join("●" for _ in self.value) if self.masked else self.value


class Flag(Widget):
    """A small flag drawn with canvas instructions (no image files to ship or license)."""

    kind = StringProperty("")
    colors = ListProperty()

    def __init__(self, kind: str, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.kind = kind
        self.bind(pos=self._draw, size=self._draw)

    def _draw(self, *_: object) -> None:
        x, y, w, h = self.x, self.y, self.width, self.height
        c = self.canvas
        c.clear()
        red, white, blue = (0.73, 0.05, 0.18, 1), (1, 1, 1, 1), (0, 0.13, 0.36, 1)
        with c:
            if self.kind in ("no", "fi", "se"):
                bg, cross, inner = {
                    "no": (red, white, blue),
                    "fi": (white, (0, 0.21, 0.5, 1), None),
                    "se": ((0, 0.42, 0.66, 1), (1, 0.8, 0, 1), None),
                }[self.kind]
                Color(*bg)
                Rectangle(pos=(x, y), size=(w, h))
                cx, t = x + w * 0.36, h * (0.25 if self.kind == "no" else 0.22)
                Color(*cross)
                Rectangle(pos=(cx - t / 2, y), size=(t, h))
                Rectangle(pos=(x, y + h / 2 - t / 2), size=(w, t))
                if inner:
                    Color(*inner)
                    t2 = t / 2
                    Rectangle(pos=(cx - t2 / 2, y), size=(t2, h))
                    Rectangle(pos=(x, y + h / 2 - t2 / 2), size=(w, t2))
            elif self.kind == "sami":
                # red | green | yellow | blue, circle half blue (over red) half red (over blue)
                Color(0.84, 0.0, 0.0, 1)
                Rectangle(pos=(x, y), size=(w * 0.36, h))
                Color(0.0, 0.48, 0.2, 1)
                Rectangle(pos=(x + w * 0.36, y), size=(w * 0.07, h))
                Color(1.0, 0.8, 0.0, 1)
                Rectangle(pos=(x + w * 0.43, y), size=(w * 0.07, h))
                Color(0.0, 0.22, 0.6, 1)
                Rectangle(pos=(x + w * 0.5, y), size=(w * 0.5, h))
                d = h * 0.56
                cx, cy = x + w * 0.43, y + h / 2
                Color(0.0, 0.22, 0.6, 1)
                Ellipse(pos=(cx - d / 2, cy - d / 2), size=(d, d), angle_start=180, angle_end=360)
                Color(0.84, 0.0, 0.0, 1)
                Ellipse(pos=(cx - d / 2, cy - d / 2), size=(d, d), angle_start=0, angle_end=180)
            elif self.kind == "kven":
                # blue, white, yellow horizontal bands with a sun
                Color(0.0, 0.27, 0.55, 1)
                Rectangle(pos=(x, y + h * 2 / 3), size=(w, h / 3))
                Color(*white)
                Rectangle(pos=(x, y + h / 3), size=(w, h / 3))
                Color(1.0, 0.78, 0.0, 1)
                Rectangle(pos=(x, y), size=(w, h / 3))
                d = h * 0.42
                Ellipse(pos=(x + w / 2 - d / 2, y + h / 2 - d / 2), size=(d, d))
            elif self.kind == "ru":
                for i, col in enumerate((red, blue, white)):
                    Color(*col)
                    Rectangle(pos=(x, y + h * i / 3), size=(w, h / 3))
            elif self.kind == "gb":
                Color(0.0, 0.14, 0.49, 1)
                Rectangle(pos=(x, y), size=(w, h))
                Color(*white)
                Line(points=[x, y, x + w, y + h], width=h * 0.1)
                Line(points=[x, y + h, x + w, y], width=h * 0.1)
                Color(0.78, 0.06, 0.18, 1)
                Line(points=[x, y, x + w, y + h], width=h * 0.035)
                Line(points=[x, y + h, x + w, y], width=h * 0.035)
                Color(*white)
                Rectangle(pos=(x + w / 2 - h * 0.17, y), size=(h * 0.34, h))
                Rectangle(pos=(x, y + h * 0.33), size=(w, h * 0.34))
                Color(0.78, 0.06, 0.18, 1)
                Rectangle(pos=(x + w / 2 - h * 0.1, y), size=(h * 0.2, h))
                Rectangle(pos=(x, y + h * 0.4), size=(w, h * 0.2))
            Color(0.3, 0.3, 0.3, 1)
            Line(rectangle=(x, y, w, h), width=1)


class LanguageButton(KioskButton):
    """Flag + the language's own name. The current language is shown filled and with a check mark."""

    def __init__(
        self,
        theme: Theme,
        code: str,
        name: str,
        flag: str,
        current: bool,
        on_activate: Callable[[], object],
        **kwargs: object,
    ) -> None:
        super().__init__(theme, "", on_activate, ref=f"lang:{code}", primary=current, **kwargs)
        fg = theme.primary_text if current else theme.secondary_text
        self._inner = BoxLayout(orientation="horizontal", padding=(16, 0, 8, 0), spacing=14)
        self._inner.add_widget(Flag(flag, size_hint=(None, None), size=(60, 40), pos_hint={"center_y": 0.5}))
        self._inner.add_widget(
            TextLabel(
                theme,
                ("✔ " if current else "") + name,
                size=theme.font_small,
                color=fg,
                bold=current,
                fill=True,
            )
        )
        self.add_widget(self._inner)
        self.bind(pos=self._place, size=self._place)

    def _place(self, *_: object) -> None:
        self._inner.pos = self.pos
        self._inner.size = self.size


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
            # the pad, with its "waves"
            Color(*t.row_border)
            Rectangle(pos=(x0, y0 + w * 0.05), size=(w, w * 0.14))
            Color(*t.header_bg)
            for i, r in enumerate((0.10, 0.16, 0.22)):
                Line(
                    ellipse=(self.center_x - w * r, y0 + w * 0.19 - w * r * 0.5, w * r * 2, w * r, 300, 420),
                    width=2.5 - i * 0.5,
                )
            # the card
            cw, ch = w * 0.5, w * 0.32
            cx, cy = self.center_x - cw / 2, y0 + w * 0.42
            Color(*t.background)
            Rectangle(pos=(cx, cy), size=(cw, ch))
            Color(*t.header_bg)
            Line(rectangle=(cx, cy, cw, ch), width=3)
            Rectangle(pos=(cx, cy + ch * 0.68), size=(cw, ch * 0.14))
            Rectangle(pos=(cx + cw * 0.08, cy + ch * 0.18), size=(cw * 0.3, ch * 0.3))
            # the arrow down
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


class StaffFigure(BoxLayout):
    """One figure on the staff screen: a caption and a big value ("Waiting to be sent" / "3"), on an
    attention colour (and with the attention icon) when staff should act on it."""

    ref = StringProperty("")
    value = StringProperty("")
    alert = False

    def __init__(self, theme: Theme, caption: str, ref: str, **kwargs: object) -> None:
        super().__init__(orientation="vertical", padding=(16, 10), spacing=4, **kwargs)
        self._theme = theme
        self.ref = ref
        with self.canvas.before:
            self._bg = Color(*theme.row_bg)
            rect = Rectangle(pos=self.pos, size=self.size)
            Color(*theme.row_border)
            line = Line(rectangle=(*self.pos, *self.size), width=1.5)

        def place(*_: object) -> None:
            rect.pos, rect.size = self.pos, self.size
            line.rectangle = (self.x + 1, self.y + 1, self.width - 2, self.height - 2)

        self.bind(pos=place, size=place)
        self._caption = TextLabel(theme, caption, size=theme.font_small, fill=True, size_hint_y=0.4)
        self._value = TextLabel(theme, "", size=theme.font_heading, bold=True, fill=True)
        self.add_widget(self._caption)
        self.add_widget(self._value)

    def show(self, value: str, alert: bool = False) -> None:
        t = self._theme
        bg, fg, icon = t.state_attention if alert else (t.row_bg, t.text, "")
        self.value = value
        self.alert = alert
        self._value.text = f"{icon} {value}" if icon else value
        self._bg.rgba = bg
        self._caption.color = fg
        self._value.color = fg


class ConflictRowWidget(BoxLayout):
    """A conflict on the staff screen: what was tried, on which item, and why the library system said no."""

    ref = StringProperty("")
    item_id = StringProperty("")
    reason = StringProperty("")

    def __init__(
        self, theme: Theme, item_id: str, what: str, reason: str, ref: str, **kwargs: object
    ) -> None:
        super().__init__(
            orientation="horizontal",
            size_hint_y=None,
            height=int(theme.row_height * 0.7),
            spacing=theme.spacing,
            padding=(theme.spacing, 0),
            **kwargs,
        )
        paint_background(self, theme.row_bg, theme.row_border, 1.5)
        self.ref = ref
        self.item_id = item_id
        self.reason = reason
        self.add_widget(TextLabel(theme, what, size=theme.font_small, bold=True, fill=True, size_hint_x=0.22))
        self.add_widget(TextLabel(theme, item_id, size=theme.font_body, fill=True, size_hint_x=0.33))
        self.add_widget(
            TextLabel(
                theme,
                reason,
                size=theme.font_small,
                fill=True,
                shorten=True,
                shorten_from="right",
                size_hint_x=0.45,
            )
        )
