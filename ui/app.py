"""The kiosk's Kivy app: renders `kiosk.core.Screen` and reports what the person did to the `Station`.

No business rule lives here. The station tells us which screen to show (with its rows, buttons, language,
offline flag, idle warning); we lay it out for the configured panel (`ui.metrics.ScreenGeometry`: sizes in
mm, landscape or portrait) and call `station.press / enter_pin / present_card / set_language` when the
person touches something or uses a keyboard or USB keypad (`ui.keyboard`). The only state kept here is
what a person is typing on a keypad, whether large text is on, and whether speech is on (`ui.reader`).

Every screen has three tools in its header: Read aloud, Larger text and Help. Staff: holding the header
(the library's name) on the welcome screen opens the staff screen (`ui.staff`).

`kiosk run` opens the window while the station starts: `await app.run_beside(station_start_task)` shows
the starting screen until `start()` has ended, and nothing a person does reaches the station before
(`ui.starting`).

Run it on the station's asyncio loop:

    app = KioskApp(station, demo=env, geometry=ScreenGeometry(1920, 1080, 15.6), speaker=open_speaker())
    await app.async_run(async_lib="asyncio")
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from drivers.speech import HeadsetJack, JackWatcher, SimulatedJack, Speaker
from kiosk.config import UiSection
from kiosk.core import STAFF_HOLD, Action, Screen, ScreenName, Text
from kiosk.i18n import DRAFT_LANGUAGES
from ui.demo_panel import demo_panel
from ui.fonts import register_fonts
from ui.header import Header
from ui.inspection import Inspection
from ui.keyboard import KeyboardNavigator, KeyTargets
from ui.layouts import TILE_SCREENS, BuiltBody, Callbacks, RenderStats, ScreenLayout, draft_notice
from ui.metrics import ScreenGeometry
from ui.overlays import HelpCard, IdleWarning
from ui.reader import ScreenReader
from ui.staff import StaffScreen
from ui.starting import StationStart
from ui.text import tr
from ui.theme import Theme
from ui.tools import PatronTools
from ui.widgets import TextLabel, paint_background, text_width

if TYPE_CHECKING:
    from kiosk.demo import DemoEnvironment
    from kiosk.station import Station

log = logging.getLogger(__name__)

IDLE_WARNING_SECONDS = 20  # the station's [session] idle_warning
# Before these, no patron was there: the welcome screen after them ends no session
SESSIONLESS = (ScreenName.WELCOME, ScreenName.STARTING)


class KioskApp(PatronTools, App, StaffScreen, Inspection, StationStart):
    title = "Library kiosk"

    def __init__(
        self,
        station: Station,
        demo: DemoEnvironment | None = None,
        fullscreen: bool = False,
        size: tuple[int, int] = (1280, 800),
        theme: Theme | None = None,
        library_name: str | None = None,
        staff_hold: float = STAFF_HOLD.total_seconds(),
        geometry: ScreenGeometry | None = None,
        speaker: Speaker | None = None,
        idle_warning_seconds: int = IDLE_WARNING_SECONDS,
        panel: UiSection | None = None,
        jack: HeadsetJack | None = None,
        speak_on_headset: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.station = station
        self.demo = demo
        self.fullscreen = fullscreen
        self.panel = panel or UiSection()  # [ui]: the panel's size, viewing distance, large text at start
        self.geometry = geometry or self._panel_geometry(*size)
        self._geometry_given = geometry is not None  # else follow the real window (full screen, or not)
        self.window_size = (self.geometry.width_px, self.geometry.height_px)
        name = library_name if library_name is not None else str(getattr(station, "library_name", "") or "")
        self.base_theme = theme or Theme.for_screen(self.geometry, self.panel.large_text, library_name=name)
        self.theme = self.base_theme
        self.library_name = name or self.theme.library_name
        self.screen: Screen | None = None  # what is shown now
        self._pending: Screen | None = None
        self._typed: dict[ScreenName, str] = {}
        self._tasks: set[asyncio.Future[Any]] = set()
        self._render_trigger = Clock.create_trigger(self._render_pending, 0)
        self.staff_hold = staff_hold
        self.staff_view = None
        self._staff_refresh: Any = None
        self._syncing = False
        self._shown_conflicts: tuple[str, ...] | None = None
        self.idle_warning_seconds = idle_warning_seconds
        self.reader = ScreenReader(speaker, self._run)
        self.reader.speak_on_headset = speak_on_headset
        self.jack = JackWatcher(jack, self._headset_changed) if jack is not None and speaker else None
        self.jack_source = jack  # the demo panel plugs a simulated one in and out
        self.keys = KeyboardNavigator(
            KeyTargets(
                self.focusable,
                lambda: self.layout_keypad,
                self.speak_screen,
                self.reader.change_volume,
                lambda: self.reader.pause_or_resume(self.screen),
            )
        )
        self.layout_keypad: Any = None
        self._built: BuiltBody | None = None  # what the body shows now, to update it in place
        self._tools_key: tuple[object, ...] | None = None
        self.stats = RenderStats()
        self.overlay: Any = None
        self.help: HelpCard | None = None

    # ---------------------------------------------------------------- building

    def build(self) -> Widget:
        register_fonts()
        if self.fullscreen:
            Window.fullscreen = "auto"
        else:
            Window.size = self.window_size
            Window.left, Window.top = 0, 0  # never partly off-screen
        Window.clearcolor = self.theme.background
        Window.bind(on_key_down=self._on_key_down)
        self._refit = Clock.create_trigger(self._fit_window, 0.2)
        Window.bind(size=lambda *_: self._refit())
        self._no_way_out()
        self.root_layout = BoxLayout(orientation="horizontal")
        self.patron_area = FloatLayout()
        self.root_layout.add_widget(self.patron_area)
        # Columns and button widths follow the width: when it changes, the screen is laid out again
        self._relayout = Clock.create_trigger(self._render_again, 0)
        self.patron_area.bind(width=lambda *_: self._relayout())
        self.main = BoxLayout(orientation="vertical", pos_hint={"x": 0, "y": 0}, size_hint=(1, 1))
        self.patron_area.add_widget(self.main)
        self.offline_marker = Label(
            text="", size_hint=(None, None), size=(0, 0), pos_hint={"x": 0.005, "y": 0.008}
        )
        if self.demo is not None:
            plugged = isinstance(self.jack_source, SimulatedJack) and self.jack is not None
            simulated = self.jack_source if plugged else None  # a toggle only where speech follows it
            self.root_layout.add_widget(demo_panel(self.theme, self.demo, self._call, simulated))
        self._build_frame()
        self._show_station()  # its screens, or the starting screen while it starts (ui.starting)
        if self.jack is not None:
            self._run(self.jack.start())  # headset plugged in or out ([speech] jack)
        return self.root_layout

    def on_stop(self) -> None:
        self._stop_starting()
        if self.jack is not None:
            self._run(self.jack.stop())

    def _build_frame(self) -> None:
        """Header, body and footer in the current theme (again when large text is switched)."""
        t = self.theme
        self._built = None  # a new frame: the next screen is built whole
        self.main.clear_widgets()
        self.main.canvas.before.clear()
        paint_background(self.main, t.background)
        self.header = Header(t, self.library_name, self.staff_hold, self.open_staff)
        self.main.add_widget(self.header)
        self.body = BoxLayout(orientation="vertical", padding=(t.padding, t.spacing, t.padding, 0))
        self.main.add_widget(self.body)
        self.footer = BoxLayout(
            orientation="horizontal",
            size_hint_y=None,
            spacing=t.spacing,
            padding=(t.padding, t.spacing, t.padding, t.spacing),
        )
        self.main.add_widget(self.footer)
        self.offline_marker.font_name = t.font
        self.offline_marker.font_size = t.font_small
        self.offline_marker.color = t.offline_text
        self.offline_marker.canvas.before.clear()
        paint_background(self.offline_marker, t.offline_bg)
        if self.offline_marker.parent is None:
            self.patron_area.add_widget(self.offline_marker)

    # ---------------------------------------------------------------- station → screen

    def _on_screen(self, screen: Screen) -> None:
        """Station listener (on the asyncio loop, same thread as Kivy). Coalesced to one render per frame."""
        self._pending = screen
        self._render_trigger()

    def _render_again(self, *_: object) -> None:
        if self.screen is not None and self._pending is None:
            self.render(self.screen, announce=False)

    def _render_pending(self, *_: object) -> None:
        screen, self._pending = self._pending, None
        if screen is not None:
            self.render(screen)

    def render(self, s: Screen, announce: bool = True) -> None:
        started = time.process_time()
        try:
            self._render(s, announce)
        finally:
            self.stats.seconds += time.process_time() - started

    def _render(self, s: Screen, announce: bool) -> None:
        t = self.theme
        previous = self.screen
        if previous is None or previous.name != s.name:
            self._typed.clear()
            self.keys.reset()
        if s.name is ScreenName.WELCOME and previous is not None and previous.name not in SESSIONLESS:
            self._end_of_session()
        self.screen = s
        self.stats.renders += 1
        self._show_offline(s)
        self.header.patron.text = s.patron_name
        self.reader.keep_receipt(s)
        self._tool_buttons(s.language)
        built = self._built
        if built is not None and built.same_body(s, t, self._body_width(), self._speech_notice(s)):
            built.update(s)  # the same screen with other rows: only the rows that changed are built
        else:
            self._build_body(s)
        self._overlays(s)
        if self.staff_view is not None and self._staff_must_close(s):
            self.close_staff()
        self.header.fill.rgba = t.out_of_order_bg if s.name is ScreenName.OUT_OF_ORDER else t.header_bg
        if announce:
            self.reader.shown(s, self.overlay.spoken() if self.overlay is not None else None)

    def _body_width(self) -> float:
        return float(self.patron_area.width - 2 * self.theme.padding)

    def _speech_notice(self, s: Screen) -> bool:
        return self.reader.active and not self.reader.can_speak(s.language)

    def _build_body(self, s: Screen) -> None:
        t = self.theme
        self.stats.bodies += 1
        self.body.clear_widgets()
        self.footer.clear_widgets()
        layout = ScreenLayout(t, s, self._callbacks(), width=self._body_width())
        if s.language in DRAFT_LANGUAGES:
            self.body.add_widget(draft_notice(t, s.language))
        notice = self._speech_notice(s)
        if notice:
            self.body.add_widget(layout.speech_notice(self.reader.spoken_languages()))
        self.body.add_widget(layout.build())
        summary = None
        if layout.rows is not None:
            summary = TextLabel(t, layout.summary, size=t.font_body, bold=True)
            self.body.add_widget(summary)
        self.layout_keypad = layout.keypad
        self._footer(layout, s)
        self._built = BuiltBody(s, t, self._body_width(), notice, layout.rows, summary)

    def _staff_must_close(self, s: Screen) -> bool:
        from kiosk.core import staff_must_close

        return bool(staff_must_close(s.name, self._staff_idle(), self._syncing))

    def _callbacks(self) -> Callbacks:
        return Callbacks(
            press=self._press,
            set_language=lambda code: self._to_station(self.station.set_language, code),
            present_card=lambda card: self._to_station(self.station.present_card, card),
            enter_pin=lambda pin: self._to_station(self.station.enter_pin, pin),
            key_tone=self.reader.key_tone,
            typed=self._typed,
        )

    def _show_offline(self, s: Screen) -> None:
        if s.offline:
            self.offline_marker.text = "  ⚠ " + tr("offline.notice", s.language) + "  "
            self.offline_marker.texture_update()
            w, h = self.offline_marker.texture_size
            self.offline_marker.size = (w + 8, h + 8)
            self.offline_marker.opacity = 1
        else:
            self.offline_marker.opacity = 0

    def _footer(self, layout: ScreenLayout, s: Screen) -> None:
        t = self.theme
        actions = [a for a in s.actions if a != Action.MORE_TIME] if s.name not in TILE_SCREENS else []
        self.footer.add_widget(Widget())
        available = self.patron_area.width - 2 * t.padding
        share = available / max(1, len(actions)) - t.spacing
        buttons = [
            layout.action_button(a, size_hint_x=None, width=self._button_width(a, s, share)) for a in actions
        ]
        for button in buttons:
            self.footer.add_widget(button)

        def fit(*_: object) -> None:
            tallest = max([b.height for b in buttons] + [0])
            self.footer.height = tallest + 2 * t.spacing if buttons else t.spacing

        for button in buttons:
            button.bind(height=fit)
        fit()

    def _button_width(self, action: Action, s: Screen, share: float) -> float:
        """At most its share of the footer, at least as wide as its longest word ("Gaskkalduhte")."""
        t = self.theme
        words = tr(f"action.{action}", s.language).split() or [""]
        longest = max(text_width(t, word, t.font_button, bold=True) for word in words) + 2 * t.spacing + 6
        return max(min(t.button_width * 1.5, share), longest)

    def _overlays(self, s: Screen) -> None:
        if self.overlay is not None:
            if s.idle_warning and isinstance(self.overlay, IdleWarning):
                return  # the same warning, still counting down
            self.overlay.dismiss()
            self.patron_area.remove_widget(self.overlay)
            self.overlay = None
        if s.idle_warning:
            self.overlay = IdleWarning(self.theme, s, self.idle_warning_seconds, self._press)
            self.patron_area.add_widget(self.overlay)

    def _end_of_session(self) -> None:
        """Nothing of one patron stays for the next: normal text, speech off, volume reset, help closed."""
        if self.theme.large:
            self.theme = self.base_theme
            self._build_frame()
        self.close_help()
        self.reader.end_of_session()

    def _fit_window(self, *_: object) -> None:
        """The window's real size (full screen that took, or one that did not): sizes follow it, in mm
        of the configured panel when one was given, else of the default panel."""
        width, height = int(Window.width), int(Window.height)
        if self._geometry_given or (width, height) == (self.geometry.width_px, self.geometry.height_px):
            return
        self.geometry = self._panel_geometry(width, height)
        self.base_theme = Theme.for_screen(
            self.geometry, self.panel.large_text, library_name=self.base_theme.library_name
        )
        self.theme = self.base_theme.larger(self.theme.large)
        self._build_frame()
        if self.screen is not None:
            self.render(self.screen, announce=False)

    def _panel_geometry(self, width: int, height: int) -> ScreenGeometry:
        p = self.panel
        return ScreenGeometry.for_panel(width, height, p.diagonal_in, p.dpi, p.viewing_distance_mm)

    # ---------------------------------------------------------------- person → station

    def _press(self, action: Action, item_id: str = "") -> None:
        self._to_station(self.station.press, action, item_id)

    def _run(self, awaitable: Any) -> None:
        self._call(lambda: awaitable)

    def _call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Call a station/demo method; if it returns an awaitable, run it on the loop and log failures."""
        try:
            result = fn(*args)
        except Exception:
            log.exception("UI call %s failed", getattr(fn, "__name__", fn))
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._tasks.add(task)

            def done(f: asyncio.Future[Any]) -> None:
                self._tasks.discard(f)
                if not f.cancelled() and f.exception() is not None:
                    log.error("UI call failed", exc_info=f.exception())

            task.add_done_callback(done)


__all__ = ["KioskApp", "Text"]
