"""The demo's physical tags: one NOR-RFID tag for every part of every demo item and every demo card, and
the AFI each one carries, kept in the demo's folder across restarts as a sticker in a book keeps it.

A real library's tags do not forget their security bit when the kiosk restarts: a loan whose write a crash
cut short leaves the tag as it was. So the demo does not derive the AFI from the library system at every
start (that would hide exactly what the station must find and finish, issue 11): only a tag it has never
seen gets its AFI from the library system's state; every write the pad takes is saved at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from drivers.rfid.sim import SimulatedPad, make_uid
from drivers.tags.iso28560_3 import DanishTag, TypeOfUsage, encode
from kiosk.files import write_atomically
from server_api.demo_ils import data as demo_data

log = logging.getLogger(__name__)

COUNTRY = "NO"
TAG_AFI_FILE = "tag-afi.json"  # in the demo's folder: {uid as hex: AFI}


@dataclass(frozen=True)
class PhysicalTag:
    """A tag stuck in a book or on a card: it keeps its memory and AFI while off the pad."""

    uid: bytes
    data: bytes


def make_tags() -> tuple[dict[str, list[PhysicalTag]], dict[str, PhysicalTag]]:
    """A NOR-RFID tag for every part of every demo item, and one for every demo patron card."""
    item_tags: dict[str, list[PhysicalTag]] = {}
    card_tags: dict[str, PhysicalTag] = {}
    serial = 1
    for item_id, parts, owner in demo_data.tag_records():
        tags = []
        for part in range(1, parts + 1):
            tag = DanishTag(TypeOfUsage.CIRCULATING, parts, part, item_id, COUNTRY, owner)
            tags.append(PhysicalTag(make_uid(serial), encode(tag)))
            serial += 1
        item_tags[item_id] = tags
    for card_id, owner in demo_data.card_records():
        card = DanishTag(TypeOfUsage.PATRON_CARD, 1, 1, card_id, COUNTRY, owner)
        card_tags[card_id] = PhysicalTag(make_uid(serial), encode(card))
        serial += 1
    return item_tags, card_tags


class KeptAfi:
    """The AFI of every physical tag, on the pad or off it (`afi`), saved to `path` (owner-only,
    replaced atomically, so a killed demo leaves the old file or the new one). A `provisional` AFI (a
    new tag while the library system could not be asked) is not saved: the next start asks again."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.afi: dict[bytes, int] = self._load()
        self.provisional: set[bytes] = set()

    def _load(self) -> dict[bytes, int]:
        try:
            saved = json.loads(self.path.read_text(encoding="utf-8"))
            return {bytes.fromhex(uid): int(afi) for uid, afi in saved.items()}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, AttributeError, TypeError) as error:
            log.warning(
                "%s is damaged (%s): the demo's tags start again from the library system", self.path, error
            )
            return {}

    def save(self) -> None:
        afi, provisional = dict(self.afi), set(self.provisional)  # copied at once: called from a thread too
        kept = {uid.hex(): value for uid, value in sorted(afi.items()) if uid not in provisional}
        write_atomically(self.path, json.dumps(kept))


class KeptPad(SimulatedPad):
    """The simulated pad, whose every AFI write the tag keeps (`KeptAfi`): saved before the write
    returns, so a station killed right after it finds the tag as written. The file is written in a
    thread (on a busy disk it takes milliseconds), one save at a time, each with every write before it."""

    def __init__(self, kept: KeptAfi) -> None:
        super().__init__()
        self.kept = kept
        self._saving = asyncio.Lock()

    async def write_afi(self, uid: bytes, afi: int) -> None:
        await super().write_afi(uid, afi)
        self.kept.afi[bytes(uid)] = afi
        self.kept.provisional.discard(bytes(uid))
        async with self._saving:
            await asyncio.to_thread(self.kept.save)


__all__ = ["COUNTRY", "TAG_AFI_FILE", "KeptAfi", "KeptPad", "PhysicalTag", "make_tags"]
