"""The asynchronous shell around the session: hardware, circulation, journal, screens.

`Station` is built from its devices, the session policy and `StationSettings`
(`kiosk.cli.build.build_station` does it from the configuration file). Observers receive the
`Observation` types below; `as_record()` / `to_json()` turn one into the transcript's JSON.

The gateway's parts (the consortium's card lists and settings, the console link, the heartbeat's reports
and hour counts) load pydantic models and httpx: they are imported on first use (the module `__getattr__`
below), so a SIP2-direct station never loads them (issue 15, cold start; tests/test_lazy_imports.py).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from kiosk.station.device_observations import (
    JournalTrouble,
    Printed,
    PrinterHealth,
    ReaderHealth,
    ReceiptEmailed,
    SecurityFailure,
    SecurityWrite,
    StaffSlip,
    StationFault,
    UnreadableTagSeen,
)
from kiosk.station.gateway import GatewayLink
from kiosk.station.observations import (
    Circulated,
    ConflictFound,
    JournalPurged,
    NetworkChanged,
    NotCirculated,
    Observation,
    Observer,
    Outcome,
    PatronLookup,
    Reconciling,
    Replayed,
    ScreenShown,
    SessionSurprised,
    Synced,
    from_replayer,
)
from kiosk.station.out_of_order import OutOfOrder
from kiosk.station.pad import PadChange, PadWatcher, decode_pad_tag, log
from kiosk.station.printing import hold_patron_label
from kiosk.station.receipts import patron_receipts, receipt_labels, slip_receipt
from kiosk.station.recent_logs import RecentLogs, without_patron_data
from kiosk.station.settings import StationSettings, StationTiming
from kiosk.station.staff_access import StaffAccess
from kiosk.station.station import (
    ConflictNote,
    ScreenListener,
    Station,
    StationStatus,
    local_now,
    observe_records,
)

if TYPE_CHECKING:
    from kiosk.station.central_cards import (
        CentralCardBook,
        CentralLists,
        CentralPolicy,
        load_stored,
        offline_with_central,
        stored_path,
    )
    from kiosk.station.central_config import (
        CentralConfig,
        central_at_start,
        central_path,
        load_central,
        needs_restart,
        store_central,
        with_central,
    )
    from kiosk.station.console_link import RESTART_EXIT, ConsoleLink, follow_console
    from kiosk.station.console_tasks import conflict_task, open_tasks
    from kiosk.station.gateway_reports import GatewayReports
    from kiosk.station.hour_counts import HourCounts, hours_path

# name -> the module it is imported from when first asked for
_LAZY = {
    "CentralCardBook": "kiosk.station.central_cards",
    "CentralLists": "kiosk.station.central_cards",
    "CentralPolicy": "kiosk.station.central_cards",
    "load_stored": "kiosk.station.central_cards",
    "offline_with_central": "kiosk.station.central_cards",
    "stored_path": "kiosk.station.central_cards",
    "CentralConfig": "kiosk.station.central_config",
    "central_at_start": "kiosk.station.central_config",
    "central_path": "kiosk.station.central_config",
    "load_central": "kiosk.station.central_config",
    "needs_restart": "kiosk.station.central_config",
    "store_central": "kiosk.station.central_config",
    "with_central": "kiosk.station.central_config",
    "RESTART_EXIT": "kiosk.station.console_link",
    "ConsoleLink": "kiosk.station.console_link",
    "follow_console": "kiosk.station.console_link",
    "conflict_task": "kiosk.station.console_tasks",
    "open_tasks": "kiosk.station.console_tasks",
    "GatewayReports": "kiosk.station.gateway_reports",
    "HourCounts": "kiosk.station.hour_counts",
    "hours_path": "kiosk.station.hour_counts",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # asked once
    return value


__all__ = [
    "RESTART_EXIT",
    "CentralCardBook",
    "CentralConfig",
    "CentralLists",
    "CentralPolicy",
    "Circulated",
    "ConflictFound",
    "ConflictNote",
    "ConsoleLink",
    "GatewayLink",
    "GatewayReports",
    "HourCounts",
    "JournalPurged",
    "JournalTrouble",
    "NetworkChanged",
    "NotCirculated",
    "Observation",
    "Observer",
    "OutOfOrder",
    "Outcome",
    "PadChange",
    "PadWatcher",
    "PatronLookup",
    "Printed",
    "PrinterHealth",
    "ReaderHealth",
    "ReceiptEmailed",
    "RecentLogs",
    "Reconciling",
    "Replayed",
    "ScreenListener",
    "ScreenShown",
    "SecurityFailure",
    "SecurityWrite",
    "SessionSurprised",
    "StaffAccess",
    "StaffSlip",
    "Station",
    "StationFault",
    "StationSettings",
    "StationStatus",
    "StationTiming",
    "Synced",
    "UnreadableTagSeen",
    "central_at_start",
    "central_path",
    "conflict_task",
    "decode_pad_tag",
    "follow_console",
    "from_replayer",
    "hold_patron_label",
    "hours_path",
    "load_central",
    "load_stored",
    "local_now",
    "log",
    "needs_restart",
    "observe_records",
    "offline_with_central",
    "open_tasks",
    "patron_receipts",
    "receipt_labels",
    "slip_receipt",
    "store_central",
    "stored_path",
    "with_central",
    "without_patron_data",
]
