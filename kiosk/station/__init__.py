"""The asynchronous shell around the session: hardware, circulation, journal, screens.

`Station` is built from its devices, the session policy and `StationSettings`
(`kiosk.cli.build.build_station` does it from the configuration file). Observers receive the
`Observation` types below; `as_record()` / `to_json()` turn one into the transcript's JSON.
"""

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
from kiosk.station.gateway_reports import GatewayReports
from kiosk.station.hour_counts import HourCounts, hours_path
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
from kiosk.station.pad import (
    PadChange,
    PadWatcher,
    decode_pad_tag,
    log,
)
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
