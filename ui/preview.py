"""Show every screen with hand-made `Screen`s, for designing and checking layouts without a station.

    python -m ui.preview                      # a window; click "next" in the corner... or wait
    python -m ui.preview --shots DIR [--language se]   # one PNG per screen, then exit

Uses a stand-in station that records what the person did.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk.core import Action, ItemRow, RowState, Screen, ScreenName, Text, starting_screen


class PreviewStation:
    library_name = "Tromsø bibliotek og byarkiv"

    def __init__(self, screen: Screen) -> None:
        self.screen = screen
        self.calls: list[tuple[str, object]] = []
        self._listeners: list[Callable[[Screen], None]] = []

    def add_listener(self, callback: Callable[[Screen], None]) -> None:
        self._listeners.append(callback)
        callback(self.screen)

    def show(self, screen: Screen) -> None:
        self.screen = screen
        for callback in self._listeners:
            callback(screen)

    def press(self, action: Action) -> None:
        self.calls.append(("press", action))

    def enter_pin(self, pin: str) -> None:
        self.calls.append(("enter_pin", "*" * len(pin)))

    def present_card(self, card_id: str) -> None:
        self.calls.append(("present_card", card_id))

    def set_language(self, code: str) -> None:
        self.calls.append(("set_language", code))
        self.show(Screen(**{**self.screen.__dict__, "language": code}))


def sample_screens(language: str = "en") -> list[Screen]:
    due = datetime(2026, 12, 13)
    rows = (
        ItemRow(
            "03010000123456",
            "Čáppa guovssahasat: máidnasat mánáide",
            RowState.DONE,
            Text.of("row.borrowed", date="2026-12-13"),
            due,
        ),
        ItemRow("03010000123457", "Harry Potter og de vises stein", RowState.WORKING, Text("row.securing")),
        ItemRow(
            "03010000123458",
            "Bákčasa gáfe",
            RowState.REFUSED,
            Text.of("refusal.item_not_for_loan", ils="Referanseverk"),
        ),
        ItemRow(
            "03010000123459",
            "Musikk-CD (2 plater)",
            RowState.ATTENTION,
            Text.of("row.missing_part", missing=2, parts=2),
        ),
    )
    s = lambda name, **kw: Screen(name=name, language=language, heading=Text(f"{name.value}.heading"), **kw)  # noqa: E731
    return [
        s(ScreenName.WELCOME, message=Text("welcome.instruction"), actions=(Action.BORROW, Action.RETURN)),
        s(ScreenName.IDENTIFY, message=Text("identify.instruction"), actions=(Action.CANCEL,)),
        s(ScreenName.PIN, message=Text("pin.instruction"), actions=(Action.CANCEL,)),
        s(ScreenName.BUSY, message=Text("busy.instruction")),
        s(
            ScreenName.MENU,
            patron_name="Máret Ánne Sara",
            actions=(Action.BORROW, Action.RETURN, Action.ACCOUNT, Action.FINISH),
        ),
        s(
            ScreenName.BORROW,
            patron_name="Máret Ánne Sara",
            message=Text("borrow.instruction"),
            rows=rows,
            actions=(Action.FINISH,),
        ),
        s(
            ScreenName.RETURN,
            message=Text("return.instruction"),
            rows=rows[:2],
            actions=(Action.FINISH,),
            offline=True,
        ),
        s(
            ScreenName.ACCOUNT,
            patron_name="Máret Ánne Sara",
            rows=(
                ItemRow(
                    "03010000123456",
                    "Beaivi, áhčážan",
                    RowState.ON_LOAN,
                    Text.of("account.due", date="2026-12-13"),
                    actions=(Action.RENEW,),
                ),
                ItemRow(
                    "03010000123458",
                    "Markens grøde",
                    RowState.ATTENTION,
                    Text.of("account.overdue", date="2026-11-20"),
                    actions=(Action.RENEW,),
                ),
            ),
            details=(
                Text.of("account.loans", count=2),
                Text.of(
                    "account.hold_ready_at", title="Teskjekjerringa", library="Tromsø bibliotek og byarkiv"
                ),
                Text.of("account.fees", amount="20.00", currency="NOK"),
            ),
            actions=(Action.RENEW_ALL, Action.BACK, Action.FINISH),
        ),
        s(
            ScreenName.RECEIPT,
            rows=rows[:1],
            actions=(Action.PRINT_RECEIPT, Action.EMAIL_RECEIPT, Action.NO_RECEIPT),  # through a gateway
            details=(Text.of("receipt.email_to", address="m•••@e•••.org"),),
        ),
        s(ScreenName.GOODBYE, message=Text("goodbye.instruction")),
        s(ScreenName.OUT_OF_ORDER, message=Text("out_of_order.instruction")),
        starting_screen(language),  # before the station has started
        s(
            ScreenName.BORROW,
            patron_name="Máret Ánne Sara",
            rows=rows[:2],
            actions=(Action.FINISH,),
            idle_warning=True,
        ),
    ]


def _parse_size(text: str) -> tuple[int, int, float]:
    """ "1280x800@15.4": pixels and the panel's diagonal in inches."""
    size, _, diagonal = text.partition("@")
    width, height = (int(v) for v in size.lower().split("x"))
    return width, height, float(diagonal or 15.6)


