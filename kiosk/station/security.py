"""The security bit: write the AFI to every part of an item, read it back, retry; and at start, finish
what the last run left unfinished.

A tag can acknowledge a write it never stored, so a write only counts once the AFI reads back as
written; each part gets up to `attempts` tries. `TagNotPresent` stops at once: the item was lifted, and
the session retries when it comes back (session rule 4). Each tag's result is noted in the pad's
picture, in the journal (next to the item's latest entry) and as a `SecurityWrite` observation with
the AFI before and after. Then the session hears one `SecurityWritten`; on failure its policy (flag or
undo) decides the loan, and staff see a `SecurityFailure`. With `undo`, the undo is journalled first
(`Journal.want_undo`): a crash before the return is recorded leaves it for the next start.

At start (`carry_out_undos` before the start-up replay, `finish_unfinished` after it), for what the last
run left (issue 11, finding 1):

- a pending undo is recorded as a return, so the start-up replay sends it (once: recording it ends it);
  so is one left while the station was offline, when it is back online (`UndoWhenOnline`);
- an unfinished security write whose action the library system confirmed (or that was promised offline)
  is finished when the item's tags are still on the pad: re-read, written, read back. Otherwise (the item
  is gone, parts are missing, a tag does not take the write, or the action's fate is still unknown) it
  becomes a staff task naming the item.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

from drivers.rfid.base import Reader, ReaderError, TagNotPresent, afi_hex
from kiosk.core import (
    AFI_ON_LOAN,
    Event,
    Operation,
    PadTag,
    SecurityFailurePolicy,
    SecurityWritten,
    TagKind,
    TaskKind,
    WriteSecurity,
)
from kiosk.journal import Journal, State, UnfinishedWrite
from kiosk.station.device_observations import JournalTrouble, SecurityFailure, SecurityWrite
from kiosk.station.observations import NetworkChanged, Observation
from kiosk.station.pad import PadWatcher, decode_pad_tag
from kiosk.station.tasks import Shell
from server_api.circulation import Transaction

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
        self._policy = policy  # the session acts on it; here only the undo is journalled
        self._entry_of = entry_of  # item -> its latest journal entry

    def failure(self, command: WriteSecurity) -> Callable[[str], Event]:
        """The event that tells the session this write failed in a way nobody expected (never silent:
        staff see it, and an undo is journalled like any other failed write's)."""
        return lambda detail: self._failed(command, detail)

    async def write(self, command: WriteSecurity) -> None:
        """Write the AFI to every part and read it back; retry; report per tag."""
        all_ok = True
        detail = ""
        for uid in command.uids:
            tag = self._watcher.tags.get(uid)
            entry = self._entry_of(command.item_id)
            verified, detail = await self._write_one(
                command.item_id, entry, uid, command.afi, tag.afi if tag else None, detail
            )
            all_ok &= verified
        entry = self._entry_of(command.item_id)
        if all_ok and entry is not None:
            self._journal.security_done(entry)  # the intent recorded with the action is fulfilled
        if all_ok:
            self._shell.feed(SecurityWritten(command.item_id, True, self._shell.clock(), detail))
        else:
            self._shell.feed(self._failed(command, detail))

    async def _write_one(
        self, item_id: str, entry: uuid.UUID | None, uid: bytes, afi: int, before: int | None, detail: str
    ) -> tuple[bool, str]:
        """One tag: written and read back, noted in the picture, the journal (next to `entry`) and an
        observation."""
        verified, attempts, detail = await self._write_verified(uid, afi, detail)
        if verified:
            self._watcher.note_afi(uid, afi)
        if entry is not None:
            self._journal.note_security(entry, uid.hex(), afi, verified)
        self._shell.observe(
            SecurityWrite(item_id, uid, before, afi, verified, attempts, "" if verified else detail)
        )
        return verified, detail

    def _failed(self, command: WriteSecurity, detail: str) -> SecurityWritten:
        """A write that did not happen: staff are told, and a loan to undo is journalled before the
        session hears of it (the session then checks the item back in)."""
        entry = self._entry_of(command.item_id)
        try:
            if entry is not None:
                self._journal.flag_security(entry)  # staff are told below: not again at the next start
                if command.afi == AFI_ON_LOAN and self._policy is SecurityFailurePolicy.UNDO:
                    self._journal.want_undo(entry, command.item_id, self._shell.clock())
        except (OSError, sqlite3.Error) as error:
            log.error("journal: the pending undo of item %s is not on disk: %s", command.item_id, error)
            self._shell.observe(JournalTrouble(str(error)))
        self._shell.observe(SecurityFailure(command.item_id, command.afi, self._policy.value, detail))
        return SecurityWritten(command.item_id, False, self._shell.clock(), detail)

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

    # ------------------------------------------------------------ at start

    async def finish_unfinished(self, after: Callable[[], Awaitable[object]] | None = None) -> int:
        """After the start-up replay (`after`): finish every security write the last run left, where the
        item is still on the pad; hand the rest to staff. Returns how many items were finished."""
        # Only what the last run left: an intent this run records meanwhile (a patron already at the
        # station while the start-up replay runs) is its own write's business, not a leftover.
        left = {w.intent.entry_id for w in self._journal.unfinished_writes()}
        if after is not None:
            await after()
        by_item: dict[str, list[UnfinishedWrite]] = {}
        for unfinished in self._journal.unfinished_writes():
            if unfinished.intent.entry_id in left:
                by_item.setdefault(unfinished.intent.item_id, []).append(unfinished)
        if not by_item:
            return 0
        on_pad = await self._items_on_pad()
        finished = 0
        for item_id, writes in by_item.items():
            for stale in (w for w in writes if w.superseded):
                self._journal.flag_security(stale.intent.entry_id)  # a later loan or return decides
            current = [w for w in writes if not w.superseded]
            if current:
                finished += await self._finish(current[-1], on_pad.get(item_id, []))
        return finished

    async def _items_on_pad(self) -> dict[str, list[PadTag]]:
        """The items on the pad now, by item id (from the pad's picture, or read for this)."""
        try:
            uids = await self._reader.inventory()
        except ReaderError as error:
            log.warning("security writes at start: the pad cannot be read (%s)", error)
            return {}
        items: dict[str, list[PadTag]] = {}
        for uid in uids:
            tag = self._watcher.tags.get(uid)
            if tag is None:
                try:
                    tag = decode_pad_tag(await self._reader.read(uid))
                except ReaderError:
                    continue
            if tag.kind is TagKind.ITEM:
                items.setdefault(tag.item_id, []).append(tag)
        return items

    async def _finish(self, unfinished: UnfinishedWrite, tags: list[PadTag]) -> int:
        """One item's unfinished write: 1 when it is finished now, 0 when it went to staff."""
        intent = unfinished.intent
        decided = unfinished.state is State.DONE or (
            unfinished.offline and unfinished.state in (State.QUEUED, State.REPLAYING)
        )
        if not decided:
            self._to_staff(unfinished, "the library system has not confirmed the action yet")
            return 0
        if not tags:
            self._to_staff(unfinished, "")
            return 0
        all_ok = True
        for tag in tags:
            verified, _detail = await self._write_one(
                intent.item_id, intent.entry_id, tag.uid, intent.afi, tag.afi, ""
            )
            all_ok &= verified
        parts = {tag.part_number for tag in tags}
        missing = sorted(set(range(1, tags[0].parts_in_item + 1)) - parts)
        if all_ok and not missing:
            log.info("security of item %s finished at start: %s", intent.item_id, afi_hex(intent.afi))
            self._journal.security_done(intent.entry_id)
            return 1
        numbers = ", ".join(map(str, missing))
        why = (
            f"part {numbers} was not on the pad"
            if len(missing) == 1
            else f"parts {numbers} were not on the pad"
        )
        why = why if missing else "a tag on the pad did not take the write"
        self._to_staff(unfinished, why)
        return 0

    def _to_staff(self, unfinished: UnfinishedWrite, why: str) -> None:
        intent = unfinished.intent
        wanted = "on loan" if intent.afi == AFI_ON_LOAN else "in the library"
        detail = (
            f"the station stopped before the security bit ({afi_hex(intent.afi)}, {wanted}) was written and"
            f" checked on {intent.at:%Y-%m-%d %H:%M}{f' ({why})' if why else ''}: put the item on a staff"
            " pad and check its tag"
        )
        log.warning("security of item %s unfinished at the last stop: staff task", intent.item_id)
        self._journal.flag_security(intent.entry_id)
        self._journal.add_task(TaskKind.SECURITY_UNFINISHED, intent.item_id, detail, self._shell.clock())


def carry_out_undos(journal: Journal, now: datetime) -> int:
    """At start, before the replay: each loan the last run was to undo (its security write failed under
    the `undo` policy) and did not get to is recorded as a return now; the replay sends it, and recording
    it ends the pending undo in the same commit, so it is carried out once."""
    undos = journal.pending_undos()
    for undo in undos:
        log.warning("loan of item %s to be undone (its security write failed): return recorded", undo.item_id)
        try:
            journal.record(Transaction.new(now), Operation.CHECKIN, undo.item_id)
        except (OSError, sqlite3.Error) as error:
            log.error("journal: the undo of item %s waits for the next start: %s", undo.item_id, error)
            return 0
    return len(undos)


class UndoWhenOnline:
    """An observer: back online, every pending undo is recorded as a return, so the replay that follows
    sends it after the loan. (Offline, an undo cannot be recorded: an offline loan's return waits for the
    loan itself to reach the library system, and the live undo gives up.)"""

    def __init__(self, journal: Journal, clock: Callable[[], datetime]) -> None:
        self._journal = journal
        self._clock = clock

    def __call__(self, observation: Observation) -> None:
        if isinstance(observation, NetworkChanged) and observation.online:
            carry_out_undos(self._journal, self._clock())


__all__ = ["SecurityWriter", "UndoWhenOnline", "carry_out_undos"]
