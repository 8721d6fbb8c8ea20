"""``decode_any``: one call that reads whatever is on a tag and never raises.

It tries the data models a Nordic library meets, strongest evidence first, and returns one of:

- ``ItemTag``: a library item (ISO 28560-3 / NOR-RFID or ISO 28560-2), with its set information;
- ``PatronCardTag``: a patron card (ISO 28560-3 type of usage 8);
- ``UnreadableTag``: blank, foreign or corrupt, with the reason, its ``kind`` and the raw bytes for staff.

How the model is decided:

1. A tag whose whole memory is 0x00 (or 0xFF) is blank.
2. ISO 28560-3 carries a CRC: a basic block that passes it is taken as 28560-3 (in whichever variant),
   whatever the DSFID says (our own rewrite of an old 28560-2 tag keeps the tag's DSFID).
3. Otherwise ISO 28560-2 is tried. When the DSFID says 28560-2 (``iso28560_2.DSFIDS_ISO28560_2``) it is
   decoded as usual; without that (DSFID 0 or unknown) it must parse *cleanly* (``strict``), because a
   first byte 0x1_ is both the 28560-3 "version 1" byte and a 28560-2 precursor (integer compaction,
   relative OID 1: the primary item id). A block whose 28560-3 fields mostly still look right
   (``iso28560_3.looks_like_basic_block``) is not tried at all. So a damaged 28560-3 tag stays "damaged"
   instead of turning into another item number, and a 28560-2 tag is still read on a reader that reports
   no DSFID.
4. Neither: ``UnreadableTag`` with the error of the model the tag looked like (28560-2 when its DSFID says
   so, 28560-3 otherwise) and the raw bytes.

A read cut short is never another tag: fewer than 32 bytes (a library tag's memory is never smaller) are
tried as ISO 28560-2 only when the DSFID says so, and a 28560-2 read that ends before its terminator is a
``ShortRead`` too. Such a tag is ``UnreadableTag`` of kind ``short_read`` (``read_again``): the caller
reads it again instead of sending the patron to staff.

Owner libraries: ``owner_library`` is what the tag holds; ``library_id`` is the same library in the one
form ``drivers.tags.library.normalise_library_id`` gives (``NO-2030000``), for comparing and showing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drivers.tags import iso28560_2, iso28560_3
from drivers.tags.errors import BlankTag, MalformedTag, ShortRead, TagCrcError, TagDecodeError, UnsupportedTag
from drivers.tags.iso28560_3 import BASIC_BLOCK_SIZES, Extensions, TypeOfUsage, Variant
from drivers.tags.library import normalise_library_id

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

    @property
    def library_id(self) -> str:
        """The owner library in one comparable form (``NO-2030000``)."""
        return normalise_library_id(self.owner_library, self.country)


@dataclass(frozen=True)
class PatronCardTag:
    model: str
    card_id: str
    owner_library: str
    country: str = ""
    variant: str = Variant.STANDARD

    @property
    def library_id(self) -> str:
        """The owner library in one comparable form (``NO-2030000``)."""
        return normalise_library_id(self.owner_library, self.country)


@dataclass(frozen=True)
class UnreadableTag:
    reason: str
    raw: bytes
    blank: bool = False
    model: str = ""  # the model it looked like, if any
    kind: str = ""  # one of UNREADABLE_KINDS

    @property
    def read_again(self) -> bool:
        """The read was cut short: nothing is known about the tag yet, read it again."""
        return self.kind == "short_read"


# What made a tag unreadable: never programmed; CRC fails; another data model or version; fields that make
# no sense; a valid tag that is neither an item nor a card; the read was cut short (read again); a codec
# bug (reported, never raised).
UNREADABLE_KINDS = (
    "blank",
    "damaged",
    "unsupported",
    "malformed",
    "not_an_item",
    "short_read",
    "undecodable",
)


DecodedTag = ItemTag | PatronCardTag | UnreadableTag

_ITEM_USAGES = (TypeOfUsage.CIRCULATING, TypeOfUsage.NOT_FOR_LOAN)


def decode_any(raw: bytes, dsfid: int | None = None) -> DecodedTag:
    """What is on the tag (see the module docstring); never raises."""
    raw = bytes(raw)
    if not raw:
        return UnreadableTag(ShortRead(raw, "nothing came back").message, raw, kind="short_read")
    if iso28560_3.is_blank(raw):
        return UnreadableTag(BlankTag(raw).message, raw, blank=True, kind="blank")
    try:
        return _as_28560_3(raw)
    except Exception as error:  # a codec bug must not take the station down
        error_3 = _as_decode_error(error, raw)
    # DSFID 0x06 / 0x3E mark ISO 28560-2 (see iso28560_2.DSFIDS_ISO28560_2). Without them the DSFID is 0 or
    # unknown (many readers cannot report it), and 28560-2 has to prove itself by parsing cleanly.
    dsfid_says_2 = dsfid in iso28560_2.DSFIDS_ISO28560_2
    if not dsfid_says_2 and (len(raw) < BASIC_BLOCK_SIZES[0] or iso28560_3.looks_like_basic_block(raw)):
        # Too short for any library tag (a cut read), or a damaged 28560-3 block: not tried as 28560-2.
        return UnreadableTag(error_3.message, raw, kind=_kind(error_3))
    try:
        return _as_28560_2(raw, strict=not dsfid_says_2)
    except Exception as error:  # likewise
        error_2 = _as_decode_error(error, raw)
    # A read that parsed cleanly as 28560-2 up to where it was cut off is reported as that: read again.
    reported = error_2 if dsfid_says_2 or isinstance(error_2, ShortRead) else error_3
    return UnreadableTag(reported.message, raw, kind=_kind(reported))


class _CodecBug(TagDecodeError):
    pass


def _as_decode_error(error: Exception, raw: bytes) -> TagDecodeError:
    if isinstance(error, TagDecodeError):
        return error
    return _CodecBug(f"The tag could not be decoded ({error!r}).", raw)


# (A BlankTag cannot get here: decode_any has answered blank and empty memory itself.)
_KINDS: tuple[tuple[type[TagDecodeError], str], ...] = (
    (ShortRead, "short_read"),
    (TagCrcError, "damaged"),
    (UnsupportedTag, "unsupported"),
    (MalformedTag, "malformed"),
)


def _kind(error: TagDecodeError) -> str:
    return next((name for cls, name in _KINDS if isinstance(error, cls)), "undecodable")


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
            kind="not_an_item",
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


def _as_28560_2(raw: bytes, *, strict: bool) -> DecodedTag:
    tag = iso28560_2.decode(raw, strict=strict)
    return ItemTag(
        model=MODEL_28560_2,
        item_id=tag.primary_item_id,
        parts_in_item=tag.parts_in_item,
        part_number=tag.part_number,
        owner_library=tag.owner_institution,
        type_of_usage=tag.type_of_usage or 1,
    )
