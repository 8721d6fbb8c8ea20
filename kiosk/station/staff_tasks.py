"""What the station hands to staff as tasks (issue 11, finding 2): every case that needs a person at the
station becomes a journal task (the staff screen lists it, `kiosk journal tasks` too) and a log line.

- a security bit that could not be set after every attempt (`SecurityFailure`): whatever the policy, the
  tag may disagree with the library system;
- the RFID reader stopped answering (`ReaderHealth`, once per outage): nothing on the pad is seen;
- a staff slip the printer could not print (`SlipNotPrinted`): the routing is kept in the task.

An unfinished security write found at start is finished or handed to staff by
`kiosk.station.security.SecurityWriter.finish_unfinished`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime

from drivers.rfid.base import afi_hex
from kiosk.core import AFI_ON_LOAN, TaskKind
from kiosk.journal import Journal
from kiosk.station.device_observations import ReaderHealth, SecurityFailure, SlipNotPrinted
from kiosk.station.observations import Observation

log = logging.getLogger(__name__)


class StaffTaskMaker:
    """An observer: the observations above become staff tasks in the journal."""

    def __init__(
        self, journal: Journal, clock: Callable[[], datetime], entry_of: Callable[[str], uuid.UUID | None]
    ) -> None:
        self._journal = journal
        self._clock = clock
        self._entry_of = entry_of  # item -> its latest journal entry (whose security intent is flagged)

    def __call__(self, observation: Observation) -> None:
        match observation:
            case SecurityFailure(item_id=item_id, afi=afi, policy=policy, error=error):
                undone = " (the loan is checked back in)" if policy == "undo" and afi == AFI_ON_LOAN else ""
                detail = (
                    f"the security bit ({afi_hex(afi)}) could not be set: {error}; policy {policy}{undone}"
                )
                self._task(TaskKind.SECURITY_FAILED, item_id, detail)
                entry = self._entry_of(item_id)
                if entry is not None:
                    self._journal.flag_security(entry)
            case ReaderHealth(ok=False, error=error):
                self._task(TaskKind.READER_DEAD, "", f"the RFID reader does not answer: {error}")
            case SlipNotPrinted(item_id=item_id, routing=routing, error=error):
                self._task(TaskKind.SLIP_NOT_PRINTED, item_id, f"{routing} (printer: {error})")
            case _:
                pass

    def _task(self, kind: TaskKind, item_id: str, detail: str) -> None:
        log.warning(
            "staff task %s for item %s", kind.value, item_id or "-"
        )  # the detail stays in the journal
        self._journal.add_task(kind, item_id, detail, self._clock())


__all__ = ["StaffTaskMaker"]