class PreviewDemo:
    demo_borrow_items = ("1", "2", "3")
    demo_return_items = ("4",)

    def place_patron_card(self) -> None: ...
    def place_items(self, ids: list[str]) -> None: ...
    def clear_pad(self) -> None: ...


class Shooter:
    """Shows each screen in turn; records its overflows and (with --shots) saves its PNG."""

    def __init__(
        self, app: Any, station: PreviewStation, screens: list[Screen], args: argparse.Namespace
    ) -> None:
        self.app, self.station, self.screens, self.args = app, station, screens, args
        self.report: dict[str, list[str]] = {}
        self.index = 0

    def start(self, _dt: float) -> None:
        if self.args.large:
            self.app.toggle_large_text()
        self._later(0.6)

    def _later(self, seconds: float) -> None:
        from kivy.clock import Clock

        Clock.schedule_once(self.shoot, seconds)

    def shoot(self, _dt: float) -> None:
        args, app = self.args, self.app
        if args.large and not app.theme.large:  # a new session (the welcome screen) resets large text
            app.toggle_large_text()
            self._later(0.35)
            return
        screen = self.screens[self.index]
        suffix = "-idle" if screen.idle_warning else ""
        name = f"{self.index:02d}-{screen.name.value}{suffix}-{screen.language}"
        self.report[name] = app.overflows()
        if args.shots:
            args.shots.mkdir(parents=True, exist_ok=True)
            app.screenshot(str(args.shots / f"{name}.png"))
        self.index += 1
        if self.index >= len(self.screens):
            if args.report:
                args.report.write_text(
                    json.dumps(self.report, ensure_ascii=False, indent=1), encoding="utf-8"
                )
            if args.shots:
                app.stop()
                return
            self.index = 0
        self.station.show(self.screens[self.index])
        self._later(0.35 if args.shots else 3)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shots", type=Path, help="write one PNG per screen into this folder and exit")
    parser.add_argument("--language", action="append", help="one or more languages (default: en)")
    parser.add_argument("--size", default="1280x800@15.6", help="WIDTHxHEIGHT@DIAGONAL_INCHES")
    parser.add_argument("--large", action="store_true", help="large-text mode")
    parser.add_argument("--screens", default="", help="comma-separated screen names (default: all)")
    parser.add_argument("--report", type=Path, help="write the labels that overflow their box as JSON")
    parser.add_argument("--demo", action="store_true", help="show the demo side panel")
    parser.add_argument("--extra-languages", default="", help="draft languages to enable, e.g. 'se smj'")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    width, height, diagonal = _parse_size(args.size)
    from kivy.config import Config

    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("graphics", "resizable", "0")

    from kivy.clock import Clock

    from drivers.speech import SimulatedSpeaker
    from kiosk.i18n import enable_languages
    from ui.app import KioskApp
    from ui.metrics import ScreenGeometry

    enable_languages(args.extra_languages.replace(",", " ").split())
    wanted = {name for name in args.screens.split(",") if name}
    screens = [
        screen
        for language in args.language or ["en"]
        for screen in sample_screens(language)
        if not wanted or screen.name.value in wanted
    ]
    station = PreviewStation(screens[0])
    geometry = ScreenGeometry(width, height, diagonal)
    demo = PreviewDemo() if args.demo else None
    app = KioskApp(station, demo=demo, geometry=geometry, speaker=SimulatedSpeaker())
    shooter = Shooter(app, station, screens, args)  # held here: Kivy's Clock keeps only weak references
    Clock.schedule_once(shooter.start, 0.6)
    app.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
