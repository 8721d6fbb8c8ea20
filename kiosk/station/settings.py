"""The station's settings: how often it looks, how hard it tries, what it prints on a receipt.

Frozen values with the defaults a real kiosk uses; `kiosk.cli.build.build_station` fills them from the
configuration file, tests and the demo pick faster timings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from drivers.printer.layout import LibraryLayout
from kiosk.journal import QUIET_SPELL


@dataclass(frozen=True)
class StationTiming:
    """How often the station looks and ticks; the demo and tests compress it."""

    poll_interval: float = 0.1  # seconds between inventories of the pad
    tick_interval: float = 1.0  # seconds between ticks (idle timeouts, journal upkeep)
    probe_interval: float = 15.0  # seconds between tries while offline
    idle_probe: float = 30.0  # online: a ping after this long without traffic, so an outage shows; 0 = off
    printer_poll_interval: float = 30.0  # seconds between asking the printer's status (and at session end)
    journal_quiet: timedelta = QUIET_SPELL  # no session this long: commit what rides along


@dataclass(frozen=True)
class StationSettings:
    """Everything about the station that is not a device or the session's policy."""

    library_name: str = ""  # printed on receipts and slips
    staff_language: str = "nb"  # of the staff slips
    security_attempts: int = 3  # AFI writes (each read back) before the security bit counts as failed
    failure_budget: int = 2  # consecutive failures to reach the library system before going offline
    pad_leave_after: int = 2  # inventory rounds a tag must be missing before it counts as lifted
    purge_after_days: int | None = 30  # finished journal entries name patrons; None keeps them
    staff_credential: str = field(default="", repr=False)  # argon2id hash; "" = the staff screen stays shut
    staff_kind: str = "passphrase"  # or "card_pin"
    timing: StationTiming = field(default_factory=StationTiming)
    # header, opening hours, footer, logo, account QR code, how much of a hold patron a slip shows
    receipt_layout: LibraryLayout | None = None  # None: the library's name only, the default hold policy


__all__ = ["StationSettings", "StationTiming"]
