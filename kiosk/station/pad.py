"""From tags on the pad to `PadTag`s the session understands, and what changed between two looks at the pad.

Decoding never raises into the station: a blank, foreign or corrupt tag becomes an UNREADABLE `PadTag`
carrying what was wrong, so the patron is sent to staff and staff can see the raw bytes in the log.

`PadWatcher` does the inventory diffing with debounce. A tag at the edge of the field, or deep in a stack
of thin items, can miss one inventory round and answer the next: it only counts as *left* after
`leave_after` rounds in a row without it, so the session does not see it leave and come back. A new tag
counts as *arrived* once it has been read and decoded; a read that fails is retried on the next round.

`PadPoller` is the station's loop around it: one scan every `poll_interval`, a `TagsChanged` for the
session when the picture changed, and a word for the observers when the reader stops (or resumes)
answering or an unreadable tag arrives. The session does not wait for the whole stack to be read (20 tags
take about 2.7 s on a FEIG reader): a `TagsChanged` goes out as soon as a tag is decoded and its item is
complete (all its parts on the pad), so the first checkout is on its way while the rest is still read.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from drivers.rfid.base import Reader, ReaderError, ReaderUnavailable, TagMemory
from drivers.tags.model import DecodedTag, ItemTag, PatronCardTag, UnreadableTag, decode_any
from kiosk.core import PadTag, TagKind, TagsChanged
from kiosk.station.device_observations import ReaderHealth, UnreadableTagSeen
from kiosk.station.tasks import Shell, report_fault

log = logging.getLogger(__name__)


def decode_pad_tag(memory: TagMemory) -> PadTag:
    return pad_tag(memory, decode_any(memory.data, memory.dsfid))


def pad_tag(memory: TagMemory, decoded: DecodedTag) -> PadTag:
    """The owner library in one form (`NO-2030000` for `2030000` or `02030000`), so it compares."""
    if isinstance(decoded, PatronCardTag):
        return PadTag(
            uid=memory.uid,
            kind=TagKind.PATRON_CARD,
            item_id=decoded.card_id,
            owner_library=decoded.library_id,
            afi=memory.afi,
        )
    if isinstance(decoded, ItemTag):
        # Not-for-loan items are still items: the library system gives the refusal and its reason.
        return PadTag(
            uid=memory.uid,
            kind=TagKind.ITEM,
            item_id=decoded.item_id,
            part_number=decoded.part_number,
            parts_in_item=decoded.parts_in_item,
            owner_library=decoded.library_id,
            afi=memory.afi,
        )
    assert isinstance(decoded, UnreadableTag)
    log.info("unreadable tag %s: %s (raw %s)", memory.uid.hex(), decoded.reason, decoded.raw.hex())
    return PadTag(uid=memory.uid, kind=TagKind.UNREADABLE, afi=memory.afi, problem=decoded.reason)


@dataclass(frozen=True)
class PadChange:
    arrived: tuple[PadTag, ...] = ()
    left: tuple[PadTag, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.arrived or self.left)


class PadWatcher:
    """Keeps the decoded picture of the pad (``tags``) up to date, one ``scan`` at a time."""

    REREAD_ROUNDS = 3  # inventory rounds a read cut short is read again before the patron sees "unreadable"

    def __init__(self, reader: Reader, *, leave_after: int = 2) -> None:
        if leave_after < 1:
            raise ValueError(f"leave_after must be at least 1 round, got {leave_after}")
        self.reader = reader
        self.leave_after = leave_after
        self.tags: dict[bytes, PadTag] = {}
        self._missing: dict[bytes, int] = {}  # uid -> rounds in a row it was not seen
        self._short_reads: dict[bytes, int] = {}  # uid -> reads cut short so far

    async def scan(self, on_arrival: Callable[[PadTag], None] | None = None) -> PadChange:
        """One inventory round: read new tags, count absences, report what arrived and what left.
        `on_arrival` hears of each new tag as soon as it is decoded (it is in `tags` by then).

        Raises ``ReaderError`` when the inventory itself fails (the picture is then left as it was).
        """
        present = await self.reader.inventory()
        seen = set(present)
        arrived: list[PadTag] = []
        for uid in present:
            self._missing.pop(uid, None)
            if uid in self.tags:
                continue
            try:
                memory = await self.reader.read(uid)
            except ReaderUnavailable:
                raise
            except ReaderError as error:
                log.info("tag %s seen but not read (%s); trying again next round", uid.hex(), error)
                continue
            decoded = decode_any(memory.data, memory.dsfid)
            if isinstance(decoded, UnreadableTag) and decoded.read_again and self._read_again(uid):
                continue
            self._short_reads.pop(uid, None)
            tag = pad_tag(memory, decoded)
            self.tags[uid] = tag
            arrived.append(tag)
            if on_arrival is not None:
                on_arrival(tag)
        for uid in [u for u in self._short_reads if u not in seen]:
            del self._short_reads[uid]
        left: list[PadTag] = []
        for uid in [u for u in self.tags if u not in seen]:
            misses = self._missing.get(uid, 0) + 1
            if misses >= self.leave_after:
                self._missing.pop(uid, None)
                left.append(self.tags.pop(uid))
            else:
                self._missing[uid] = misses
        return PadChange(tuple(arrived), tuple(left))

    def _read_again(self, uid: bytes) -> bool:
        """A read cut short (edge of the field, a tag deep in a stack) says nothing about the tag: read it
        again on the next rounds, up to `REREAD_ROUNDS`; after that the patron is sent to staff."""
        rounds = self._short_reads.get(uid, 0) + 1
        if rounds > self.REREAD_ROUNDS:
            self._short_reads.pop(uid, None)
            return False
        self._short_reads[uid] = rounds
        log.info(
            "tag %s: read cut short (%d of %d); reading again next round",
            uid.hex(),
            rounds,
            self.REREAD_ROUNDS,
        )
        return True

    def note_afi(self, uid: bytes, afi: int) -> None:
        """The station wrote (and verified) this AFI: keep the picture true without re-reading."""
        tag = self.tags.get(uid)
        if tag is not None:
            self.tags[uid] = replace(tag, afi=afi)


class PadPoller:
    """Looks at the pad every `poll_interval` seconds and tells the session what is on it."""

    def __init__(self, shell: Shell, watcher: PadWatcher, *, poll_interval: float) -> None:
        self._shell = shell
        self.watcher = watcher
        self.poll_interval = poll_interval
        self._reader_ok = True
        self._told: tuple[PadTag, ...] = ()  # the picture the session has

    def _tell(self) -> None:
        picture = tuple(self.watcher.tags.values())
        if picture != self._told:
            self._told = picture
            self._shell.feed(TagsChanged(picture, self._shell.clock()))

    def _arrived(self, tag: PadTag) -> None:
        """Mid-round: the session hears of a tag once its item is complete (an incomplete set waits
        for the end of the round, where the session decides what is missing)."""
        if tag.kind is TagKind.ITEM and tag.parts_in_item > 1:
            parts = {
                t.part_number
                for t in self.watcher.tags.values()
                if t.kind is TagKind.ITEM and t.item_id == tag.item_id
            }
            if len(parts) < tag.parts_in_item:
                return
        self._tell()

    async def run(self) -> None:
        while True:
            try:
                if await self._scan():
                    self._tell()
            except Exception as error:  # a bug must not end the loop: the station would go blind
                report_fault(self._shell, error)
            await asyncio.sleep(self.poll_interval)

    async def _scan(self) -> bool:
        """One round; True when the picture changed. A reader failure is reported once, not every round."""
        try:
            change = await self.watcher.scan(self._arrived)  # a tag not read yet: tried again next round
        except ReaderError as error:
            if self._reader_ok:
                log.warning("RFID reader: %s", error)
                self._shell.observe(ReaderHealth(ok=False, error=str(error)))
            self._reader_ok = False
            return False
        for tag in change.arrived:
            if tag.kind is TagKind.UNREADABLE:
                self._shell.observe(UnreadableTagSeen(tag.uid, tag.problem))
        if not self._reader_ok:
            self._shell.observe(ReaderHealth(ok=True))
        self._reader_ok = True
        return change.changed
