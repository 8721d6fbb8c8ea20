"""The kiosk's Kivy app: renders `kiosk.core.screens.Screen` and reports what the person did to the `Station`.

No business rule lives here. The station tells us which screen to show (with its rows, buttons, language,
offline flag, idle warning); we map it to widgets and call `station.press / enter_pin / present_card /
set_language` when the person touches something. The only state kept here is what a person is typing on a
keypad before pressing OK.

Staff: holding the header (the library's name) for `staff_hold` seconds on the welcome screen opens the
staff screen over the patron's: online or offline, journal entries waiting to be sent, the last sync, the
conflicts (item and reason, never a patron) and a "Sync now" button. When it may open, when it closes and
what it shows are `kiosk.core.staff`'s rules; this file renders its `StaffView` of `station.status()`.

Run it on the station's asyncio loop:

    app = KioskApp(station, demo=env)
    await app.async_run(async_lib="asyncio")
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.uix.anchorlayout import AnchorLayout
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

from kiosk.core import (
    CARD_NUMBER_MAX_LENGTH,
    PIN_MAX_DIGITS,
    STAFF_HOLD,
    STAFF_REFRESH,
    SYNCING,
    Action,
    Screen,
    ScreenName,
    Text,
    staff_may_open,
    staff_must_close,
    staff_view,
    sync_outcome,
)
from kiosk.i18n import format_date
from ui.text import languages, tr, tr_optional
from ui.theme import DEFAULT_THEME, Theme
from ui.widgets import (
    CardOnPadPictogram,
    ConflictRowWidget,
    EntryDisplay,
    HoldArea,
    ItemRowWidget,
    Keypad,
    KioskButton,
    LanguageButton,
    StaffFigure,
    TextLabel,
    paint_background,
)

if TYPE_CHECKING:
    from kiosk.demo import DemoEnvironment
    from kiosk.station import Station

log = logging.getLogger(__name__)

TILE_SCREENS = {ScreenName.WELCOME, ScreenName.MENU}
SECONDARY_ACTIONS = {Action.CANCEL, Action.BACK, Action.NO_RECEIPT}


class ModalOverlay(AnchorLayout):
    """Covers the screen; swallows touches so nothing underneath is pressed by accident."""

    def on_touch_down(self, touch: Any) -> bool:
        super().on_touch_down(touch)
        return True

    def on_touch_up(self, touch: Any) -> bool:
        super().on_touch_up(touch)
        return True


class StaffOverlay(ModalOverlay):
    """The staff screen's backdrop: swallows touches like any overlay and notes when staff touched it."""

    last_touch = 0.0

    def on_touch_down(self, touch: Any) -> bool:
        self.last_touch = time.monotonic()
        return super().on_touch_down(touch)


