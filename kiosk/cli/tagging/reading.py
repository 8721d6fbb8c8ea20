"""Reading the pad for staff: every tag decoded, with what is wrong with it (`kiosk tag read`)."""

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
    afi_hex,
    format_uid,
)
from drivers.tags import iso28560_3, library_number, normalise_library_id, same_library
from drivers.tags.iso28560_3 import Variant
from drivers.tags.model import (
    MODEL_28560_3,
    DecodedTag,
    ItemTag,
    PatronCardTag,
    UnreadableTag,
    decode_any,
)
from kiosk.cli.tagging.common import AFI_UNKNOWN, NOR_RFID_COUNTRY, decode_danish, unreadable_kind, usage_name

_AFI_NAMES = {AFI_IN_LIBRARY: "in library", AFI_ON_LOAN: "on loan"}


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
    """The owner as one form (``2030000`` for ``02030000`` or ``NO-2030000``), and as written when that
    differs, so staff compare libraries, not spellings."""
    number = library_number(library, country) if library else ""
    written = f" (written {library!r})" if number != library else ""
    return f"{number or '(none)'}, country {country or '(none)'}{written}"


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
        danish = decode_danish(memory.data)
        if danish is not None:
            problems += iso28560_3.nor_rfid_problems(danish.tag, library)
            if danish.extensions.problem:
                problems.append(f"extension blocks: {danish.extensions.problem}")
        if decoded.variant != Variant.STANDARD:
            problems.append(f"written in the {decoded.variant} variant: rewrite it to fix")
    elif isinstance(decoded, ItemTag):
        problems.append(f"{decoded.model} tag: not the NOR-RFID profile (ISO 28560-3)")
        if library is not None and not same_library(decoded.owner_library, library, NOR_RFID_COUNTRY):
            owner = normalise_library_id(decoded.owner_library, NOR_RFID_COUNTRY) or "not given"
            problems.append(f"owner is {owner}, not this library ({library})")
    elif isinstance(decoded, UnreadableTag):
        reason_type = unreadable_kind(decoded)
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
