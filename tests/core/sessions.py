"""What the session tests of this folder share: the clock, the tags a patron puts on the pad, and feeding a
session events the way the station does."""

from __future__ import annotations

from datetime import datetime, timedelta

from kiosk.core import Event, PadTag, PatronSession, TagKind

T0 = datetime(2026, 11, 22, 10, 0, 0)
DUE = datetime(2026, 12, 13, 23, 59, 0)


def at(seconds: float) -> datetime:
    """`seconds` after the start of the test's session."""
    return T0 + timedelta(seconds=seconds)


def item_tag(n: int, item_id: str | None = None, part: int = 1, parts: int = 1) -> PadTag:
    """Item tag number `n` (item "item{n}" unless named), part `part` of `parts`."""
    return PadTag(
        uid=bytes([0xE0, 4, 1, 0, 0, 0, 0, n]),
        kind=TagKind.ITEM,
        item_id=item_id or f"item{n}",
        part_number=part,
        parts_in_item=parts,
    )


def card_tag(card_id: str = "N001") -> PadTag:
    """A library card lying on the pad."""
    return PadTag(uid=b"\xe0\x04\x01\x00\x00\x00\x00\xff", kind=TagKind.PATRON_CARD, item_id=card_id)


def of(commands: list, kind: type) -> list:  # type: ignore[type-arg]
    """The commands of one kind, in order."""
    return [c for c in commands if isinstance(c, kind)]


def feed(session: PatronSession, *events: Event) -> PatronSession:
    """Hand `events` to `session` one by one, as the station would."""
    for event in events:
        session.handle(event)
    return session
