"""The tagging station for library staff: see what is on the pad, program the tags of one item (NOR-RFID).

``read_pad`` reads every tag on the pad and decodes it (``drivers.tags.model.decode_any``): items and
patron cards with their owner, set information, variant and NOR-RFID problems; blank, damaged or foreign
tags with the kind of problem (``blank``, ``damaged``, ``unsupported``, ``malformed``, ``not_an_item``,
``read_failed``), the reason and the raw bytes.

``write_item`` programs exactly the tags on the pad as the parts of one item (ISO 28560-3, NOR-RFID):

- the number of tags must equal the number of parts; part numbers follow the UIDs in sorted order;
- a tag owned by another library (other owner library number or country, an ISO 28560-2 tag of another
  ISIL, or a patron card), or a tag whose contents cannot be decoded (damaged, unsupported, malformed), is
  only overwritten with ``force``; blank tags (all 0x00 or all 0xFF) need none; nothing is written when one
  is refused; a refused undecodable tag is named with its reason and raw memory;
- everything after the basic block (extension blocks, unknown data) is kept (``iso28560_3.rewrite``);
  memory left by another data model (ISO 28560-2) is cleared instead of being kept as "extensions", and so
  is a forced undecodable tag (where its basic block ended is not known);
- the AFI is set to 0x07 (in the library);
- every tag is read back and compared, byte for byte and decoded; a write that does not read back is
  tried again (``attempts``) and otherwise reported as failed, naming the tag.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drivers.rfid.base import (
    AFI_IN_LIBRARY,
    AFI_ON_LOAN,
    Reader,
    ReaderError,
    ReaderUnavailable,
    TagMemory,
    TagNotPresent,
    afi_hex,
    format_uid,
)
from drivers.tags import iso28560_3
from drivers.tags.errors import (
    TagDecodeError,
    TagEncodeError,
)
from drivers.tags.iso28560_3 import DanishTag, DecodedDanishTag, TypeOfUsage, Variant
from drivers.tags.model import (
    MODEL_28560_2,
    MODEL_28560_3,
    DecodedTag,
    ItemTag,
    PatronCardTag,
    UnreadableTag,
    decode_any,
)

BLOCK_SIZE = 4  # ISO 15693 library tags (NXP ICODE SLIX and friends)
NOR_RFID_COUNTRY = iso28560_3.NOR_RFID_COUNTRY
AFI_UNKNOWN = -1  # what a reader reports when it cannot read the AFI (PC/SC models without the command)

_AFI_NAMES = {AFI_IN_LIBRARY: "in library", AFI_ON_LOAN: "on loan"}


class TaggingError(Exception):
    """The tags could not be written; the message is one line for staff and names the tag."""


class TaggingRefused(TaggingError):
    """Nothing was written: the pad does not hold what the command asks for, or a tag is not ours."""

    def __init__(self, message: str, *, needs_force: bool = False) -> None:
        super().__init__(message)
        self.needs_force = needs_force


class TaggingFailed(TaggingError):
    """Writing started but a tag did not take it (lifted, locked, did not read back)."""


def usage_name(value: int | str) -> str:
    if isinstance(value, int) and value in TypeOfUsage._value2member_map_:
        return TypeOfUsage(value).name.lower().replace("_", " ")
    return ""


# ------------------------------------------------------------------------------------------ reading


@dataclass(frozen=True)
class TagReport:
    """One tag on the pad as staff see it."""

    uid: bytes
    afi: int
    dsfid: int
    raw: bytes
    decoded: DecodedTag | None  # None: the tag was seen but could not be read
    problems: tuple[str, ...] = ()
    reason_type: str = ""  # for unreadable tags: blank, damaged, unsupported, malformed, not_an_item, ...
    read_error: str = ""

    @property
    def status(self) -> str:
        if isinstance(self.decoded, ItemTag):
            return "item"
        if isinstance(self.decoded, PatronCardTag):
            return "patron_card"
        if isinstance(self.decoded, UnreadableTag):
            return "unreadable"
        return "not_read"

    def record(self) -> dict[str, Any]:
        """The tag as one JSON object (``kiosk tag read --json``)."""
        rec: dict[str, Any] = {
            "uid": format_uid(self.uid),
            "status": self.status,
            "afi": None if self.afi < 0 else afi_hex(self.afi),
            "dsfid": f"0x{self.dsfid:02X}",
        }
        decoded = self.decoded
        if isinstance(decoded, ItemTag):
            rec.update(
                model=decoded.model,
                variant=str(decoded.variant),
                item_id=decoded.item_id,
                part_number=decoded.part_number,
                parts_in_item=decoded.parts_in_item,
                owner_library=decoded.owner_library,
                country=decoded.country,
                type_of_usage=_plain(decoded.type_of_usage),
                type_of_usage_name=usage_name(decoded.type_of_usage),
                for_loan=decoded.for_loan,
                extensions=[
                    {"id": block.block_id, "data": block.data.hex()} for block in decoded.extensions.blocks
                ],
            )
        elif isinstance(decoded, PatronCardTag):
            rec.update(
                model=decoded.model,
                variant=str(decoded.variant),
                card_id=decoded.card_id,
                owner_library=decoded.owner_library,
                country=decoded.country,
            )
        else:
            rec.update(
                reason_type=self.reason_type,
                reason=decoded.reason if isinstance(decoded, UnreadableTag) else self.read_error,
                blank=isinstance(decoded, UnreadableTag) and decoded.blank,
                model=decoded.model if isinstance(decoded, UnreadableTag) else "",
                raw=self.raw.hex(),
            )
        rec["problems"] = list(self.problems)
        return rec

    def describe(self) -> str:
        """The tag as a few labelled lines (``kiosk tag read``)."""
        lines = [f"Tag {format_uid(self.uid)}"]

        def add(label: str, value: object) -> None:
            lines.append(f"  {label + ':':<15} {value}")

        decoded = self.decoded
        if isinstance(decoded, ItemTag | PatronCardTag):
            add("model", f"{decoded.model} ({decoded.variant})")
        if isinstance(decoded, ItemTag):
            add("item id", decoded.item_id)
            add("part", f"{decoded.part_number} of {decoded.parts_in_item}")
            add("owner library", _owner_text(decoded.owner_library, decoded.country))
            name = usage_name(decoded.type_of_usage)
            add("type of usage", f"{_plain(decoded.type_of_usage)}" + (f" ({name})" if name else ""))
            if decoded.extensions.blocks:
                add("extensions", ", ".join(f"block {b.block_id}" for b in decoded.extensions.blocks))
        elif isinstance(decoded, PatronCardTag):
            add("patron card", decoded.card_id)
            add("owner library", _owner_text(decoded.owner_library, decoded.country))
        else:
            reason = decoded.reason if isinstance(decoded, UnreadableTag) else self.read_error
            add("unreadable", f"[{self.reason_type}] {reason}")
            add("raw", self.raw.hex(" ") if self.raw else "(nothing read)")
        name = _AFI_NAMES.get(self.afi, "")
        add("AFI", afi_hex(self.afi) + (f" ({name})" if name else ""))
        add("problems", "; ".join(self.problems) if self.problems else "none")
        return "\n".join(lines)


def _plain(value: int | str) -> int | str:
    return int(value) if isinstance(value, int) else value


def _owner_text(library: str, country: str) -> str:
    return f"{library or '(none)'}, country {country or '(none)'}"


async def read_pad(reader: Reader, *, library: str | None = None) -> list[TagReport]:
    """Every tag on the pad, sorted by UID. ``library``: also flag tags owned by another library.

    Raises ``ReaderUnavailable`` (or another ``ReaderError``) when the inventory fails; a single tag that
    cannot be read is reported (``read_failed``), not raised.
    """
    reports = []
    for uid in sorted(await reader.inventory()):
        try:
            memory = await reader.read(uid)
        except ReaderUnavailable:
            raise
        except ReaderError as error:
            reports.append(
                TagReport(uid, AFI_UNKNOWN, 0, b"", None, reason_type="read_failed", read_error=str(error))
            )
            continue
        reports.append(report_tag(memory, library=library))
    return reports


def report_tag(memory: TagMemory, *, library: str | None = None) -> TagReport:
    decoded = decode_any(memory.data, memory.dsfid)
    problems: list[str] = []
    reason_type = ""
    if isinstance(decoded, ItemTag | PatronCardTag) and decoded.model == MODEL_28560_3:
        danish = _danish(memory.data)
        if danish is not None:
            problems += iso28560_3.nor_rfid_problems(danish.tag, library)
            if danish.extensions.problem:
                problems.append(f"extension blocks: {danish.extensions.problem}")
        if decoded.variant != Variant.STANDARD:
            problems.append(f"written in the {decoded.variant} variant: rewrite it to fix")
    elif isinstance(decoded, ItemTag):
        problems.append(f"{decoded.model} tag: not the NOR-RFID profile (ISO 28560-3)")
        if library is not None and decoded.owner_library != f"{NOR_RFID_COUNTRY}-{library}":
            problems.append(f"owner is {decoded.owner_library or 'not given'}, not this library ({library})")
    elif isinstance(decoded, UnreadableTag):
        reason_type = _reason_type(decoded)
    if isinstance(decoded, ItemTag | PatronCardTag) and memory.afi not in (
        AFI_IN_LIBRARY,
        AFI_ON_LOAN,
        AFI_UNKNOWN,
    ):
        problems.append(
            f"AFI {afi_hex(memory.afi)} is neither in library ({afi_hex(AFI_IN_LIBRARY)}) "
            f"nor on loan ({afi_hex(AFI_ON_LOAN)})"
        )
    return TagReport(
        memory.uid, memory.afi, memory.dsfid, memory.data, decoded, tuple(problems), reason_type=reason_type
    )


def _danish(raw: bytes) -> DecodedDanishTag | None:
    try:
        return iso28560_3.decode_tolerant(raw)
    except TagDecodeError:
        return None
    except Exception:  # a codec bug must not stop the tagging station; decode_any reports the tag
        return None


def _reason_type(decoded: UnreadableTag) -> str:
    """What kind of problem ``decode_any`` found (``UNREADABLE_KINDS``)."""
    return decoded.kind or "undecodable"


# ------------------------------------------------------------------------------------------ writing


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
    """The basic block of one part; raises ``TaggingRefused`` when it does not fit NOR-RFID / the model."""
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
    plans: list[_Plan] = []
    conflicts: list[str] = []
    for number, uid in enumerate(uids, start=1):
        try:
            memory = await reader.read(uid)
        except TagNotPresent as error:
            raise TaggingRefused(f"tag {format_uid(uid)} left the pad before it was read") from error
        except ReaderUnavailable:
            raise
        except ReaderError as error:
            raise TaggingRefused(f"tag {format_uid(uid)} could not be read: {error}") from error
        plan, conflict = _plan(memory, new_tag(item_id, parts, number, library, country, type_of_usage))
        plans.append(plan)
        if conflict:
            conflicts.append(f"tag {format_uid(uid)} {conflict}")
    if conflicts and not force:
        raise TaggingRefused("; ".join(conflicts), needs_force=True)

    written: list[WrittenTag] = []
    for plan in plans:
        try:
            used = await _write_and_verify(reader, plan, afi, attempts)
        except TaggingFailed as error:
            done = ", ".join(f"part {w.part_number}" for w in written)
            note = f" ({done} written and verified)" if done else " (no other part was written)"
            raise TaggingFailed(f"{error}{note}; put the tags back and write again") from error
        written.append(
            WrittenTag(
                plan.uid,
                plan.tag.part_number,
                plan.tag.parts_in_item,
                plan.before,
                plan.extensions_kept,
                used,
                afi,
            )
        )
    return written


def _plan(memory: TagMemory, tag: DanishTag) -> tuple[_Plan, str]:
    """What to write on this tag, and why it may not be ours to overwrite ("" when it is)."""
    raw = memory.data
    decoded = decode_any(raw, memory.dsfid)
    danish = None
    if not (isinstance(decoded, ItemTag | PatronCardTag) and decoded.model == MODEL_28560_2):
        danish = _danish(raw)
    conflict = ""
    if danish is not None:
        old = danish.tag
        base = danish.memory  # standard order: a reversed-variant tag is rewritten the right way round
        before = f"{old.primary_item_id!r} part {old.part_number} of {old.parts_in_item}, "
        before += f"library {old.owner_library or '(none)'} ({old.country or 'no country'})"
        if old.is_patron_card:
            conflict = f"is a patron card ({old.primary_item_id}, library {old.owner_library}), not an item"
        elif (old.country, old.owner_library) != (tag.country, tag.owner_library):
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
        if owner.upper() != isil.upper():
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
            before = f"unreadable ({_reason_type(decoded)}): {decoded.reason}"
            conflict = (
                f"cannot be decoded ({_reason_type(decoded)}: {decoded.reason}), so it may belong to another "
                f"library or hold data staff need and is not overwritten; raw memory: {raw.hex()}"
            )
        # Where an unreadable basic block ended (32 or 34 bytes) is not known: nothing after it is kept.
        base = bytes(len(raw))
        extensions_kept = 0
    new = iso28560_3.rewrite(base, tag)
    if len(new) % BLOCK_SIZE:
        new = new.ljust(len(new) + BLOCK_SIZE - len(new) % BLOCK_SIZE, b"\x00")
    return _Plan(memory.uid, tag, raw, new, before, extensions_kept), conflict


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
