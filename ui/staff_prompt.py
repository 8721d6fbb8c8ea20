"""The credential prompt in front of the staff screen (issue 11, finding 5): holding the header opens it,
never the staff screen itself. A passphrase field, or a staff card number and a PIN (`[staff] kind`);
"Open" hands them to `Station.staff.unlock()` (argon2 in a thread, with the lockout); what the prompt says
(no credential set, wrong, locked for n minutes) is `kiosk.core.staff_prompt`'s. The fields are masked and
emptied after every try; nothing typed is logged or kept. A touch kiosk has no keyboard: the prompt
carries Kivy's on-screen keyboard (`VKeyboard`), typing into the field last touched; a USB keyboard works too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.textinput import TextInput
from kivy.uix.vkeyboard import VKeyboard
from kivy.uix.widget import Widget

from kiosk.core import StaffPrompt
from ui.overlays import ModalOverlay
from ui.text import tr
from ui.theme import Theme
from ui.widgets import KioskButton, TextLabel, paint_background


@dataclass
class PromptFields:
    """What the prompt shows and what staff typed into it."""

    ask: TextLabel
    message: TextLabel
    inputs: dict[str, TextInput]  # "passphrase", or "card" and "pin": `StaffAccess.unlock`'s keywords
    open_button: KioskButton

    def typed(self) -> dict[str, str]:
        return {name: field.text for name, field in self.inputs.items()}

    def show(self, prompt: StaffPrompt, lang: str) -> None:
        self.ask.text = tr(prompt.ask, lang)
        self.message.text = tr(prompt.message, lang) if prompt.message is not None else ""
        for field in self.inputs.values():
            field.text = ""
            field.disabled = not prompt.may_try
        self.open_button.disabled = not prompt.may_try


def build_prompt(
    theme: Theme,
    lang: str,
    kind: str,
    overlay: ModalOverlay,
    on_open: Callable[[], object],
    on_cancel: Callable[[], object],
) -> PromptFields:
    t = theme
    paint_background(overlay, t.overlay_dim)
    panel = BoxLayout(
        orientation="vertical", size_hint=(0.8, 0.94), padding=t.padding, spacing=t.spacing // 2
    )
    paint_background(panel, t.background, t.border, 4)
    panel.add_widget(TextLabel(t, tr("staff.prompt.heading", lang), size=t.font_heading, bold=True))
    ask = TextLabel(t, "", size=t.font_body)
    panel.add_widget(ask)
    names = ("card", "pin") if kind == "card_pin" else ("passphrase",)
    labels = {
        "card": "staff.prompt.card",
        "pin": "staff.prompt.pin",
        "passphrase": "staff.prompt.passphrase_field",
    }
    inputs: dict[str, TextInput] = {}
    for name in names:
        field = TextInput(
            hint_text=tr(labels[name], lang),
            password=name != "card",
            multiline=False,
            write_tab=False,
            font_size=t.font_body,
            size_hint_y=None,
            height=t.button_height,
            input_filter="int" if name == "pin" else None,
        )
        field.bind(on_text_validate=lambda *_: on_open())
        inputs[name] = field
        panel.add_widget(field)
    message = TextLabel(t, "", size=t.font_small, bold=True)
    panel.add_widget(message)
    buttons = BoxLayout(orientation="horizontal", size_hint_y=None, height=t.button_height, spacing=t.spacing)
    buttons.add_widget(Widget())
    open_button = KioskButton(t, tr("staff.prompt.open", lang), on_open, ref="staff:unlock", primary=True)
    buttons.add_widget(open_button)
    buttons.add_widget(KioskButton(t, tr("staff.close", lang), on_cancel, ref="staff:cancel", primary=False))
    panel.add_widget(buttons)
    panel.add_widget(_on_screen_keyboard(inputs, on_open))
    overlay.add_widget(panel)
    return PromptFields(ask, message, inputs, open_button)


def _on_screen_keyboard(inputs: dict[str, TextInput], on_open: Callable[[], object]) -> VKeyboard:
    """Kivy's on-screen keyboard, fixed in the panel; it types into the field staff touched last."""
    fields = list(inputs.values())
    target = {"field": fields[0]}
    for field in fields:
        field.bind(focus=lambda field, focused: target.update(field=field) if focused else None)
    keyboard = VKeyboard(do_translation=False, do_rotation=False, do_scale=False, size_hint_y=1.6)

    def textinput(_keyboard: object, text: str) -> None:
        field = target["field"]
        if not field.disabled:
            field.insert_text(text)

    def key_down(_keyboard: object, keycode: str, _internal: object, _modifiers: object) -> None:
        field = target["field"]
        if keycode == "backspace" and not field.disabled:
            field.do_backspace()
        elif keycode == "enter":
            on_open()

    keyboard.bind(on_textinput=textinput, on_key_down=key_down)
    return keyboard


__all__ = ["PromptFields", "build_prompt"]
