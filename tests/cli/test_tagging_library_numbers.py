"""The same library written three ways (`2030000`, `02030000`, `NO-2030000`) is one library to the tagging
station: when it flags tags of another library, when it overwrites them, in what it shows and in what it
writes. On the in-process simulated pad (the FEIG transport is covered by test_tagging.py)."""

from __future__ import annotations

from drivers.rfid.sim import SimulatedPad, make_uid
from drivers.tags import iso28560_2
from drivers.tags.iso28560_3 import DanishTag, TypeOfUsage, decode, encode
from kiosk.cli.tagging import new_tag, read_pad, write_item


def nor_rfid(item_id: str, library: str, country: str = "NO") -> bytes:
    return encode(DanishTag(TypeOfUsage.CIRCULATING, 1, 1, item_id, country, library))


async def test_a_tag_owned_by_02030000_is_this_librarys_when_staff_say_no_2030000() -> None:
    pad = SimulatedPad()
    pad.place(make_uid(1), nor_rfid("22000000012345", "02030000"))
    pad.place(
        make_uid(2), iso28560_2.encode(iso28560_2.Iso28560_2Tag("1234", owner_institution="NO-02030000"))
    )
    pad.place(make_uid(3), nor_rfid("22000000054321", "2040000"))
    reports = await read_pad(pad, library="NO-2030000")
    assert not any("not this library" in p for r in reports[:2] for p in r.problems), reports
    assert any("not this library (NO-2030000)" in p for p in reports[2].problems)
    shown = reports[0].describe()
    assert "2030000, country NO (written '02030000')" in shown


async def test_an_iso_28560_2_tag_of_another_library_is_named_in_one_form() -> None:
    pad = SimulatedPad()
    pad.place(
        make_uid(1), iso28560_2.encode(iso28560_2.Iso28560_2Tag("1234", owner_institution="NO-02040000"))
    )
    (report,) = await read_pad(pad, library="2030000")
    assert "owner is NO-2040000, not this library (2030000)" in report.problems


def test_the_library_given_any_way_is_written_as_the_7_digit_number() -> None:
    for spelling in ("2030000", "02030000", "NO-2030000", "no-02030000"):
        assert new_tag("22000000012345", 1, 1, spelling).owner_library == "2030000"


async def test_a_tag_of_02030000_is_rewritten_for_no_2030000_without_force() -> None:
    pad = SimulatedPad()
    pad.place(make_uid(1), nor_rfid("22000000012345", "02030000"))
    pad.place(
        make_uid(2), iso28560_2.encode(iso28560_2.Iso28560_2Tag("1234", owner_institution="NO-2030000"))
    )
    written = await write_item(pad, "22000000077777", 2, "NO-2030000")
    assert [w.part_number for w in written] == [1, 2]
    assert decode(pad.tags()[0].data[:32]).owner_library == "2030000"
