"""Library identifiers: one library, many spellings (issue 10, finding 13)."""

from __future__ import annotations

import pytest

from drivers.tags.iso28560_3 import DanishTag, encode, nor_rfid_problems
from drivers.tags.library import library_number, normalise_library_id, same_library
from drivers.tags.model import ItemTag, decode_any


@pytest.mark.parametrize("spelling", ["2030000", "02030000", "NO-2030000", "no-02030000", " NO-2030000 "])
def test_the_norwegian_spellings_of_one_library_are_one_library(spelling: str) -> None:
    assert normalise_library_id(spelling, "NO") == "NO-2030000"
    assert same_library(spelling, "2030000", "NO") and same_library("NO-2030000", spelling)
    assert library_number(spelling, "NO") == "2030000"


def test_a_number_that_lost_its_leading_zeros_is_the_7_digit_number() -> None:
    assert normalise_library_id("30000", "NO") == "NO-0030000" and same_library("30000", "NO-0030000", "NO")


@pytest.mark.parametrize(
    ("first", "second"),
    [("2030000", "2030001"), ("NO-2030000", "SE-2030000"), ("", ""), ("2030000", "")],
)
def test_different_or_missing_libraries_are_not_the_same(first: str, second: str) -> None:
    assert not same_library(first, second, "NO")


def test_other_isils_keep_their_form_and_compare_without_case() -> None:
    assert normalise_library_id("DE-Heu1") == "DE-Heu1" and same_library("DE-Heu1", "de-HEU1")
    assert normalise_library_id("705", "DK") == "DK-705"
    assert normalise_library_id("FI-HELMET", "NO") == "FI-HELMET"


def test_decoded_tags_carry_the_normalised_library_and_the_profile_check_uses_it() -> None:
    tag = DanishTag(1, 1, 1, "22000000012345", "NO", "02030000")
    decoded = decode_any(encode(tag).ljust(112, b"\x00"))
    assert isinstance(decoded, ItemTag) and decoded.library_id == "NO-2030000"
    problems = nor_rfid_problems(tag, library="2030000")
    assert not any("not this library" in p for p in problems)
    assert any("7-digit" in p for p in problems)  # still a deviation from the profile, shown to staff
    assert any("not this library" in p for p in nor_rfid_problems(tag, library="2030001"))
