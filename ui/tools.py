"""What every patron screen offers besides its own buttons, mixed into `KioskApp`: the header's tools
(Read aloud, Read the receipt aloud, Larger text, Help), the headset, the keyboard, and no way out of the
app for patrons."""

from __future__ import annotations

from typing import Any

from kivy.config import Config
from kivy.core.window import Window

from kiosk.core import ScreenName
from ui.overlays import HelpCard
from ui.widgets import KioskButton


class PatronTools:
    """Mixed into KioskApp (needs its screen, theme, reader, header, keys and render)."""

    screen: Any
    theme: Any
    base_theme: Any
    reader: Any
    header: Any
    help: Any
    overlay: Any
    staff_view: Any
    patron_area: Any
    keys: Any
    _tools_key: Any
    # and its render(screen, announce) and _build_frame()

    def _headset_changed(self, plugged: bool) -> None:
        self.reader.headset_changed(plugged, self.screen)
        if self.screen is not None:
            self.render(self.screen, announce=False)  # the notice when the language has no voice

    def _tool_buttons(self, lang: str) -> None:
        key = (
            lang,
            self.theme,
            self.reader.available,
            self.receipt_tool,
            self.patron_area.width,
            self.header,
        )
        if key == self._tools_key:
            return  # the same tools in the same language: not built again
        self._tools_key = key
        tools = [
            ("ui:speak", "ui.speak", self.speak_screen),
            (
                "ui:large_text",
                "ui.normal_text" if self.theme.large else "ui.large_text",
                self.toggle_large_text,
            ),
            ("ui:help", "ui.help", self.show_help),
        ]
        if not self.reader.available:
            tools = tools[1:]
        elif self.receipt_tool:
            tools.insert(1, ("ui:speak_receipt", "ui.speak_receipt", lambda: self.reader.read_receipt(lang)))
        self.header.show_tools(tools, lang, self.patron_area.width)

    @property
    def receipt_tool(self) -> bool:
        """Read the receipt aloud: offered on the receipt and goodbye screens of a visit with a receipt."""
        shown = self.screen.name if self.screen is not None else None
        return bool(self.reader.receipt) and shown in (ScreenName.RECEIPT, ScreenName.GOODBYE)

    # ---------------------------------------------------------------- the tools on every screen

    def toggle_large_text(self) -> None:
        self.theme = self.base_theme.larger(not self.theme.large)
        self._build_frame()
        if self.screen is not None:
            self.render(self.screen, announce=False)

    def show_help(self) -> None:
        if self.help is not None or self.screen is None:
            return
        self.help = HelpCard(self.theme, self.screen.language, self.close_help)
        self.patron_area.add_widget(self.help)
        if self.reader.active:
            self.reader.start(self.screen, self.help.spoken())

    def close_help(self) -> None:
        if self.help is not None:
            self.patron_area.remove_widget(self.help)
            self.help = None

    def speak_screen(self) -> None:
        """Read aloud (the button, or the keyboard's speech key): this screen now, and those that follow."""
        extra = (
            self.help.spoken() if self.help is not None else (self.overlay.spoken() if self.overlay else None)
        )
        self.reader.start(self.screen, extra)
        if self.screen is not None and not self.reader.can_speak(self.screen.language):
            self.render(self.screen, announce=False)  # shows that speech is not available, and the offers

    # ---------------------------------------------------------------- no way out for patrons

    use_kivy_settings = False  # Kivy's own settings panel (F1, the menu key) is not for patrons

    def open_settings(self, *_args: Any) -> bool:
        return False  # never opened, whatever key asks for it

    def _no_way_out(self) -> None:
        """No key or gesture a patron can reach ends or leaves the app (issue 11, finding 6): not Escape
        (Kivy's exit_on_escape), not the window manager's close (Alt+F4), not Kivy's settings panel.
        Only the system service stops it (SIGTERM: `kiosk run` stops the app); console switching and
        Ctrl+Alt+Del are the device image's job."""
        Config.set("kivy", "exit_on_escape", "0")
        Window.bind(on_request_close=lambda *_args, **_kwargs: True)

    # ---------------------------------------------------------------- keyboard

    def focusable(self) -> list[KioskButton]:
        top = self.help or self.overlay or self.staff_view or self.patron_area
        buttons = [w for w in top.walk(restrict=True) if isinstance(w, KioskButton) and w.get_root_window()]
        return sorted(
            buttons, key=lambda b: (-round(b.to_window(*b.pos)[1] + b.height), b.to_window(*b.pos)[0])
        )

    def _on_key_down(self, _window: Any, key: int, _scancode: int, _text: str, modifiers: list[str]) -> bool:
        return self.keys.key(key, modifiers)
