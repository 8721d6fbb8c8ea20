"""What a library decides for its station: the session policy, the offline policy and what happens to a
loan whose security could not be set. Read from the station file by `kiosk.config`."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import timedelta


@dataclass(frozen=True)
class OfflinePolicy:
    borrowing: bool = True
    max_items_per_session: int = 5
    max_items_per_patron: int = 10  # offline loans not yet confirmed by the library system
    loan_days: int = 14  # offline due date: this many days ahead, at 23:59


class SecurityFailurePolicy(enum.StrEnum):
    """What happens to a loan whose security (AFI) could not be set (rule 4). Never silent either way."""

    FLAG = "flag"  # the loan stands, staff are told; the write is retried when the item is back on the pad
    UNDO = "undo"  # the loan is undone (checked back in): the item stays in the library, as its tag says


@dataclass(frozen=True)
class SessionPolicy:
    language: str = "nb"
    idle_timeout: timedelta = timedelta(seconds=60)
    idle_warning: timedelta = timedelta(seconds=20)  # shown this long before the timeout
    goodbye_time: timedelta = timedelta(seconds=5)
    max_pin_attempts: int = 3
    pin_required: bool = True
    print_staff_slips: bool = True
    offline: OfflinePolicy = field(default_factory=OfflinePolicy)
    security_failure: SecurityFailurePolicy = field(default_factory=lambda: SecurityFailurePolicy.FLAG)
