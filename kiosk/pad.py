"""From tag memory on the pad to `PadTag`s the session understands.

Decoding never raises into the station: a blank, foreign or corrupt tag becomes an UNREADABLE `PadTag`
carrying what was wrong, so the patron is sent to staff and staff can see the raw bytes in the log.
"""

from __future__ import annotations

from drivers.rfid.base import TagMemory
from drivers.tags.errors import TagDecodeError
from drivers.tags.iso28560_3 import TypeOfUsage, decode
from kiosk.session import PadTag, TagKind


def decode_pad_tag(memory: TagMemory) -> PadTag:
    try:
        tag = decode(memory.data)
    except TagDecodeError as error:
        return PadTag(uid=memory.uid, kind=TagKind.UNREADABLE, afi=memory.afi, problem=str(error))
    if tag.type_of_usage == TypeOfUsage.PATRON_CARD:
        kind = TagKind.PATRON_CARD
    elif tag.type_of_usage in (TypeOfUsage.CIRCULATING, TypeOfUsage.NOT_FOR_LOAN):
        # Not-for-loan items are still items: the library system gives the refusal and its reason.
        kind = TagKind.ITEM
    else:
        return PadTag(
            uid=memory.uid,
            kind=TagKind.UNREADABLE,
            item_id=tag.primary_item_id,
            afi=memory.afi,
            problem=f"type of usage {tag.type_of_usage} is not an item or a card",
        )
    return PadTag(
        uid=memory.uid,
        kind=kind,
        item_id=tag.primary_item_id,
        part_number=tag.part_number,
        parts_in_item=tag.parts_in_item,
        owner_library=tag.owner_library,
        afi=memory.afi,
    )
