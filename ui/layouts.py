"""One screen's body as widgets: what `kiosk.core.Screen` says, laid out for this panel (landscape or
portrait), with errors shown as errors and the library system's words shown apart."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

from kiosk.core import CARD_NUMBER_MAX_LENGTH, PIN_MAX_DIGITS, Action, Screen, ScreenName, Text
from kiosk.i18n.languages import chain
from ui.rows import ItemRowWidget, LibraryWords, RowList, summary
from ui.text import is_error, languages, library_words, tr, tr_optional
from ui.theme import Theme
from ui.widgets import (
    CardOnPadPictogram,
    EntryDisplay,
    Keypad,
    KioskButton,
    LanguageButton,
    TextLabel,
    paint_background,
    text_width,
)

TILE_SCREENS = {ScreenName.WELCOME, ScreenName.MENU}
LIST_SCREENS = {ScreenName.BORROW, ScreenName.RETURN, ScreenName.ACCOUNT, ScreenName.RECEIPT}
SECONDARY_ACTIONS = {Action.CANCEL, Action.BACK, Action.NO_RECEIPT}


@dataclass
class Callbacks:
    press: Callable[..., None]  # (action) or (action, item_id) for a row's own button
    set_language: Callable[[str], None]
    present_card: Callable[[str], None]
    enter_pin: Callable[[str], None]
    key_tone: Callable[[], None]
    typed: dict[ScreenName, str]  # keypad entry per screen, kept across re-renders


@dataclass
class RenderStats:
    """What the app built: screens rendered, bodies built whole, rows built (bench/ui.py, tests)."""

    renders: int = 0
    bodies: int = 0
    seconds: float = 0.0  # CPU time spent in KioskApp.render

    @property
    def rows_built(self) -> int:
        return ItemRowWidget.built


class BuiltBody:
    """The body on screen and what it was built from. A new screen that differs from it only in its rows
    (an item done, a new item on the pad) updates the rows in place; anything else builds the body anew."""

    def __init__(
        self, screen: Screen, theme: Theme, width: float, notice: bool, rows: RowList | None, summary: Any
    ) -> None:
        self.screen, self.theme, self.width, self.notice = screen, theme, width, notice
        self.rows, self.summary = rows, summary

    def same_body(self, screen: Screen, theme: Theme, width: float, notice: bool) -> bool:
        s = self.screen
        return (
            (screen.name, screen.language, screen.heading, screen.message, screen.details, screen.actions)
            == (s.name, s.language, s.heading, s.message, s.details, s.actions)
            and theme is self.theme
            and width == self.width
            and notice == self.notice
            and (screen.rows == s.rows or self.rows is not None)
        )

    def update(self, screen: Screen) -> None:
        if screen.rows != self.screen.rows and self.rows is not None:
            self.rows.update(screen.rows)
            if self.summary is not None:
                self.summary.text = summary(screen.rows, screen.language)
        self.screen = screen


def draft_notice(theme: Theme, language: str) -> TextLabel:
    """A draft language (se, smj, sma, sms, fkv, enabled by the library) says on every screen that its
    translation is a draft, in itself and in the language its readers also read (bokmål, or Finnish)."""
    fallback = chain(language)[1]
    words = f"✎ {tr('language.draft', language)} / {tr('language.draft', fallback)}"
    label = TextLabel(theme, words, size=theme.font_small, color=theme.muted_text, italic=True)
    label.ref = "draft-notice"
    return label


def grows(box: BoxLayout) -> BoxLayout:
    box.size_hint_y = None
    box.bind(minimum_height=box.setter("height"))
    return box


class ErrorBox(BoxLayout):
    """An error: the ✘ icon, the error colours and border, and the words."""

    def __init__(self, theme: Theme, text: str, **kwargs: Any) -> None:
        super().__init__(orientation="horizontal", spacing=theme.spacing, padding=theme.spacing, **kwargs)
        paint_background(self, theme.error_bg, theme.error_border, theme.border_width * 1.5)
        self.size_hint_y = None
        icon = TextLabel(
            theme,
            "✘",
            size=theme.font_heading,
            color=theme.error_border,
            bold=True,
            size_hint_x=None,
            width=theme.font_heading * 1.2,
            halign="center",
        )
        words = TextLabel(theme, text, size=theme.font_message, color=theme.error_text, bold=True)
        self.add_widget(icon)
        self.add_widget(words)
        self.ref = "error"
        words.bind(
            height=lambda *_: setattr(self, "height", max(icon.height, words.height) + 2 * theme.spacing)
        )


class ScreenLayout:
    """Builds the body of one screen; `keypad` is the screen's keypad, if it has one."""

    def __init__(self, theme: Theme, screen: Screen, calls: Callbacks, width: float) -> None:
        self.t, self.s, self.calls, self.width = theme, screen, calls, width
        self.keypad: Keypad | None = None
        self.rows: RowList | None = None  # the list screens' rows, updated in place while the screen stays
        self.summary = ""  # the list screens' summary line, shown on a strip that does not scroll

    def build(self) -> Widget:
        name = self.s.name
        if name is ScreenName.WELCOME:
            return self._scrolling(self._welcome())
        if name in (ScreenName.IDENTIFY, ScreenName.PIN):
            return self._scrolling(self._keypad_screen())
        if name in LIST_SCREENS:
            return self._list()
        return self._scrolling(self._centered())

    # ------------------------------------------------------------ parts

    def _scrolling(self, content: BoxLayout) -> Widget:
        """Content that scrolls when it is taller than the window (large text on a small panel)."""
        bar = max(8, self.t.spacing)
        scroll = ScrollView(do_scroll_x=False, bar_width=bar, scroll_type=["bars", "content"])
        left, top, right, bottom = content.padding
        content.padding = [left, top, right + bar + 2, bottom]  # the bar never covers a button
        scroll.add_widget(grows(content))
        return scroll

    def heading(self, into: BoxLayout, halign: str = "left") -> None:
        t, s = self.t, self.s
        into.add_widget(
            TextLabel(t, tr(s.heading, s.language), size=t.font_heading, bold=True, halign=halign)
        )
        if s.message is None:
            return
        text = tr(s.message, s.language)
        if is_error(s.message):
            into.add_widget(ErrorBox(t, text))
        else:
            into.add_widget(TextLabel(t, text, size=t.font_message, halign=halign, color=t.muted_text))
        words = library_words(s.message)
        if words:
            into.add_widget(LibraryWords(t, words, s.language))

    def action_button(self, action: Action, **kwargs: Any) -> KioskButton:
        return KioskButton(
            self.t,
            tr(f"action.{action}", self.s.language),
            lambda: self.calls.press(action),
            ref=f"action:{action}",
            primary=action not in SECONDARY_ACTIONS,
            **kwargs,
        )

    def _tiles(self, into: BoxLayout) -> None:
        t = self.t
        actions = [a for a in self.s.actions if a != Action.MORE_TIME]
        if not actions:
            return
        cols = 1 if self.width < t.button_width * 3 else min(len(actions), 2)
        grid = GridLayout(cols=cols, spacing=t.spacing * 2, size_hint_y=None)
        grid.bind(minimum_height=grid.setter("height"))
        for action in actions:
            grid.add_widget(self.action_button(action, font_size=t.font_tile, height=t.tile_height))
        into.add_widget(grid)

    def _welcome(self) -> BoxLayout:
        t, s = self.t, self.s
        box = BoxLayout(orientation="vertical", spacing=t.spacing * 2, padding=(0, t.spacing))
        self.heading(box, halign="center")
        self._tiles(box)
        box.add_widget(
            TextLabel(t, tr_optional("language.choose", s.language), size=t.font_small, color=t.muted_text)
        )
        names = languages()
        widest = max(text_width(t, "✔ " + name, t.font_small, bold=True) for _code, name in names)
        cell = max(
            t.button_width * 1.25, widest + 2 * t.spacing + 8
        )  # a name never breaks ("Julevsámegi|ella")
        cols = max(1, min(4, int((self.width + t.spacing) // (cell + t.spacing))))
        grid = GridLayout(cols=cols, spacing=t.spacing, size_hint_y=None)
        grid.bind(minimum_height=grid.setter("height"))
        for code, name in names:
            grid.add_widget(
                LanguageButton(
                    t,
                    code,
                    name,
                    code == s.language,
                    lambda c=code: self.calls.set_language(c),
                    height=t.language_button_height,
                )
            )
        box.add_widget(grid)
        return box

    def _keypad_screen(self) -> BoxLayout:
        t, s = self.t, self.s
        identify = s.name is ScreenName.IDENTIFY
        side_by_side = self.width >= t.key_size * 3 + t.button_width * 3.5
        box = BoxLayout(orientation="horizontal" if side_by_side else "vertical", spacing=t.padding)
        left = grows(BoxLayout(orientation="vertical", spacing=t.spacing))
        self.heading(left)
        if identify:
            left.add_widget(CardOnPadPictogram(t, size_hint_y=None, height=t.tile_height * 1.6))
        caption = tr_optional("identify.card_number", s.language) if identify else ""
        keys_width = t.key_size * 3 + t.spacing
        right_width = max(keys_width, text_width(t, caption, t.font_small) + 4)
        right = grows(
            BoxLayout(orientation="vertical", spacing=t.spacing // 2, size_hint_x=None, width=right_width)
        )
        if caption:
            right.add_widget(TextLabel(t, caption, size=t.font_small, color=t.muted_text))
        display = EntryDisplay(t, masked=not identify)
        right.add_widget(display)
        submit = self.calls.present_card if identify else self.calls.enter_pin

        def ok(value: str) -> None:
            self.calls.typed[s.name] = ""
            keypad.digits = ""
            submit(value)

        keypad = Keypad(
            t,
            s.language,
            ok,
            max_length=CARD_NUMBER_MAX_LENGTH if identify else PIN_MAX_DIGITS,
            on_key=None if identify else self.calls.key_tone,
        )

        def typed(_w: object, value: str) -> None:
            display.value = value
            self.calls.typed[s.name] = value

        keypad.bind(digits=typed)
        keypad.digits = self.calls.typed.get(s.name, "")
        display.value = keypad.digits
        right.add_widget(keypad)
        self.keypad = keypad
        if side_by_side:
            column = BoxLayout(orientation="vertical")
            column.add_widget(left)
            column.add_widget(Widget())  # the heading stays at the top, beside the keypad
            box.add_widget(column)
            box.add_widget(right)
            box.size_hint_y = None
            fit = lambda *_: setattr(box, "height", max(left.height, right.height))  # noqa: E731
            left.bind(height=fit)
            right.bind(height=fit)
            fit()
        else:
            box.add_widget(left)
            box.add_widget(right)
            box.bind(minimum_height=box.setter("height"))
        return box

    def _list(self) -> Widget:
        t, s = self.t, self.s
        box = BoxLayout(orientation="vertical", spacing=t.spacing // 2)
        self.heading(box)
        for line in s.details:
            box.add_widget(TextLabel(t, tr(line, s.language), size=t.font_body))
        rows = self.rows = RowList(t, s.rows, s.language, press=self.calls.press)
        box.add_widget(rows)
        scroll = self._scrolling(box)
        rows.keep_in_view(scroll)  # type: ignore[arg-type]
        self.summary = summary(s.rows, s.language)
        return scroll

    def _centered(self) -> BoxLayout:
        t, s = self.t, self.s
        box = BoxLayout(orientation="vertical", spacing=t.spacing * 2, padding=(0, t.padding))
        self.heading(box, halign="center")
        if s.name in TILE_SCREENS:
            self._tiles(box)
        for line in s.details:
            box.add_widget(TextLabel(t, tr(line, s.language), size=t.font_body, halign="center"))
        return box

    def speech_notice(self, spoken: list[str]) -> BoxLayout:
        """Speech is not available in this language: say so, and offer the spoken languages."""
        t, s = self.t, self.s
        box = grows(BoxLayout(orientation="vertical", spacing=t.spacing // 2))
        box.add_widget(ErrorBox(t, tr("speech.unavailable", s.language)))
        grid = GridLayout(
            cols=max(2, min(3, int(self.width // (t.button_width * 1.3)))),
            spacing=t.spacing,
            size_hint_y=None,
        )
        grid.bind(minimum_height=grid.setter("height"))
        for code in spoken:
            grid.add_widget(
                KioskButton(
                    t,
                    tr(Text("speech.offer"), code),
                    lambda c=code: self.calls.set_language(c),
                    ref=f"speech-lang:{code}",
                    primary=False,
                    font_size=t.font_small,
                )
            )
        box.add_widget(grid)
        return box
