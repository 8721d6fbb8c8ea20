"""The asynchronous shell around the session: hardware, circulation, journal, screens."""

from kiosk.station.pad import (
    PadChange,
    PadWatcher,
    decode_pad_tag,
    log,
)
from kiosk.station.station import (
    ConflictNote,
    Observer,
    Outcome,
    ScreenListener,
    Station,
    StationStatus,
    hold_patron_label,
    local_now,
)

__all__ = [
    "ConflictNote",
    "Observer",
    "Outcome",
    "PadChange",
    "PadWatcher",
    "ScreenListener",
    "Station",
    "StationStatus",
    "decode_pad_tag",
    "hold_patron_label",
    "local_now",
    "log",
]
