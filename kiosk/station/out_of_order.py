"""Out of order: a technician's command from the console (issue 13) puts the station out of service with
a message for patrons. While it is out of order the patrons see the out-of-order screen (the heading, the
standard instruction, and the technician's words) instead of the session's screens, and what they do
(buttons, PIN, card, language, items on the pad) reaches no session; ticks still do, so the session
behind it stays at its welcome. Back in service, the session's screen returns and learns what is on the
pad now. Only set between patron sessions (`kiosk.station.console_link`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from kiosk.core import (
    CardPresented,
    Event,
    LanguageChosen,
    PadTag,
    PinEntered,
    Pressed,
    Screen,
    ScreenName,
    TagsChanged,
    Text,
)

log = logging.getLogger(__name__)

PATRON_INPUT = (Pressed, PinEntered, CardPresented, LanguageChosen, TagsChanged)
MAX_MESSAGE = 500


def out_of_order_screen(language: str, message: str) -> Screen:
    """What patrons see: the heading, the standard instruction, and the technician's message."""
    note = message.strip()[:MAX_MESSAGE]
    return Screen(
        name=ScreenName.OUT_OF_ORDER,
        language=language,
        heading=Text("out_of_order.heading"),
        message=Text("out_of_order.instruction"),
        details=(Text.of("out_of_order.note", note=note),) if note else (),
    )


class OutOfOrder:
    """The out-of-order switch in front of the session's screens and input."""

    def __init__(
        self,
        show: Callable[[Screen], None],
        session_screen: Callable[[], Screen],
        feed: Callable[[Event], None],
        clock: Callable[[], datetime],
    ) -> None:
        self._show, self._session_screen, self._feed, self._clock = show, session_screen, feed, clock
        self.message: str | None = None  # None: in service

    @property
    def active(self) -> bool:
        return self.message is not None

    def refuses(self, event: Event) -> bool:
        """Patrons' input while out of order reaches no session."""
        return self.message is not None and isinstance(event, PATRON_INPUT)

    def instead(self, screen: Screen) -> Screen:
        """The screen to show for the session's `screen`."""
        if self.message is None:
            return screen
        return replace(out_of_order_screen(screen.language, self.message), offline=screen.offline)

    def set(self, message: str | None, pad: tuple[PadTag, ...] = ()) -> None:
        """Out of order with `message`, or (None) back in service with `pad` on the pad."""
        was, self.message = self.message, message
        log.warning("out of order: %s" if message is not None else "back in service%s", message or "")
        self._show(self._session_screen())
        if was is not None and message is None:
            self._feed(TagsChanged(pad, self._clock()))  # what is on the pad now


__all__ = ["PATRON_INPUT", "OutOfOrder", "out_of_order_screen"]
