"""``decode_any``: one call that reads whatever is on a tag and never raises.

It tries the data models a Nordic library meets, strongest evidence first, and returns one of:

- ``ItemTag``: a library item (ISO 28560-3 / NOR-RFID or ISO 28560-2), with its set information;
- ``PatronCardTag``: a patron card (ISO 28560-3 type of usage 8);
- ``UnreadableTag``: blank, foreign or corrupt, with the reason and the raw bytes for staff.

ISO 28560-3 carries a CRC, so a tag that passes it is taken as 28560-3 (in whichever variant). ISO 28560-2
is tried first when the tag's DSFID says 0x06, and otherwise only when the tag is clearly not 28560-3
(its first byte does not claim version 1). A version-1 tag whose CRC fails is a *damaged* 28560-3 tag:
reading it as 28560-2 could turn it into another item number, so it is reported unreadable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drivers.tags import iso28560_2, iso28560_3
from drivers.tags.errors import BlankTag, TagDecodeError
from drivers.tags.iso28560_3 import Extensions, TypeOfUsage, Variant

MODEL_28560_3 = "ISO 28560-3"
MODEL_28560_2 = "ISO 28560-2"


@dataclass(frozen=True)
class ItemTag:
    model: str
    item_id: str
    parts_in_item: int
    part_number: int
    owner_library: str  # 28560-3: library number; 28560-2: owner ISIL
    country: str = ""
    type_of_usage: int | str = 1
    variant: str = Variant.STANDARD
    extensions: Extensions = field(default_factory=Extensions)
    profile_problems: tuple[str, ...] = ()  # NOR-RFID deviations, for staff (the item still works)
    for_loan: bool = True


@dataclass(frozen=True)
class PatronCardTag:
    model: str
    card_id: str
    owner_library: str
    country: str = ""
    variant: str = Variant.STANDARD


@dataclass(frozen=True)
class UnreadableTag:
    reason: str
    raw: bytes
    blank: bool = False
    model: str = ""  # the model it looked like, if any


DecodedTag = ItemTag | PatronCardTag | UnreadableTag

_ITEM_USAGES = (TypeOfUsage.CIRCULATING, TypeOfUsage.NOT_FOR_LOAN)


def decode_any(raw: bytes, dsfid: int | None = None) -> DecodedTag:
    raw = bytes(raw)
    order = [_as_28560_3, _as_28560_2]
    if dsfid == iso28560_2.DSFID_ISO28560_2:
        order.reverse()
    elif raw and raw[0] >> 4 == iso28560_3.SUPPORTED_VERSION:
        order = [_as_28560_3]
    first_error: TagDecodeError | None = None
    for attempt in order:
        try:
            return attempt(raw)
        except BlankTag as error:
            return UnreadableTag(error.message, raw, blank=True)
        except TagDecodeError as error:
            first_error = first_error or error
        except Exception as error:  # a codec bug must not take the station down
            first_error = first_error or TagDecodeError(f"The tag could not be decoded ({error!r}).", raw)
    assert first_error is not None
    return UnreadableTag(first_error.message, raw)


def _as_28560_3(raw: bytes) -> DecodedTag:
    decoded = iso28560_3.decode_tolerant(raw)
    tag = decoded.tag
    if tag.type_of_usage == TypeOfUsage.PATRON_CARD:
        card = tag.primary_item_id
        return PatronCardTag(MODEL_28560_3, card, tag.owner_library, tag.country, decoded.variant)
    if tag.type_of_usage not in _ITEM_USAGES:
        return UnreadableTag(
            f"The tag is an ISO 28560-3 tag with type of usage {tag.type_of_usage}, not an item or a card.",
            raw,
            model=MODEL_28560_3,
        )
    return ItemTag(
        model=MODEL_28560_3,
        item_id=tag.primary_item_id,
        parts_in_item=tag.parts_in_item,
        part_number=tag.part_number,
        owner_library=tag.owner_library,
        country=tag.country,
        type_of_usage=tag.type_of_usage,
        variant=decoded.variant,
        extensions=decoded.extensions,
        profile_problems=tuple(iso28560_3.nor_rfid_problems(tag)) if tag.country == "NO" else (),
        for_loan=tag.type_of_usage != TypeOfUsage.NOT_FOR_LOAN,
    )


def _as_28560_2(raw: bytes) -> DecodedTag:
    tag = iso28560_2.decode(raw)
    return ItemTag(
        model=MODEL_28560_2,
        item_id=tag.primary_item_id,
        parts_in_item=tag.parts_in_item,
        part_number=tag.part_number,
        owner_library=tag.owner_institution,
        type_of_usage=tag.type_of_usage or 1,
    )
