"""The demonstrator's side strip (not the patron's): it places cards and items on the simulated pad.
English labels are fine here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from ui.theme import Theme
from ui.widgets import KioskButton, TextLabel, paint_background


def demo_panel(theme: Theme, env: Any, call: Callable[[Callable[[], object]], None]) -> Widget:
    t = theme
    panel = BoxLayout(
        orientation="vertical",
        size_hint_x=None,
        width=t.demo_panel_width,
        padding=t.spacing,
        spacing=t.spacing,
    )
    paint_background(panel, t.demo_bg)
    panel.add_widget(TextLabel(t, "Demo: simulated pad", size=t.font_small, color=t.demo_text, bold=True))
    buttons: list[tuple[str, str, Callable[[], object]]] = [
        ("place_card", "Place card", lambda: env.place_patron_card()),
        ("place_borrow", "Place 3 books", lambda: env.place_items(list(env.demo_borrow_items))),
        ("place_return", "Place return stack", lambda: env.place_items(list(env.demo_return_items))),
        ("clear_pad", "Clear pad", lambda: env.clear_pad()),
    ]
    if hasattr(env, "toggle_network"):
        buttons.append(("toggle_network", "Cut / restore network", lambda: env.toggle_network()))
    if hasattr(env, "empty_printer"):
        buttons.append(("empty_printer", "Empty printer", lambda: env.empty_printer()))
    for ref, label, fn in buttons:
        panel.add_widget(
            KioskButton(
                t, label, lambda fn=fn: call(fn), ref=f"demo:{ref}", primary=False, font_size=t.font_small
            )
        )
    panel.add_widget(Widget())
    return panel
