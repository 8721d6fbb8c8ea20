"""What tests and accessibility tooling read from the running app: widgets by ref, rows, screenshots, and
the labels whose text does not fit (cut off, or broken inside a word)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

from kivy.core.window import Window
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from ui.rows import ItemRowWidget


class Inspection:
    """Mixed into KioskApp (needs `root_layout`)."""

    root_layout: Any

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
        written = Window.screenshot(name=path[:-4] + "-shot.png" if path.endswith(".png") else path)
        if written:
            shutil.move(written, path)
        return path if written and os.path.exists(path) else ""

    def rows(self) -> list[ItemRowWidget]:
        return [w for w in self.walk() if isinstance(w, ItemRowWidget)]

    def overflows(self) -> list[str]:
        """Labels whose text is larger than their box (cut off) or broken inside a word: what the layout
        tests require to be none."""
        found = [f"word broken: {broken!r}" for w in self.walk() if (broken := broken_word(w))]
        for w in self.walk():
            if not isinstance(w, Label) or not w.text or w.opacity == 0 or w.get_root_window() is None:
                continue
            tw, th = w.texture_size
            if tw > w.width + 1.5 or th > w.height + 1.5:
                name = getattr(w, "ref", "") or type(w).__name__
                found.append(f"{name} {w.text[:60]!r}: text {tw}x{th} in {w.width:.0f}x{w.height:.0f}")
        return found


def broken_word(widget: Widget) -> str:
    """The word a label's wrapping cut in two ("Arbeid|er"), or ""."""
    if not isinstance(widget, Label) or not widget.text or widget.get_root_window() is None:
        return ""
    lines = [
        "".join(word.text for word in line.words) for line in getattr(widget._label, "_cached_lines", [])
    ]
    text, position = widget.text, 0
    for line in lines[:-1]:
        found = text.find(line.strip(), position) if line.strip() else -1
        if found < 0:
            continue
        end = found + len(line.strip())
        inside = 0 < end < len(text) and not text[end - 1].isspace() and not text[end].isspace()
        if inside and text[end - 1] not in "-/–" and text[end] not in "-/–":
            return f"{text[max(0, end - 12) : end]}|{text[end : end + 12]}"
        position = end
    return ""


__all__ = ["Inspection", "broken_word"]
