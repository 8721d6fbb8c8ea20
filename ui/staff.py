"""The staff screen. Holding the header on the welcome screen (`staff_hold` seconds), only between
patrons, opens the credential prompt (`ui.staff_prompt`); only the right credential opens the screen.
Online or offline, journal entries waiting to be sent, the last sync, the staff tasks (`kiosk.core.TaskLine`:
security writes to check, lost slips with their routing, a dead reader), the conflicts (item and reason,
never a patron) and a "Sync now" button; it reads `station.status()` and closes itself when a patron starts
a session or after a minute without a touch (the prompt too).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from kivy.clock import Clock
from kivy.graphics import Color, Line, Rectangle
from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

from kiosk.core import (
    STAFF_REFRESH,
    SYNCING,
    staff_may_open,
    staff_must_close,
    staff_prompt,
    staff_view,
    sync_outcome,
)
from kiosk.i18n import format_date
from ui.overlays import ModalOverlay
from ui.staff_prompt import PromptFields, build_prompt
from ui.text import tr, tr_optional
from ui.theme import Theme
from ui.widgets import KioskButton, TextLabel, paint_background

log = logging.getLogger(__name__)


class StaffOverlay(ModalOverlay):
    """The staff screen's backdrop: swallows touches like any overlay and notes when staff touched it."""

    last_touch = 0.0

    def on_touch_down(self, touch: Any) -> bool:
        self.last_touch = time.monotonic()
        return super().on_touch_down(touch)


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
            height=int(theme.row_min_height * 1.2),
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


class StaffScreen:
    """Mixed into KioskApp: needs `station`, `theme`, `screen`, `patron_area` and `_call`."""

    station: Any
    theme: Theme
    screen: Any
    patron_area: Any
    staff_hold: float
    staff_view: StaffOverlay | None
    _staff_refresh: Any
    _syncing: bool
    _shown_conflicts: tuple[str, ...] | None
    accepts_input: bool  # the station has started (ui.starting)
    staff_prompt_view: StaffOverlay | None = None  # the credential prompt, while it is shown
    staff_prompt_fields: PromptFields | None = None
    _prompt_tick: Any = None

    def _call(self, fn: Any, *args: Any) -> None:
        raise NotImplementedError

    def _staff_language(self) -> str:
        fallback = self.screen.language if self.screen else "nb"
        return str(getattr(self.station, "staff_language", "") or fallback)

    def open_staff(self) -> None:
        """A long press on the header: the credential prompt, when `kiosk.core.staff` allows it."""
        patron_screen = self.screen.name if self.screen is not None else None
        shown = self.staff_view is not None or self.staff_prompt_view is not None
        if not hasattr(self.station, "staff") or not staff_may_open(patron_screen, shown):
            return
        if not self.accepts_input:
            return  # the station has not started (or did not): out of order is no staff screen then
        access = self.station.staff
        overlay = StaffOverlay(anchor_x="center", anchor_y="center")
        overlay.last_touch = time.monotonic()
        lang = self._staff_language()
        fields = build_prompt(
            self.theme,
            lang,
            access.kind.value,
            overlay,
            lambda: self._call(self._try_staff),
            self.close_staff,
        )
        fields.show(staff_prompt(access.kind.value, access.locked_for()), lang)
        self.staff_prompt_view, self.staff_prompt_fields = overlay, fields
        self.patron_area.add_widget(overlay)
        self._prompt_tick = Clock.schedule_interval(self._staff_tick, STAFF_REFRESH.total_seconds())

    async def _try_staff(self) -> None:
        fields, access, lang = self.staff_prompt_fields, self.station.staff, self._staff_language()
        if fields is None or fields.open_button.disabled:
            return
        typed = fields.typed()
        for field in fields.inputs.values():
            field.text = ""
        fields.open_button.disabled = True
        fields.message.text = tr("staff.prompt.checking", lang)
        opened = await access.unlock(**typed)
        if self.staff_prompt_fields is not fields:
            return  # closed meanwhile (a patron started)
        if not opened:
            fields.show(staff_prompt(access.kind.value, access.locked_for(), wrong=True), lang)
            return
        self._close_prompt()
        self._show_staff_screen()

    def _close_prompt(self) -> None:
        if self._prompt_tick is not None:
            self._prompt_tick.cancel()
            self._prompt_tick = None
        if self.staff_prompt_view is not None:
            self.patron_area.remove_widget(self.staff_prompt_view)
        self.staff_prompt_view = self.staff_prompt_fields = None

    def _show_staff_screen(self) -> None:
        """The staff screen itself: only `_try_staff` opens it, after the right credential."""
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
        figures = GridLayout(cols=3, spacing=t.spacing, size_hint_y=None, height=t.button_height * 2)
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
                KioskButton(
                    t,
                    tr(key, lang),
                    action,
                    ref=ref,
                    primary=primary,
                    size_hint_x=None,
                    width=t.button_width * 1.4,
                )
            )
        panel.add_widget(buttons)
        overlay.add_widget(panel)
        self.staff_view = overlay
        self._shown_conflicts = None
        self.patron_area.add_widget(overlay)
        self.refresh_staff()
        self._staff_refresh = Clock.schedule_interval(self._staff_tick, STAFF_REFRESH.total_seconds())

    def close_staff(self) -> None:
        self._close_prompt()
        if self._staff_refresh is not None:
            self._staff_refresh.cancel()
            self._staff_refresh = None
        if self.staff_view is not None:
            self.patron_area.remove_widget(self.staff_view)
            self.staff_view = None

    def _staff_idle(self) -> timedelta:
        view = self.staff_view or self.staff_prompt_view
        return timedelta(seconds=time.monotonic() - view.last_touch) if view is not None else timedelta(0)

    def _staff_tick(self, *_: object) -> None:
        patron_screen = self.screen.name if self.screen is not None else None
        shown = self.staff_view is not None or self.staff_prompt_view is not None
        if shown and staff_must_close(patron_screen, self._staff_idle(), self._syncing):
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
        refs = tuple(task.ref for task in view.tasks) + tuple(row.ref for row in view.rows)
        if refs != self._shown_conflicts:
            self._shown_conflicts = refs
            self.staff_rows.clear_widgets()
            if view.tasks:
                self.staff_rows.add_widget(TextLabel(t, tr("staff.tasks", lang), size=t.font_body, bold=True))
            for task in view.tasks:
                when = f"{tr(task.what, lang)} {task.at:%d.%m %H:%M}"
                self.staff_rows.add_widget(
                    ConflictRowWidget(t, task.item_id, when, task.detail, ref=task.ref)
                )
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

    def staff_conflict_rows(self, prefix: str = "conflict:") -> list[ConflictRowWidget]:
        """The rows shown: conflicts, or with prefix "task:" the staff tasks."""
        return [w for w in self.walk() if isinstance(w, ConflictRowWidget) and w.ref.startswith(prefix)]
