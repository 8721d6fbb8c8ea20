"""The item rows of the borrow, return, account and receipt screens, and the list that holds them.

A row grows to its text (title, what happened, the library's own words, the item id): nothing is cut
off or shortened. The list starts with a summary line ("3 items done. 1 item needs you: see below.")
and keeps the first row that needs the patron in view, else the newest row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.clock import Clock
from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.scrollview import ScrollView

from kiosk.core import Action, ItemRow, RowState, Text
from ui.text import library_words, tr, tr_optional
from ui.theme import Theme
from ui.widgets import KioskButton, StateBadge, TextLabel, paint_background, text_width

RowPress = Callable[[Action, str], None]

NEEDS_PATRON = (RowState.REFUSED, RowState.ATTENTION)


class LibraryWords(BoxLayout):
    """What the library system said, in its own words and language, set apart under a caption."""

    def __init__(self, theme: Theme, words: str, language: str, **kwargs: Any) -> None:
        super().__init__(orientation="vertical", size_hint_y=None, padding=theme.spacing // 2, **kwargs)
        paint_background(self, theme.library_bg)
        caption = TextLabel(
            theme, tr("library.says", language), size=theme.font_small, color=theme.muted_text
        )
        said = TextLabel(theme, f"“{words}”", size=theme.font_small, color=theme.library_text, italic=True)
        for label in (caption, said):
            self.add_widget(label)
        self.bind(minimum_height=self.setter("height"))


class ItemRowWidget(BoxLayout):
    """One item: state badge | title, what happened, the library's words, item id."""

    ref = StringProperty("")
    state = StringProperty("")
    row_text = StringProperty("")
    title = StringProperty("")
    built = 0  # rows built in this process: what `KioskApp.stats` and bench/ui.py count

    def __init__(
        self,
        theme: Theme,
        row: ItemRow,
        language: str,
        badge_width: int = 0,
        press: RowPress | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            orientation="horizontal",
            size_hint_y=None,
            height=theme.row_min_height,
            spacing=theme.spacing,
            padding=(0, 0, theme.spacing, 0),
            **kwargs,
        )
        paint_background(self, theme.row_bg, theme.row_border, 1.5)
        ItemRowWidget.built += 1
        self.row = row  # what it shows: a row that is still equal is never built again
        self.ref = f"row:{row.item_id}"
        self.state = str(row.state)
        self.title = row.title
        self.row_text = tr(row.text, language)
        self.badge = StateBadge(
            theme,
            str(row.state),
            tr_optional(f"row.state.{row.state}", language),
            size_hint_x=None,
            width=badge_width or theme.badge_width,
        )
        self.add_widget(self.badge)
        column = BoxLayout(orientation="vertical", size_hint_y=None, padding=(0, theme.spacing // 2))
        column.add_widget(TextLabel(theme, row.title or row.item_id, size=theme.font_body, bold=True))
        column.add_widget(TextLabel(theme, self.row_text, size=theme.font_body))
        words = library_words(row.text)
        if words:
            column.add_widget(LibraryWords(theme, words, language))
        column.add_widget(TextLabel(theme, row.item_id, size=theme.font_small, color=theme.muted_text))
        for action in row.actions:
            if press is not None:
                column.add_widget(self._button(theme, action, row, language, press))
        column.bind(minimum_height=column.setter("height"))
        self.add_widget(column)
        self._min = theme.row_min_height
        column.bind(height=lambda *_: setattr(self, "height", max(self._min, column.height)))

    @staticmethod
    def _button(theme: Theme, action: Action, row: ItemRow, language: str, press: RowPress) -> KioskButton:
        """A row's own button (renew this loan): pressed with the row's item id."""
        return KioskButton(
            theme,
            tr(f"action.{action}", language),
            lambda: press(action, row.item_id),
            ref=f"action:{action}:{row.item_id}",
            primary=False,
            size_hint_x=None,
            width=max(
                theme.badge_width * 2,
                text_width(theme, tr(f"action.{action}", language), theme.font_body) + 4 * theme.spacing,
            ),
        )

    @property
    def needs_patron(self) -> bool:
        return self.state in (s.value for s in NEEDS_PATRON)


def badge_width(theme: Theme, language: str) -> int:
    """Wide enough for the longest state word of this language on one line (no "Arbeid|er")."""
    words = [tr_optional(f"row.state.{state}", language) for state in RowState]
    widest = max(text_width(theme, word, theme.font_small, bold=True) for word in words)
    return max(theme.badge_width, widest + 2 * theme.spacing + 4)


def summary(rows: tuple[ItemRow, ...], language: str) -> str:
    done = sum(1 for r in rows if r.state is RowState.DONE)
    problems = sum(1 for r in rows if r.state in NEEDS_PATRON)
    parts = [tr(Text.of("summary.done", count=done), language)] if done else []
    if problems:
        parts.append(tr(Text.of("summary.attention", count=problems), language))
    return " ".join(parts)


class RowList(GridLayout):
    """The rows, at their natural height inside the screen's scrolling body; `keep_in_view(scroll)` shows
    the first row that needs the patron, else the newest (the summary line stays on screen outside)."""

    def __init__(
        self,
        theme: Theme,
        rows: tuple[ItemRow, ...],
        language: str,
        press: RowPress | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(cols=1, spacing=theme.spacing // 2, size_hint_y=None, **kwargs)
        self.bind(minimum_height=self.setter("height"))
        badge = badge_width(theme, language)
        self._make = lambda item: ItemRowWidget(theme, item, language, badge, press)
        self.widgets = [self._make(item) for item in rows]
        for widget in self.widgets:
            self.add_widget(widget)
        self.scroll: ScrollView | None = None
        # scroll once the rows have their heights (they grow to their text after the first frames)
        self._settle = Clock.create_trigger(self._keep, 0.05)
        self.bind(height=lambda *_: self._settle())

    def update(self, rows: tuple[ItemRow, ...]) -> None:
        """Show `rows`, building only the rows that changed or are new: an item done, a new item on the
        pad, do not rebuild the other rows of the stack (issue 15, "render less")."""
        kept = {w.row.item_id: w for w in self.widgets}
        wanted = [kept[r.item_id] if r.item_id in kept and kept[r.item_id].row == r else None for r in rows]
        fresh = [w if w is not None else self._make(r) for w, r in zip(wanted, rows, strict=True)]
        same_order = [w.row.item_id for w in self.widgets] == [r.item_id for r in rows[: len(self.widgets)]]
        if same_order and len(rows) >= len(self.widgets):
            for old, new in zip(self.widgets, fresh, strict=False):
                if old is not new:  # the same place in the list: children are in reverse order
                    place = self.children.index(old)
                    self.remove_widget(old)
                    self.add_widget(new, index=place)
            for new in fresh[len(self.widgets) :]:
                self.add_widget(new)
        else:  # rows gone or moved (a return's rows leave the account list): re-lay, reusing the widgets
            self.clear_widgets()
            for widget in fresh:
                self.add_widget(widget)
        self.widgets = fresh
        self._settle()

    def keep_in_view(self, scroll: ScrollView) -> None:
        self.scroll = scroll
        scroll.bind(height=lambda *_: self._settle())
        for content in scroll.children:
            content.bind(height=lambda *_: self._settle())
        self._settle()
        Clock.schedule_once(self._keep, 0.25)  # after the layout has placed the rows

    def target(self) -> ItemRowWidget | None:
        problems = [w for w in self.widgets if w.needs_patron]
        return problems[0] if problems else (self.widgets[-1] if self.widgets else None)

    def _keep(self, *_: object) -> None:
        """Put the target row's top at the top of the view (or as near as the scrolling allows)."""
        target, scroll = self.target(), self.scroll
        if target is None or scroll is None or not scroll.children:
            return
        content = scroll.children[0]
        scrollable = content.height - scroll.height
        if scrollable <= 0:
            return
        # target.top - its parents' offsets, in the content's own frame (the same whatever the scroll)
        from_top = (
            content.top
            - target.to_window(*target.pos)[1]
            - target.height
            + content.to_window(*content.pos)[1]
        )
        scroll.scroll_y = min(1.0, max(0.0, 1 - (from_top - 10) / scrollable))
