"""ISO 28560-3 extension blocks: the standard's frame written, both frames read and named (issue 10, 11)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from drivers.tags.extensions import (
    ExtensionBlock,
    ExtensionId,
    ExtensionLayout,
    encode_extensions,
    parse_extensions,
)
from drivers.tags.iso28560_3 import DanishTag, decode_tolerant, encode, rewrite
from drivers.tags.model import ItemTag, decode_any

# The reference's example: title "title" is 09 04 00 6d 74 69 74 6c 65 (length, id low first, check, data).
STANDARD_TITLE = bytes.fromhex("0904006d7469746c65")
BOOK = DanishTag(1, 1, 1, "22000000012345", "NO", "2190000")


def check_last(block_id: int, data: bytes) -> bytes:
    """What encoders that put the check byte last write (and this project wrote before issue 10)."""
    body = bytes([len(data) + 4]) + block_id.to_bytes(2, "little") + data
    check = 0
    for byte in body:
        check ^= byte
    return body + bytes([check])


def test_the_title_block_is_written_in_the_standard_frame() -> None:
    assert encode_extensions([ExtensionBlock(ExtensionId.TITLE, b"title")]) == STANDARD_TITLE + b"\x00"


def test_the_standard_frame_is_read_as_title_not_mtitl() -> None:
    extensions = parse_extensions(STANDARD_TITLE + b"\x00")
    assert extensions.blocks == (ExtensionBlock(ExtensionId.TITLE, b"title"),)
    assert extensions.layout is ExtensionLayout.STANDARD and not extensions.problem


@pytest.mark.parametrize("title", ["Sofies verden", "Anne Franks dagbok"])
def test_a_check_last_title_that_reads_as_text_one_way_only_is_read_and_named(title: str) -> None:
    extensions = parse_extensions(check_last(ExtensionId.TITLE, title.encode()) + b"\x00")
    assert extensions.blocks == (ExtensionBlock(ExtensionId.TITLE, title.encode()),)
    assert extensions.layout is ExtensionLayout.CHECK_LAST and extensions.layout_certain


@pytest.mark.parametrize("title", ["Sult", "Doppler", "Blåmann", "Naiv. Super."])
def test_a_check_last_title_that_reads_both_ways_is_decided_by_its_capital_and_marked_uncertain(
    title: str,
) -> None:
    # Read in the standard's order these give "ult2", "oppler_" ...: text too, but not a catalogue title.
    extensions = parse_extensions(check_last(ExtensionId.TITLE, title.encode()) + b"\x00")
    assert extensions.blocks == (ExtensionBlock(ExtensionId.TITLE, title.encode()),)
    assert extensions.layout is ExtensionLayout.CHECK_LAST and not extensions.layout_certain


def test_without_evidence_the_standard_order_is_taken_and_said_to_be_assumed() -> None:
    # "title" with the check byte last: "itlem" read the standard's way is text and lower case either way.
    extensions = parse_extensions(check_last(ExtensionId.TITLE, b"title") + b"\x00")
    assert extensions.layout is ExtensionLayout.STANDARD and not extensions.layout_certain
    library = parse_extensions(encode_extensions([ExtensionBlock(ExtensionId.LIBRARY, b"\x01\x02")]))
    assert library.layout is ExtensionLayout.STANDARD and not library.layout_certain
    assert library.blocks == (ExtensionBlock(ExtensionId.LIBRARY, b"\x01\x02"),)


def test_the_layout_is_on_the_decoded_item_and_a_rewrite_keeps_the_bytes() -> None:
    area = check_last(ExtensionId.TITLE, b"Sofies verden") + b"\x00"
    memory = (encode(BOOK) + area).ljust(112, b"\x00")
    decoded = decode_any(memory)
    assert isinstance(decoded, ItemTag) and decoded.extensions.layout is ExtensionLayout.CHECK_LAST
    assert rewrite(memory, BOOK)[32:] == memory[32:]
    assert decode_tolerant(memory).extensions.blocks[0].data == b"Sofies verden"


def test_a_cut_or_unterminated_extension_area_is_a_problem_the_item_survives() -> None:
    area = encode_extensions([ExtensionBlock(ExtensionId.TITLE, b"Sult"), ExtensionBlock(1, b"ab")])
    cut = parse_extensions(area[:-4])
    assert cut.blocks == (ExtensionBlock(ExtensionId.TITLE, b"Sult"),) and "past the end" in cut.problem
    unterminated = parse_extensions(area[:-1])
    assert len(unterminated.blocks) == 2 and "without an end mark" in unterminated.problem
    erased = parse_extensions(area[:-1] + b"\xff" * 20)  # unused memory erased to 0xFF ends the list
    assert len(erased.blocks) == 2 and not erased.problem


titles = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x2FF, exclude_categories=("Cc", "Cs")), max_size=40
)


@given(st.lists(st.tuples(st.sampled_from(list(ExtensionId)), titles), max_size=4))
def test_the_standard_frame_always_reads_back_as_written(blocks: list[tuple[ExtensionId, str]]) -> None:
    written = [
        ExtensionBlock(block_id, text.encode()) for block_id, text in blocks if len(text.encode()) < 200
    ]
    # The one case docs/RFID.md names as undecidable: a title starting lower-case whose check byte is a
    # capital reads as a capitalised title with the check byte last, so the order is guessed, not proved.
    assume(not any(_capital_check_before_lower_case_title(block) for block in written))
    extensions = parse_extensions(encode_extensions(written))
    assert list(extensions.blocks) == written and not extensions.problem
    assert extensions.layout in (ExtensionLayout.STANDARD, ExtensionLayout.NONE)


def _capital_check_before_lower_case_title(block: ExtensionBlock) -> bool:
    if block.block_id != ExtensionId.TITLE or not block.data:
        return False
    check = encode_extensions([block])[3:4].decode("latin-1")
    return check.isupper() and block.data[:1].decode("latin-1").islower()
