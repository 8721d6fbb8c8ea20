"""What floats over the patron's screen: the idle warning with its countdown, and the help card."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.clock import Clock
from kivy.uix.anchorlayout import AnchorLayout
from kivy.uix.boxlayout import BoxLayout

from kiosk.core import Action, Screen, Text
from ui.text import tr
from ui.theme import Theme
from ui.widgets import KioskButton, TextLabel, paint_background


class ModalOverlay(AnchorLayout):
    """Covers the screen; swallows touches so nothing underneath is pressed by accident."""

    def on_touch_down(self, touch: Any) -> bool:
        super().on_touch_down(touch)
        return True

    def on_touch_up(self, touch: Any) -> bool:
        super().on_touch_up(touch)
        return True


def _card(theme: Theme, overlay: ModalOverlay) -> BoxLayout:
    paint_background(overlay, theme.overlay_dim)
    card = BoxLayout(
        orientation="vertical",
        size_hint=(0.86, None),
        padding=theme.padding,
        spacing=theme.spacing * 2,
    )
    card.bind(minimum_height=card.setter("height"))
    paint_background(card, theme.background, theme.border, 4)
    overlay.add_widget(card)
    return card


class IdleWarning(ModalOverlay):
    """ "Do you need more time?", the seconds left (counted down here from the configured warning time),
    and two answers: More time, and Finish (or Cancel where the screen has no Finish)."""

    def __init__(
        self, theme: Theme, screen: Screen, seconds: int, press: Callable[[Action], object], **kwargs: Any
    ) -> None:
        super().__init__(anchor_x="center", anchor_y="center", **kwargs)
        self.language = screen.language
        self.seconds_left = max(0, seconds)
        card = _card(theme, self)
        card.add_widget(
            TextLabel(theme, tr("idle.warning", self.language), size=theme.font_heading, bold=True)
        )
        self.countdown = TextLabel(theme, self._countdown_text(), size=theme.font_message)
        card.add_widget(self.countdown)
        answers = BoxLayout(orientation="horizontal", spacing=theme.spacing * 2, size_hint_y=None)
        answers.bind(minimum_height=answers.setter("height"))
        ending = Action.FINISH if Action.FINISH in screen.actions else Action.CANCEL
        for action, primary in ((Action.MORE_TIME, True), (ending, False)):
            button = KioskButton(
                theme,
                tr(f"action.{action}", self.language),
                lambda a=action: press(a),
                ref=f"action:{action}",
                primary=primary,
                font_size=theme.font_tile,
                height=round(theme.button_height * 1.4),
            )
            answers.add_widget(button)
            button.bind(height=lambda *_: setattr(answers, "height", max(b.height for b in answers.children)))
        answers.height = max(b.height for b in answers.children)
        card.add_widget(answers)
        self._ticking = Clock.schedule_interval(self._tick, 1.0)

    def _countdown_text(self) -> str:
        return tr(Text.of("idle.countdown", seconds=self.seconds_left), self.language)

    def _tick(self, *_: object) -> None:
        self.seconds_left = max(0, self.seconds_left - 1)
        self.countdown.text = self._countdown_text()

    def spoken(self) -> list[str]:
        return [tr("idle.warning", self.language), self._countdown_text()]

    def dismiss(self) -> None:
        self._ticking.cancel()


class HelpCard(ModalOverlay):
    """How to get staff, how to hear the screen; closed by its button."""

    def __init__(self, theme: Theme, language: str, close: Callable[[], object], **kwargs: Any) -> None:
        super().__init__(anchor_x="center", anchor_y="center", **kwargs)
        self.language = language
        card = _card(theme, self)
        card.add_widget(TextLabel(theme, tr("help.heading", language), size=theme.font_heading, bold=True))
        card.add_widget(TextLabel(theme, tr("help.text", language), size=theme.font_message))
        card.add_widget(KioskButton(theme, tr("ui.close", language), close, ref="help:close", primary=True))

    def spoken(self) -> list[str]:
        return [tr("help.heading", self.language), tr("help.text", self.language)]

    def dismiss(self) -> None:
        """Nothing runs while help is shown."""
