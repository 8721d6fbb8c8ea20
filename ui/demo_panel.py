"""The demonstrator's side strip (not the patron's): it places cards and items on the simulated pad, and
cuts the network or empties the printer. English labels are fine here. Each demo patron's card has its
own button (`kiosk.demo.demo_patrons`: normal, blocked, fees, child, Sámi speaker); the toggles say their
state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.clock import Clock
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

from ui.theme import Theme
from ui.widgets import KioskButton, TextLabel, paint_background

Toggle = tuple[str, Callable[[], str], Callable[[], object]]  # ref, label from the state, action


def _toggles(env: Any, jack: Any = None) -> list[Toggle]:
    toggles: list[Toggle] = []
    if jack is not None:  # a SimulatedJack: the demonstrator plugs a headset in (speech moves to it)
        toggles.append(
            (
                "headset",
                lambda: "Headset: IN. Pull it out" if jack.plugged() else "Headset: out. Plug it in",
                lambda: jack.unplug() if jack.plugged() else jack.plug(),
            )
        )
    if hasattr(env, "toggle_network"):
        toggles.append(
            (
                "toggle_network",
                lambda: "Network: up. Cut it" if env.network_up else "Network: CUT. Restore it",
                lambda: env.toggle_network(),
            )
        )
    printer = getattr(env, "printer", None)
    if hasattr(env, "empty_printer") and printer is not None:
        toggles.append(
            (
                "empty_printer",
                lambda: "Printer: EMPTY. Refill it" if printer.paper_out else "Printer: paper. Empty it",
                lambda: printer.refill_paper() if printer.paper_out else env.empty_printer(),
            )
        )
    return toggles


def _patron_buttons(env: Any) -> list[tuple[str, str, Callable[[], object]]]:
    return [
        (
            f"place_card:{p.kind}",
            f"Card: {p.kind} (PIN {p.pin})",
            lambda card=p.card: env.place_patron_card(card),
        )
        for p in (env.patrons() if hasattr(env, "patrons") else ())
        if p.card in getattr(env, "card_tags", {})
    ]


def demo_panel(
    theme: Theme, env: Any, call: Callable[[Callable[[], object]], None], jack: Any = None
) -> Widget:
    """The strip, scrolling when its buttons are taller than the window (five demo cards on 800x600)."""
    t = theme
    outer = ScrollView(size_hint_x=None, width=t.demo_panel_width, do_scroll_x=False, bar_width=t.spacing)
    paint_background(outer, t.demo_bg)
    panel = BoxLayout(orientation="vertical", size_hint_y=None, padding=t.spacing, spacing=t.spacing)
    panel.bind(minimum_height=panel.setter("height"))
    outer.add_widget(panel)
    panel.add_widget(TextLabel(t, "Demo: simulated pad", size=t.font_small, color=t.demo_text, bold=True))
    buttons: list[tuple[str, str, Callable[[], object]]] = [
        ("place_card", "Place card", lambda: env.place_patron_card()),
        *_patron_buttons(env),
        ("place_borrow", "Place 3 books", lambda: env.place_items(list(env.demo_borrow_items))),
        ("place_return", "Place return stack", lambda: env.place_items(list(env.demo_return_items))),
        ("clear_pad", "Clear pad", lambda: env.clear_pad()),
    ]
    for ref, label, fn in buttons:
        panel.add_widget(_button(t, label, ref, fn, call))
    shown: list[tuple[KioskButton, Callable[[], str]]] = []
    for ref, label_of, fn in _toggles(env, jack):
        button = _button(t, label_of(), ref, fn, call)
        shown.append((button, label_of))
        panel.add_widget(button)

    def refresh(*_: object) -> None:
        for button, label_of in shown:
            button.text = label_of()

    if shown:
        event = Clock.schedule_interval(
            refresh, 0.3
        )  # the state changes behind the button (the link, the roll)
        outer.bind(parent=lambda _w, parent: event.cancel() if parent is None else None)
    return outer


def _button(
    t: Theme, label: str, ref: str, fn: Callable[[], object], call: Callable[[Callable[[], object]], None]
) -> KioskButton:
    return KioskButton(t, label, lambda: call(fn), ref=f"demo:{ref}", primary=False, font_size=t.font_small)
