"""While root installs an update (`/run/kiosk/updating` exists), the station is out of service.

`kiosk-update install-pending` (root) marks the file only when no patron session runs, then waits for
the station to say, in its state file, that it is out of service (`out_of_service`); the station then
starts no session until the file is gone (the kiosk normally reboots into the new slot first). This is a
small check of its own beside the technician's out-of-order command (kiosk.station.out_of_order): both
use the station's one out-of-order switch, and each lifts only what it set itself, so an update never
puts a kiosk back in service that a technician had taken out of it.

A patron already at the station when the file appears keeps their session: the switch is thrown only
once the session has ended (the installer, seeing the session in the state file, takes the mark away
again and waits).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from kiosk.core import PadTag

log = logging.getLogger(__name__)

UPDATING_FILE = "updating"
# What the patrons read under the standard out-of-order heading (in every language: the words are the
# technician's kind of note, shown as given).
UPDATING_NOTE = "Oppdateres, straks tilbake / Updating, back in a few minutes"


class Switch(Protocol):
    """The station's out-of-order switch (kiosk.station.out_of_order.OutOfOrder)."""

    @property
    def message(self) -> str | None: ...

    def set(self, message: str | None, pad: tuple[PadTag, ...] = ()) -> None: ...


class Pad(Protocol):
    tags: dict[bytes, PadTag]  # what lies on the pad now (kiosk.station.pad.PadWatcher)


class StationView(Protocol):
    @property
    def session_active(self) -> bool: ...

    @property
    def watcher(self) -> Pad: ...

    @property
    def out_of_order(self) -> Switch: ...


class UpdateGate:
    """Looks for the update marker on each `check()` (the service reporter's loop, every half second)."""

    def __init__(self, station: StationView, run_dir: Path | None, note: str = UPDATING_NOTE) -> None:
        self.station, self.run_dir, self.note = station, run_dir, note
        self.holding = False  # this gate put the station out of service

    def updating(self) -> bool:
        return self.run_dir is not None and (self.run_dir / UPDATING_FILE).exists()

    def check(self) -> bool:
        """Follow the marker; True when the station is out of service for an update now."""
        switch = self.station.out_of_order
        if self.updating():
            if not self.holding and switch.message is None and not self.station.session_active:
                log.warning("an update is being installed: out of service until it is done")
                switch.set(self.note)
                self.holding = True
        elif self.holding:
            self.holding = False
            if switch.message == self.note:  # a technician's own out-of-order stays
                log.warning("the update is over: back in service")
                switch.set(None, tuple(self.station.watcher.tags.values()))  # the session learns the pad
        return self.holding


__all__ = ["UPDATING_FILE", "UPDATING_NOTE", "UpdateGate"]
