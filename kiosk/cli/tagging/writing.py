"""Programming the tags on the pad as the parts of one item, verified by reading back (`kiosk tag write`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drivers.rfid.base import (
    AFI_IN_LIBRARY,
    Reader,
    ReaderError,
    ReaderUnavailable,
    TagMemory,
    TagNotPresent,
    afi_hex,
    format_uid,
)
from drivers.tags import iso28560_3, library_number, normalise_library_id, same_library
from drivers.tags.errors import (
    TagEncodeError,
)
from drivers.tags.iso28560_3 import DanishTag, TypeOfUsage, Variant
from drivers.tags.model import (
    MODEL_28560_2,
    MODEL_28560_3,
    DecodedTag,
    ItemTag,
    PatronCardTag,
    UnreadableTag,
    decode_any,
)
from kiosk.cli.tagging.common import (
    BLOCK_SIZE,
    NOR_RFID_COUNTRY,
    TaggingFailed,
    TaggingRefused,
    decode_danish,
    unreadable_kind,
)


@dataclass(frozen=True)
class WrittenTag:
    uid: bytes
    part_number: int
    parts_in_item: int
    before: str  # what the tag held before, for the staff's record
    extensions_kept: int
    attempts: int
    afi: int

    def record(self) -> dict[str, Any]:
        return {
            "uid": format_uid(self.uid),
            "part_number": self.part_number,
            "parts_in_item": self.parts_in_item,
            "before": self.before,
            "extensions_kept": self.extensions_kept,
            "attempts": self.attempts,
            "afi": afi_hex(self.afi),
            "verified": True,
        }


@dataclass(frozen=True)
class _Plan:
    uid: bytes
    tag: DanishTag
    old: bytes  # the memory as the reader returned it
    new: bytes  # the memory to be on the tag afterwards, standard order
    before: str
    extensions_kept: int


def new_tag(
    item_id: str,
    parts: int,
    part_number: int,
    library: str,
    country: str = NOR_RFID_COUNTRY,
    type_of_usage: int = TypeOfUsage.CIRCULATING,
) -> DanishTag:
    """The basic block of one part; raises ``TaggingRefused`` when it does not fit NOR-RFID / the model.
    ``library`` may be written any way (``02030000``, ``NO-2030000``): the tag holds the 7-digit number. A
    shorter number is not padded (``705`` is more likely a typo than ``0000705``) and is refused."""
    given = library.strip()
    if len(given.partition("-")[2] or given) >= 7:
        library = library_number(given, country)
    tag = DanishTag(type_of_usage, parts, part_number, item_id, country, library)
    try:
        iso28560_3.encode(tag)
    except TagEncodeError as error:
        raise TaggingRefused(f"cannot write this tag: {error}") from error
    if country == NOR_RFID_COUNTRY:
        problems = iso28560_3.nor_rfid_problems(tag)
        if problems:
            raise TaggingRefused(f"not a NOR-RFID tag: {'; '.join(problems)}")
    return tag


async def write_item(
    reader: Reader,
    item_id: str,
    parts: int,
    library: str,
    *,
    country: str = NOR_RFID_COUNTRY,
    force: bool = False,
    type_of_usage: int = TypeOfUsage.CIRCULATING,
    afi: int = AFI_IN_LIBRARY,
    attempts: int = 3,
) -> list[WrittenTag]:
    """Program the tags on the pad as parts 1..``parts`` of ``item_id`` (see the module docstring).

    Raises ``TaggingRefused`` (nothing written), ``TaggingFailed`` (a tag did not take the write) or
    ``ReaderUnavailable``.
    """
    if not 1 <= parts <= 255:
        raise TaggingRefused(f"an item has 1..255 parts, not {parts}")
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")
    new_tag(item_id, parts, 1, library, country, type_of_usage)  # refuses bad input before touching tags
    uids = sorted(await reader.inventory())
    if len(uids) != parts:
        on_pad = "no tags are" if not uids else f"{len(uids)} tag{'s are' if len(uids) > 1 else ' is'}"
        raise TaggingRefused(
            f"item {item_id} has {parts} part{'s' if parts > 1 else ''} but {on_pad} on the pad: "
            f"put exactly its {parts} tag{'s' if parts > 1 else ''} on the pad"
        )
    plans = await _plans(
        reader,
        uids,
        [new_tag(item_id, parts, n, library, country, type_of_usage) for n in range(1, parts + 1)],
        force=force,
    )
    return await _write_all(reader, plans, afi, attempts)


async def _plans(reader: Reader, uids: list[bytes], tags: list[DanishTag], *, force: bool) -> list[_Plan]:
    """Read every tag and plan its write (parts in UID order); refused unless every tag is ours or `force`."""
    plans: list[_Plan] = []
    conflicts: list[str] = []
    for uid, tag in zip(uids, tags, strict=True):
        try:
            memory = await reader.read(uid)
        except TagNotPresent as error:
            raise TaggingRefused(f"tag {format_uid(uid)} left the pad before it was read") from error
        except ReaderUnavailable:
            raise
        except ReaderError as error:
            raise TaggingRefused(f"tag {format_uid(uid)} could not be read: {error}") from error
        plan, conflict = _plan(memory, tag)
        plans.append(plan)
        if conflict:
            conflicts.append(f"tag {format_uid(uid)} {conflict}")
    if conflicts and not force:
        raise TaggingRefused("; ".join(conflicts), needs_force=True)
    return plans


async def _write_all(reader: Reader, plans: list[_Plan], afi: int, attempts: int) -> list[WrittenTag]:
    """Write and verify each planned tag in turn; a failure says which parts were already done."""
    written: list[WrittenTag] = []
    for plan in plans:
        try:
            used = await _write_and_verify(reader, plan, afi, attempts)
        except TaggingFailed as error:
            done = ", ".join(f"part {w.part_number}" for w in written)
            note = f" ({done} written and verified)" if done else " (no other part was written)"
            raise TaggingFailed(f"{error}{note}; put the tags back and write again") from error
        tag = plan.tag
        written.append(
            WrittenTag(
                plan.uid, tag.part_number, tag.parts_in_item, plan.before, plan.extensions_kept, used, afi
            )
        )
    return written


def _plan(memory: TagMemory, tag: DanishTag) -> tuple[_Plan, str]:
    """What to write on this tag, and why it may not be ours to overwrite ("" when it is)."""
    raw = memory.data
    decoded = decode_any(raw, memory.dsfid)
    danish = None
    if not (isinstance(decoded, ItemTag | PatronCardTag) and decoded.model == MODEL_28560_2):
        danish = decode_danish(raw)
    conflict = ""
    if danish is not None:
        old = danish.tag
        base = danish.memory  # standard order: a reversed-variant tag is rewritten the right way round
        before = f"{old.primary_item_id!r} part {old.part_number} of {old.parts_in_item}, "
        before += f"library {old.owner_library or '(none)'} ({old.country or 'no country'})"
        if old.is_patron_card:
            conflict = f"is a patron card ({old.primary_item_id}, library {old.owner_library}), not an item"
        elif not _same_owner(old.owner_library, old.country, tag.owner_library, tag.country):
            conflict = (
                f"belongs to library {old.owner_library or '(none)'} (country {old.country or '(none)'}), "
                f"not {tag.owner_library} (country {tag.country})"
            )
        extensions_kept = len(danish.extensions.blocks)
    elif isinstance(decoded, ItemTag | PatronCardTag):  # ISO 28560-2
        owner = decoded.owner_library
        isil = f"{tag.country}-{tag.owner_library}"
        item = decoded.item_id if isinstance(decoded, ItemTag) else decoded.card_id
        before = f"{decoded.model} {item!r}, owner {owner or '(none)'}"
        if not same_library(owner, isil):
            conflict = f"is an {decoded.model} tag of {owner or 'an unknown owner'}, not {isil}"
        base = bytes(len(raw))  # another data model: nothing in it is an extension block of ours
        extensions_kept = 0
    else:
        assert isinstance(decoded, UnreadableTag)
        if decoded.blank:
            before = "blank"
        else:
            # Damaged (CRC fails), another version or model, nonsense fields: what it holds is unknown. It may
            # be another library's tag or hold data staff need, so only --force overwrites it.
            kind = unreadable_kind(decoded)
            before = f"unreadable ({kind}): {decoded.reason}"
            conflict = (
                f"cannot be decoded ({kind}: {decoded.reason}), so it may belong to another "
                f"library or hold data staff need and is not overwritten; raw memory: {raw.hex()}"
            )
        # Where an unreadable basic block ended (32 or 34 bytes) is not known: nothing after it is kept.
        base = bytes(len(raw))
        extensions_kept = 0
    new = iso28560_3.rewrite(base, tag)
    if len(new) % BLOCK_SIZE:
        new = new.ljust(len(new) + BLOCK_SIZE - len(new) % BLOCK_SIZE, b"\x00")
    return _Plan(memory.uid, tag, raw, new, before, extensions_kept), conflict


def _same_owner(library: str, country: str, ours: str, our_country: str) -> bool:
    """The same library however the tag spells it (``02030000`` and ``2030000`` in Norway)."""
    theirs = normalise_library_id(library, country)
    return bool(theirs) and theirs.casefold() == normalise_library_id(ours, our_country).casefold()


async def _write_and_verify(reader: Reader, plan: _Plan, afi: int, attempts: int) -> int:
    """Write, set the AFI, read back and compare; try again up to ``attempts`` times. Returns attempts."""
    name = f"tag {format_uid(plan.uid)} (part {plan.tag.part_number} of {plan.tag.parts_in_item})"
    current = plan.old
    detail = ""
    for attempt in range(1, attempts + 1):
        try:
            span = _changed_blocks(current, plan.new)
            if span is not None:
                first, last = span
                data = plan.new[first * BLOCK_SIZE : (last + 1) * BLOCK_SIZE]
                await reader.write_blocks(plan.uid, first, data)
            await reader.write_afi(plan.uid, afi)
            back = await reader.read(plan.uid)
        except TagNotPresent as error:
            raise TaggingFailed(f"{name} left the pad while it was written") from error
        except ReaderUnavailable:
            raise
        except ReaderError as error:
            detail = str(error)
            continue
        current = back.data
        detail = _mismatch(back, plan, afi)
        if not detail:
            return attempt
    raise TaggingFailed(f"{name} failed after {attempts} attempts: {detail}")


def _changed_blocks(old: bytes, new: bytes) -> tuple[int, int] | None:
    """First and last block that differ (``old`` shorter than ``new`` counts as different)."""
    blocks = [
        index
        for index in range(len(new) // BLOCK_SIZE)
        if old[index * BLOCK_SIZE : (index + 1) * BLOCK_SIZE]
        != new[index * BLOCK_SIZE : (index + 1) * BLOCK_SIZE]
    ]
    return (blocks[0], blocks[-1]) if blocks else None


def _mismatch(back: TagMemory, plan: _Plan, afi: int) -> str:
    """Why the read-back differs from what was meant ("" when it matches)."""
    if back.data[: len(plan.new)] != plan.new:
        return "the tag read back different bytes than were written"
    decoded = decode_any(back.data, back.dsfid)
    tag = plan.tag
    expected = (tag.primary_item_id, tag.parts_in_item, tag.part_number, tag.owner_library, tag.country)
    if not isinstance(decoded, ItemTag) or decoded.model != MODEL_28560_3:
        return f"the tag does not read back as an ISO 28560-3 item ({_what(decoded)})"
    found = (
        decoded.item_id,
        decoded.parts_in_item,
        decoded.part_number,
        decoded.owner_library,
        decoded.country,
    )
    if found != expected or decoded.type_of_usage != tag.type_of_usage or decoded.variant != Variant.STANDARD:
        return f"the tag reads back as {found}, not {expected}"
    if back.afi != afi:
        return f"the AFI reads back as {afi_hex(back.afi)}, not {afi_hex(afi)}"
    return ""


def _what(decoded: DecodedTag) -> str:
    if isinstance(decoded, UnreadableTag):
        return decoded.reason
    return type(decoded).__name__