class KioskApp(App):
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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.station = station
        self.demo = demo
        self.fullscreen = fullscreen
        self.window_size = size
        self.theme = theme or DEFAULT_THEME
        self.library_name = (
            library_name
            if library_name is not None
            else (self.theme.library_name or str(getattr(station, "library_name", "") or ""))
        )
        self.screen: Screen | None = None  # what is shown now
        self._pending: Screen | None = None
        self._typed: dict[ScreenName, str] = {}  # keypad entry per screen, kept across re-renders
        self._tasks: set[asyncio.Future[Any]] = set()
        self._render_trigger = Clock.create_trigger(self._render_pending, 0)
        self.staff_hold = staff_hold
        self.staff_view: StaffOverlay | None = None
        self._staff_refresh: Any = None
        self._syncing = False
        self._shown_conflicts: tuple[str, ...] | None = None

    # ---------------------------------------------------------------- building

    def build(self) -> Widget:
        if self.fullscreen:
            Window.fullscreen = "auto"
        else:
            Window.size = self.window_size
        Window.clearcolor = self.theme.background
        t = self.theme
        self.root_layout = BoxLayout(orientation="horizontal")
        # the patron's area: the screen, with the offline marker and the idle overlay floating over it
        self.patron_area = FloatLayout()
        self.root_layout.add_widget(self.patron_area)
        main = BoxLayout(orientation="vertical", pos_hint={"x": 0, "y": 0}, size_hint=(1, 1))
        self.patron_area.add_widget(main)
        paint_background(main, t.background)

        self.header = HoldArea(
            self.staff_hold,
            self.open_staff,
            ref="staff:hold",
            orientation="horizontal",
            size_hint_y=None,
            height=t.header_height,
            padding=(t.padding, 0),
            spacing=t.spacing,
        )
        paint_background(self.header, t.header_bg)
        self.header_name = TextLabel(
            t, self.library_name, size=t.font_header, color=t.header_text, bold=True, fill=True
        )
        self.header_patron = TextLabel(
            t, "", size=t.font_small, color=t.header_text, fill=True, halign="right"
        )
        self.header.add_widget(self.header_name)
        self.header.add_widget(self.header_patron)
        main.add_widget(self.header)

        self.body = BoxLayout(
            orientation="vertical", padding=(t.padding, t.padding // 2, t.padding, 0), spacing=t.spacing
        )
        main.add_widget(self.body)
        self.footer = BoxLayout(
            orientation="horizontal",
            size_hint_y=None,
            height=t.button_height + t.padding,
            padding=(t.padding, 0, t.padding, t.padding),
            spacing=t.spacing,
        )
        main.add_widget(self.footer)

        # Discreet offline marker, bottom-left corner, above everything but the idle overlay
        self.offline_marker = Label(
            text="",
            font_name=t.font,
            font_size=t.font_small,
            color=t.offline_text,
            size_hint=(None, None),
            size=(0, 0),
            pos_hint={"x": 0.005, "y": 0.008},
            opacity=0,
        )
        paint_background(self.offline_marker, t.offline_bg)
        self.patron_area.add_widget(self.offline_marker)

        if self.demo is not None:
            self.root_layout.add_widget(self._build_demo_panel())

        self.overlay: Widget | None = None
        self.station.add_listener(self._on_screen)  # calls back at once with the current screen
        return self.root_layout

    def _build_demo_panel(self) -> Widget:
        """Side strip for the demonstrator (not the patron): English labels are fine here."""
        t = self.theme
        env = self.demo
        assert env is not None
        panel = BoxLayout(
            orientation="vertical", size_hint_x=None, width=t.demo_panel_width, padding=12, spacing=12
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
                    t,
                    label,
                    lambda fn=fn: self._call(fn),
                    ref=f"demo:{ref}",
                    primary=False,
                    font_size=t.font_small,
                    height=76,
                )
            )
        panel.add_widget(Widget())
        return panel

    # ---------------------------------------------------------------- station → screen

    def _on_screen(self, screen: Screen) -> None:
        """Station listener (on the asyncio loop, same thread as Kivy). Coalesced to one render per frame."""
        self._pending = screen
        self._render_trigger()

    def _render_pending(self, *_: object) -> None:
        screen, self._pending = self._pending, None
        if screen is not None:
            self.render(screen)

    def render(self, s: Screen) -> None:
        t = self.theme
        previous = self.screen
        if previous is None or previous.name != s.name:
            self._typed.clear()
        self.screen = s
        lang = s.language

        self.header_patron.text = s.patron_name
        if s.offline:
            self.offline_marker.text = "  ⚠ " + tr("offline.notice", lang) + "  "
            self.offline_marker.texture_update()
            self.offline_marker.size = (self.offline_marker.texture_size[0] + 8, 40)
            self.offline_marker.opacity = 1
        else:
            self.offline_marker.opacity = 0

        self.body.clear_widgets()
        self.footer.clear_widgets()
        builder = {
            ScreenName.WELCOME: self._welcome,
            ScreenName.IDENTIFY: self._identify,
            ScreenName.PIN: self._pin,
            ScreenName.BORROW: self._list,
            ScreenName.RETURN: self._list,
            ScreenName.ACCOUNT: self._list,
            ScreenName.RECEIPT: self._list,
        }.get(s.name, self._centered)
        builder(s)
        footer_actions = [a for a in s.actions if a != Action.MORE_TIME] if s.name not in TILE_SCREENS else []
        self._footer_actions(footer_actions, s)
        self.footer.height = t.button_height + t.padding if footer_actions else t.padding // 2

        if self.overlay is not None:
            self.patron_area.remove_widget(self.overlay)
            self.overlay = None
        if s.idle_warning:
            self.overlay = self._idle_overlay(s)
            self.patron_area.add_widget(self.overlay)
        if self.staff_view is not None and staff_must_close(s.name, self._staff_idle(), self._syncing):
            self.close_staff()
        if s.name == ScreenName.OUT_OF_ORDER:
            self.header.canvas.before.children[0].rgba = t.out_of_order_bg  # type: ignore[attr-defined]
        else:
            self.header.canvas.before.children[0].rgba = t.header_bg  # type: ignore[attr-defined]

    # ---------------------------------------------------------------- screens

    def _heading(self, s: Screen, into: BoxLayout, halign: str = "left") -> None:
        t = self.theme
        into.add_widget(
            TextLabel(t, tr(s.heading, s.language), size=t.font_heading, bold=True, halign=halign)
        )
        if s.message is not None:
            into.add_widget(
                TextLabel(
                    t, tr(s.message, s.language), size=t.font_message, halign=halign, color=t.muted_text
                )
            )

    def _action_button(self, s: Screen, action: Action, **kwargs: Any) -> KioskButton:
        return KioskButton(
            self.theme,
            tr(f"action.{action}", s.language),
            lambda: self._press(action),
            ref=f"action:{action}",
            primary=action not in SECONDARY_ACTIONS,
            **kwargs,
        )

    def _footer_actions(self, actions: list[Action], s: Screen) -> None:
        if not actions:
            return
        self.footer.add_widget(Widget())
        for action in actions:
            self.footer.add_widget(self._action_button(s, action, size_hint_x=None, width=320))

    def _tiles(self, s: Screen, into: BoxLayout) -> None:
        """The screen's actions as big tiles: one row of two on the welcome screen, two rows in the menu."""
        t = self.theme
        actions = [a for a in s.actions if a != Action.MORE_TIME]
        if not actions:
            return
        rows = 1 if len(actions) <= 2 else 2
        height = t.tile_height if rows == 1 else int(t.tile_height * 0.75)
        grid = GridLayout(
            cols=-(-len(actions) // rows),
            spacing=t.spacing * 2,
            size_hint_y=None,
            height=height * rows + t.spacing * 2 * (rows - 1),
        )
        for action in actions:
            grid.add_widget(self._action_button(s, action, font_size=t.font_tile, height=height))
        into.add_widget(grid)

    def _welcome(self, s: Screen) -> None:
        t = self.theme
        self._heading(s, self.body, halign="center")
        self._tiles(s, self.body)
        self.body.add_widget(Widget(size_hint_y=0.15))
        self.body.add_widget(
            TextLabel(t, tr_optional("language.choose", s.language), size=t.font_small, color=t.muted_text)
        )
        grid = GridLayout(cols=4, spacing=12, size_hint_y=None)
        grid.bind(minimum_height=grid.setter("height"))
        for code, name, flag in languages():
            grid.add_widget(
                LanguageButton(
                    t,
                    code,
                    name,
                    flag,
                    code == s.language,
                    lambda c=code: self._call(self.station.set_language, c),
                    height=t.language_button_height,
                )
            )
        self.body.add_widget(grid)
        self.body.add_widget(Widget(size_hint_y=0.1))

    def _keypad_screen(
        self,
        s: Screen,
        caption: str,
        masked: bool,
        max_length: int,
        on_ok: Callable[[str], object],
        picture: Widget | None = None,
    ) -> None:
        t = self.theme
        row = BoxLayout(orientation="horizontal", spacing=t.padding * 2)
        left = BoxLayout(orientation="vertical", spacing=t.spacing)
        self._heading(s, left)
        left.add_widget(picture or Widget())
        row.add_widget(left)

        right = BoxLayout(
            orientation="vertical", size_hint_x=None, width=t.key_size * 3 + t.spacing, spacing=t.spacing // 2
        )
        right.add_widget(Widget(size_hint_y=None, height=4))
        if caption:
            right.add_widget(TextLabel(t, caption, size=t.font_small, color=t.muted_text))
        display = EntryDisplay(t, masked=masked)
        right.add_widget(display)

        def ok(value: str) -> None:
            self._typed[s.name] = ""
            keypad.digits = ""
            on_ok(value)

        keypad = Keypad(t, s.language, ok, max_length=max_length)

        def typed(_w: object, value: str) -> None:
            display.value = value
            self._typed[s.name] = value

        keypad.bind(digits=typed)
        keypad.digits = self._typed.get(s.name, "")
        display.value = keypad.digits
        right.add_widget(keypad)
        right.add_widget(Widget())
        row.add_widget(right)
        self.body.add_widget(row)

    def _identify(self, s: Screen) -> None:
        self._keypad_screen(
            s,
            tr_optional("identify.card_number", s.language),
            masked=False,
            max_length=CARD_NUMBER_MAX_LENGTH,
            picture=CardOnPadPictogram(self.theme),
            on_ok=lambda card: self._call(self.station.present_card, card),
        )

    def _pin(self, s: Screen) -> None:
        self._keypad_screen(
            s,
            "",
            masked=True,
            max_length=PIN_MAX_DIGITS,
            on_ok=lambda pin: self._call(self.station.enter_pin, pin),
        )

    def _list(self, s: Screen) -> None:
        t = self.theme
        self._heading(s, self.body)
        for line in s.details:
            self.body.add_widget(TextLabel(t, tr(line, s.language), size=t.font_body))
        rows = GridLayout(cols=1, spacing=10, size_hint_y=None)
        rows.bind(minimum_height=rows.setter("height"))
        for item in s.rows:
            rows.add_widget(ItemRowWidget(t, item, s.language))
        scroll = ScrollView(do_scroll_x=False, bar_width=12, scroll_type=["bars", "content"])
        scroll.add_widget(rows)
        self.body.add_widget(scroll)

    def _centered(self, s: Screen) -> None:
        t = self.theme
        box = BoxLayout(orientation="vertical", spacing=t.spacing * 2, size_hint_y=None)
        box.bind(minimum_height=box.setter("height"))
        self._heading(s, box, halign="center")
        if s.name in TILE_SCREENS:
            self._tiles(s, box)
        for line in s.details:
            box.add_widget(TextLabel(t, tr(line, s.language), size=t.font_body, halign="center"))
        anchor = AnchorLayout(anchor_y="center")
        anchor.add_widget(box)
        self.body.add_widget(anchor)

    def _idle_overlay(self, s: Screen) -> Widget:
        t = self.theme
        overlay = ModalOverlay(anchor_x="center", anchor_y="center")
        paint_background(overlay, t.overlay_dim)
        card = BoxLayout(
            orientation="vertical",
            size_hint=(None, None),
            size=(760, 360),
            padding=t.padding * 1.5,
            spacing=t.spacing * 2,
        )
        paint_background(card, t.background, t.border, 4)
        card.add_widget(
            TextLabel(t, tr("idle.warning", s.language), size=t.font_heading, bold=True, halign="center")
        )
        card.add_widget(Widget())
        card.add_widget(self._action_button(s, Action.MORE_TIME, font_size=t.font_tile, height=130))
        overlay.add_widget(card)
        return overlay

    # ---------------------------------------------------------------- staff screen

    def _staff_language(self) -> str:
        fallback = self.screen.language if self.screen else "nb"
        return str(getattr(self.station, "staff_language", "") or fallback)

    def open_staff(self) -> None:
        """Open the staff screen (a long press on the header), when `kiosk.core.staff` allows it."""
        patron_screen = self.screen.name if self.screen is not None else None
        if not hasattr(self.station, "status") or not staff_may_open(
            patron_screen, self.staff_view is not None
        ):
            return
        t = self.theme
        lang = self._staff_language()
        overlay = StaffOverlay(anchor_x="center", anchor_y="center")
        overlay.last_touch = time.monotonic()
        paint_background(overlay, t.overlay_dim)
        panel = BoxLayout(
            orientation="vertical", size_hint=(0.94, 0.94), padding=t.padding, spacing=t.spacing // 2
        )
        paint_background(panel, t.background, t.border, 4)
        panel.add_widget(TextLabel(t, tr("staff.heading", lang), size=t.font_heading, bold=True))
        figures = GridLayout(cols=3, spacing=t.spacing, size_hint_y=None, height=130)
        self.staff_online = StaffFigure(t, tr("staff.library_system", lang), "staff:online")
        self.staff_pending = StaffFigure(t, tr("staff.pending", lang), "staff:pending")
        self.staff_conflicts = StaffFigure(t, tr("staff.conflicts", lang), "staff:conflicts")
        for figure in (self.staff_online, self.staff_pending, self.staff_conflicts):
            figures.add_widget(figure)
        panel.add_widget(figures)
        self.staff_last_sync = TextLabel(t, "", size=t.font_small, color=t.muted_text)
        panel.add_widget(self.staff_last_sync)
        # height=0: an empty label keeps Kivy's default height (100 px) until it has text
        self.staff_message = TextLabel(t, "", size=t.font_small, bold=True, height=0)
        panel.add_widget(self.staff_message)
        self.staff_rows = GridLayout(cols=1, spacing=8, size_hint_y=None)
        self.staff_rows.bind(minimum_height=self.staff_rows.setter("height"))
        scroll = ScrollView(do_scroll_x=False, bar_width=12, scroll_type=["bars", "content"])
        scroll.add_widget(self.staff_rows)
        panel.add_widget(scroll)
        self.staff_hint = TextLabel(t, "", size=t.font_small, color=t.muted_text, height=0)
        panel.add_widget(self.staff_hint)
        buttons = BoxLayout(
            orientation="horizontal", size_hint_y=None, height=t.button_height, spacing=t.spacing
        )
        buttons.add_widget(Widget())
        for ref, key, primary, action in (
            ("staff:sync", "staff.sync_now", True, lambda: self._call(self._sync_now)),
            ("staff:close", "staff.close", False, self.close_staff),
        ):
            buttons.add_widget(
                KioskButton(t, tr(key, lang), action, ref=ref, primary=primary, size_hint_x=None, width=320)
            )
        panel.add_widget(buttons)
        overlay.add_widget(panel)
        self.staff_view = overlay
        self._shown_conflicts = None
        self.patron_area.add_widget(overlay)
        self.refresh_staff()
        self._staff_refresh = Clock.schedule_interval(self._staff_tick, STAFF_REFRESH.total_seconds())

    def close_staff(self) -> None:
        if self._staff_refresh is not None:
            self._staff_refresh.cancel()
            self._staff_refresh = None
        if self.staff_view is not None:
            self.patron_area.remove_widget(self.staff_view)
            self.staff_view = None

    def _staff_idle(self) -> timedelta:
        view = self.staff_view
        return timedelta(seconds=time.monotonic() - view.last_touch) if view is not None else timedelta(0)

    def _staff_tick(self, *_: object) -> None:
        patron_screen = self.screen.name if self.screen is not None else None
        if self.staff_view is not None and staff_must_close(patron_screen, self._staff_idle(), self._syncing):
            self.close_staff()
            return
        self.refresh_staff()

    def refresh_staff(self) -> None:
        """Show the station's status now: online state, entries waiting, last sync, conflicts."""
        if self.staff_view is None:
            return
        t = self.theme
        lang = self._staff_language()
        try:
            status = self.station.status()
        except Exception:
            log.exception("staff screen: station status")
            return
        view = staff_view(status)
        for widget, figure in (
            (self.staff_online, view.online),
            (self.staff_pending, view.pending),
            (self.staff_conflicts, view.conflicts),
        ):
            widget.show(
                figure.value if isinstance(figure.value, str) else tr(figure.value, lang), alert=figure.alert
            )
        if view.last_sync is not None:
            when = f"{format_date(view.last_sync.date(), lang)} {view.last_sync:%H:%M}"
            self.staff_last_sync.text = tr("staff.last_sync", lang, when=when)
        else:
            self.staff_last_sync.text = tr("staff.never_synced", lang)
        refs = tuple(row.ref for row in view.rows)
        if refs != self._shown_conflicts:
            self._shown_conflicts = refs
            self.staff_rows.clear_widgets()
            if view.empty is not None:
                self.staff_rows.add_widget(TextLabel(t, tr(view.empty, lang), size=t.font_body))
            for row in view.rows:
                reason = tr_optional(row.reason.key, lang) or row.reason_name
                what = tr_optional(row.operation.key, lang) or row.operation_name
                self.staff_rows.add_widget(
                    ConflictRowWidget(t, row.item_id, f"{what} {row.at:%d.%m %H:%M}", reason, ref=row.ref)
                )
            self.staff_hint.text = tr(view.hint, lang)

    async def _sync_now(self) -> None:
        if self._syncing:
            return
        lang = self._staff_language()
        self._syncing = True
        self.staff_message.text = tr(SYNCING, lang)
        try:
            report = await self.station.sync()
        except Exception as error:
            log.exception("staff screen: sync")
            message = tr(sync_outcome(None, str(error)), lang)
        else:
            message = tr(sync_outcome(report), lang)
        finally:
            self._syncing = False
        if self.staff_view is not None:
            self.staff_message.text = message
            self.refresh_staff()

    def staff_conflict_rows(self) -> list[ConflictRowWidget]:
        return [w for w in self.walk() if isinstance(w, ConflictRowWidget)]

    # ---------------------------------------------------------------- person → station

    def _press(self, action: Action) -> None:
        self._call(self.station.press, action)

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

    # ---------------------------------------------------------------- for tests and tooling

    def walk(self) -> Iterator[Widget]:
        yield from self.root_layout.walk(restrict=False)

    def find(self, ref: str) -> Widget | None:
        """The widget with this ref ("action:borrow", "key:7", "lang:se", "demo:place_card", "row:<id>")."""
        for w in self.walk():
            if getattr(w, "ref", None) == ref and w.get_root_window() is not None and w.opacity > 0:
                return w
        return None

    def screenshot(self, path: str) -> str:
        """Save what the window shows now as a PNG at exactly `path`."""
        import os
        import shutil

        written = Window.screenshot(name=path[:-4] + "-shot.png" if path.endswith(".png") else path)
        if written:
            shutil.move(written, path)
        return path if written and os.path.exists(path) else ""

    def rows(self) -> list[ItemRowWidget]:
        return [w for w in self.walk() if isinstance(w, ItemRowWidget)]


__all__ = ["KioskApp", "Text"]
