"""The security bit: write the AFI to every part of an item, read it back, retry.

A tag can acknowledge a write it never stored, so a write only counts once the AFI reads back as
written; each part gets up to `attempts` tries. `TagNotPresent` stops at once: the item was lifted, and
the session retries when it comes back (session rule 4). Each tag's result is noted in the pad's
picture, in the journal (next to the item's latest entry) and as a `SecurityWrite` observation with
the AFI before and after. Then the session hears one `SecurityWritten`; on failure its policy (flag or
undo) decides the loan, and staff see a `SecurityFailure`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime

from drivers.rfid.base import Reader, ReaderError, TagNotPresent, afi_hex
from kiosk.core import AFI_ON_LOAN, Event, SecurityFailurePolicy, SecurityWritten, TaskKind, WriteSecurity
from kiosk.journal import Journal
from kiosk.station.device_observations import SecurityFailure, SecurityWrite
from kiosk.station.pad import PadWatcher
from kiosk.station.tasks import Shell

log = logging.getLogger(__name__)


class SecurityWriter:
    def __init__(
        self,
        shell: Shell,
        reader: Reader,
        watcher: PadWatcher,
        journal: Journal,
        *,
        attempts: int,
        policy: SecurityFailurePolicy,
        entry_of: Callable[[str], uuid.UUID | None],
    ) -> None:
        self._shell = shell
        self._reader = reader
        self._watcher = watcher
        self._journal = journal
        self.attempts = attempts
        self._policy = policy  # only reported here: the session acts on it
        self._entry_of = entry_of  # item -> its latest journal entry

    def failure(self, command: WriteSecurity) -> Callable[[str], Event]:
        """The event that tells the session this write failed in a way nobody expected."""
        item_id = command.item_id
        return lambda detail: SecurityWritten(item_id, False, self._shell.clock(), detail)

    async def write(self, command: WriteSecurity) -> None:
        """Write the AFI to every part and read it back; retry; report per tag."""
        all_ok = True
        detail = ""
        for uid in command.uids:
            tag = self._watcher.tags.get(uid)
            before = tag.afi if tag is not None else None
            verified, attempts, detail = await self._write_verified(uid, command.afi, detail)
            if verified:
                self._watcher.note_afi(uid, command.afi)
            all_ok &= verified
            entry = self._entry_of(command.item_id)
            if entry is not None:
                self._journal.note_security(entry, uid.hex(), command.afi, verified)
            self._shell.observe(
                SecurityWrite(
                    command.item_id, uid, before, command.afi, verified, attempts, "" if verified else detail
                )
            )
        entry = self._entry_of(command.item_id)
        if all_ok and entry is not None:
            self._journal.security_done(entry)  # the intent recorded with the action is fulfilled
        if not all_ok:
            # Never silent: staff see which item's security could not be set and what the policy did.
            self._shell.observe(SecurityFailure(command.item_id, command.afi, self._policy.value, detail))
        self._shell.feed(SecurityWritten(command.item_id, all_ok, self._shell.clock(), detail))

    async def _write_verified(self, uid: bytes, afi: int, detail: str) -> tuple[bool, int, str]:
        """Up to `attempts` writes, each read back: (verified, attempts made, what went wrong last)."""
        attempts = 0
        for attempts in range(1, self.attempts + 1):
            try:
                await self._reader.write_afi(uid, afi)
                if await self._reader.read_afi(uid) == afi:
                    return True, attempts, detail
                detail = f"the tag read back a different AFI than {afi_hex(afi)}"
            except TagNotPresent as error:
                return False, attempts, str(error)  # lifted off the pad: retried when it comes back
            except ReaderError as error:
                detail = str(error)
        return False, attempts, detail


def flag_unfinished_security(journal: Journal, now: datetime) -> int:
    """At start: every security write the last run did not finish becomes a staff task naming the item
    (the tag may disagree with the library system: the gate alarms, or the item sits unprotected)."""
    unfinished = journal.unfinished_security()
    for intent in unfinished:
        wanted = "on loan" if intent.afi == AFI_ON_LOAN else "in the library"
        detail = (
            f"the station stopped before the security bit ({afi_hex(intent.afi)}, {wanted}) was written and"
            f" checked on {intent.at:%Y-%m-%d %H:%M}: put the item on a staff pad and check its tag"
        )
        log.warning("security of item %s unfinished at the last stop: staff task", intent.item_id)
        journal.flag_security(intent.entry_id)
        journal.add_task(TaskKind.SECURITY_UNFINISHED, intent.item_id, detail, now)
    return len(unfinished)


__all__ = ["SecurityWriter", "flag_unfinished_security"]
