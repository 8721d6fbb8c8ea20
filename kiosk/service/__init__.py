"""The station as a service: sd_notify to systemd (`notify`), and what it reports to the updater and the
technician in its run directory (`reporter`): READY, the watchdog, STATUS, STOPPING; and "may I update
now?" read back from it (`window`, `kiosk update-window`)."""

from kiosk.service.notify import Notifier, watchdog_interval
from kiosk.service.reporter import HEALTHY_FILE, STATE_FILE, ServiceReporter, ServiceTiming, read_state
from kiosk.service.window import RUN_DIR, Window, run_dir_for_station, station_reporting, update_window

__all__ = [
    "HEALTHY_FILE",
    "RUN_DIR",
    "STATE_FILE",
    "Notifier",
    "ServiceReporter",
    "ServiceTiming",
    "Window",
    "read_state",
    "run_dir_for_station",
    "station_reporting",
    "update_window",
    "watchdog_interval",
]
