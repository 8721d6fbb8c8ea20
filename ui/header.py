"""The band at the top of every screen: the library's name, the patron's own name, and the tools
(Read aloud, Larger text, Help). Holding it opens the staff screen. In a narrow window the tools take a
row of their own; every button is as wide as its longest word, so no word is ever broken."""

from __future__ import annotations

from collections.abc import Callable

from kivy.uix.boxlayout import BoxLayout

from ui.text import tr
from ui.theme import Theme
from ui.widgets import HoldArea, KioskButton, TextLabel, paint_background, text_width

Tool = tuple[str, str, Callable[[], object]]  # ref, message key, what it does


class Header(HoldArea):
    def __init__(
        self, theme: Theme, library_name: str, staff_hold: float, open_staff: Callable[[], object]
    ) -> None:
        t = self.t = theme
        super().__init__(
            staff_hold,
            open_staff,
            ref="staff:hold",
            orientation="horizontal",
            size_hint_y=None,
            height=t.header_height,
            padding=(t.padding, t.spacing // 2),
            spacing=t.spacing,
        )
        self.fill = paint_background(self, t.header_bg)
        self.name = TextLabel(t, library_name, size=t.font_header, color=t.header_text, bold=True)
        self.patron = TextLabel(t, "", size=t.font_small, color=t.header_text, halign="right")
        self.names = BoxLayout(orientation="horizontal", size_hint_y=None, spacing=t.spacing)
        for label in (self.name, self.patron):
            self.names.add_widget(label)
            label.bind(height=self._fit)
        self.add_widget(self.names)
        self.tools = BoxLayout(orientation="horizontal", spacing=t.spacing, size_hint=(None, None))
        self.add_widget(self.tools)
        self.narrow = False

    def show_tools(self, tools: list[Tool], language: str, available_width: float) -> None:
        t = self.t
        self.tools.clear_widgets()
        share = (available_width - 2 * t.padding) / max(1, len(tools)) - t.spacing
        width = 0.0
        for ref, key, fn in tools:
            label = tr(key, language)
            longest = max(text_width(t, word, t.font_small, bold=True) for word in label.split())
            whole = text_width(t, label, t.font_small, bold=True)
            button = KioskButton(
                t,
                label,
                fn,
                ref=ref,
                primary=False,
                font_size=t.font_small,
                size_hint_x=None,
                width=max(max(longest, min(whole, share)) + 2 * t.spacing + 4, min(t.button_width, share)),
                height=t.header_height - t.spacing,
            )
            button.bind(height=self._fit)
            self.tools.add_widget(button)
            width += button.width + t.spacing
        self.tools.width = width
        self.narrow = available_width < width * 1.9  # the tools take a row of their own
        self.orientation = "vertical" if self.narrow else "horizontal"
        self._fit()

    def _fit(self, *_: object) -> None:
        t = self.t
        tallest = max([b.height for b in self.tools.children] + [0])
        names = max(self.name.height, self.patron.height)
        self.tools.height = tallest
        self.names.height = names
        if self.narrow:
            self.height = names + tallest + 3 * t.spacing
        else:
            self.height = max(t.header_height, tallest + t.spacing, names + t.spacing)
