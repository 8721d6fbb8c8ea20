"""Reads cut short are read again before the patron is sent to staff, and owner libraries reach the session
in one form (`NO-2190000` for `2190000` and `02190000`)."""

from __future__ import annotations

from drivers.rfid.base import TagMemory
from drivers.rfid.sim import SimulatedPad, make_uid
from drivers.tags.iso28560_3 import DanishTag, encode
from kiosk.core import TagKind
from kiosk.station import PadWatcher, decode_pad_tag

REREAD_ROUNDS = PadWatcher.REREAD_ROUNDS
BOOK = encode(DanishTag(1, 1, 1, "22000000012345", "NO", "2190000"))


class CutShort(SimulatedPad):
    """Each read returns only the first 20 bytes, `short` times; then the whole tag."""

    def __init__(self, short: int) -> None:
        super().__init__()
        self.short = short

    async def read(self, uid: bytes) -> TagMemory:
        memory = await super().read(uid)
        if self.short:
            self.short -= 1
            return TagMemory(memory.uid, memory.data[:20], memory.afi, memory.dsfid)
        return memory


async def test_a_read_cut_short_is_read_again_and_the_item_arrives_whole() -> None:
    pad = CutShort(short=REREAD_ROUNDS - 1)
    watcher = PadWatcher(pad)
    pad.place(make_uid(1), BOOK)
    for _ in range(REREAD_ROUNDS - 1):
        assert (await watcher.scan()).changed is False  # nothing shown yet: not "unreadable"
    (tag,) = (await watcher.scan()).arrived
    assert (tag.kind, tag.item_id) == (TagKind.ITEM, "22000000012345")


async def test_a_tag_that_stays_cut_short_is_unreadable_after_a_few_rounds() -> None:
    pad = CutShort(short=1000)
    watcher = PadWatcher(pad)
    pad.place(make_uid(1), BOOK)
    for _ in range(REREAD_ROUNDS):
        assert (await watcher.scan()).changed is False
    (tag,) = (await watcher.scan()).arrived
    assert tag.kind is TagKind.UNREADABLE and "read it again" in tag.problem


def test_owner_libraries_reach_the_session_in_one_form() -> None:
    for written in ("2190000", "02190000"):
        data = encode(DanishTag(1, 1, 1, "22000000012345", "NO", written))
        assert decode_pad_tag(TagMemory(make_uid(1), data, 0x07)).owner_library == "NO-2190000"
