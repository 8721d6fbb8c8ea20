"""The station as a service: sd_notify to systemd (`notify`), and what it reports to the updater and the
technician in its run directory (`reporter`): READY, the watchdog, STATUS, STOPPING, the update window."""

from kiosk.service.notify import Notifier, watchdog_interval
from kiosk.service.reporter import HEALTHY_FILE, STATE_FILE, ServiceReporter, ServiceTiming, read_state

__all__ = [
    "HEALTHY_FILE",
    "STATE_FILE",
    "Notifier",
    "ServiceReporter",
    "ServiceTiming",
    "read_state",
    "watchdog_interval",
]
