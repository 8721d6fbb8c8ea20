"""The tagging station: `kiosk tag read` / `kiosk tag write` against the FEIG simulator on a pty.

The CLI tests run the real command (``kiosk.cli.main`` with argv, and once as a subprocess) with
``--reader feig --device <pty>``, and check the tags as the simulator holds them afterwards.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.rfid.base import AFI_IN_LIBRARY, AFI_ON_LOAN, ReaderUnavailable, TagNotPresent
from drivers.rfid.feig import FeigReader
from drivers.rfid.feig_protocol import ISO_WRITE_AFI, ISO_WRITE_MULTIPLE
from drivers.rfid.feig_sim import Fault, SimulatedFeigReader
from drivers.rfid.pcsc import PcscReader
from drivers.rfid.sim import SimulatedPad, make_uid
from drivers.tags import iso28560_2
from drivers.tags.iso28560_3 import (
    DanishTag,
    ExtensionBlock,
    TypeOfUsage,
    decode,
    decode_tolerant,
    encode,
    encode_extensions,
    reverse_blocks,
)
from kiosk.cli import build_station, main
from kiosk.cli.tagging import TaggingFailed, TaggingRefused, read_pad, write_item
from kiosk.config import ConfigError, RfidSection
from kiosk.config import load as load_config
from kiosk.hardware import open_reader

OURS = "2190000"
OTHERS = "0205000"
ROOT = Path(__file__).resolve().parents[2]

EXTENSIONS = encode_extensions([ExtensionBlock(4, b"Sult"), ExtensionBlock(1, b"\x01\x02\x03")])


def item(item_id: str, library: str = OURS, parts: int = 1, part: int = 1, country: str = "NO") -> bytes:
    return encode(DanishTag(TypeOfUsage.CIRCULATING, parts, part, item_id, country, library))


GOOD = item("22000000012345", parts=2, part=1) + EXTENSIONS
FOREIGN = item("03010000000042", OTHERS)
_CORRUPT = bytearray(item("22000000099999"))
_CORRUPT[5] ^= 0x20  # one bit of the item id flipped: the CRC no longer matches
CORRUPT = bytes(_CORRUPT)
BLANK = b""

U_GOOD, U_FOREIGN, U_BLANK, U_CORRUPT = (make_uid(n) for n in (1, 2, 3, 4))


@pytest.fixture
def sim() -> Iterator[SimulatedFeigReader]:
    with SimulatedFeigReader(max_tags_per_reply=2) as simulator:
        yield simulator


def kiosk(capsys: pytest.CaptureFixture[str], sim: SimulatedFeigReader, *argv: str) -> tuple[int, str, str]:
    command, sub, *rest = argv
    rc = main([command, sub, "--reader", "feig", "--device", sim.path, *rest])
    out, err = capsys.readouterr()
    return rc, out, err


def memory(sim: SimulatedFeigReader, uid: bytes) -> bytes:
    return bytes(sim.tag(uid).memory)


# ------------------------------------------------------------------------------------------ kiosk tag read


def place_mixed_pad(sim: SimulatedFeigReader) -> None:
    sim.place(U_CORRUPT, CORRUPT, AFI_ON_LOAN)
    sim.place(U_BLANK, BLANK, 0x00)
    sim.place(U_FOREIGN, FOREIGN)
    sim.place(U_GOOD, GOOD)


def test_read_json_decodes_every_tag_and_reports_unreadable_ones(sim, capsys) -> None:
    place_mixed_pad(sim)
    rc, out, err = kiosk(capsys, sim, "tag", "read", "--json", "--library", OURS)
    assert rc == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    # One object per tag, in UID order.
    assert [r["uid"] for r in records] == [u.hex().upper() for u in (U_GOOD, U_FOREIGN, U_BLANK, U_CORRUPT)]
    good, foreign, blank, corrupt = records

    assert good["status"] == "item"
    assert good["model"] == "ISO 28560-3" and good["variant"] == "standard"
    assert good["item_id"] == "22000000012345"
    assert (good["part_number"], good["parts_in_item"]) == (1, 2)
    assert (good["owner_library"], good["country"]) == (OURS, "NO")
    assert good["type_of_usage"] == 1 and good["type_of_usage_name"] == "circulating"
    assert good["afi"] == "0x07"
    assert good["problems"] == []
    assert good["extensions"] == [{"id": 4, "data": b"Sult".hex()}, {"id": 1, "data": "010203"}]

    assert foreign["status"] == "item" and foreign["owner_library"] == OTHERS
    assert any(f"not this library ({OURS})" in p for p in foreign["problems"])

    assert blank["status"] == "unreadable" and blank["reason_type"] == "blank" and blank["blank"] is True
    assert blank["raw"] == "00" * 112 and blank["afi"] == "0x00"

    assert corrupt["status"] == "unreadable" and corrupt["reason_type"] == "damaged"
    assert "checksum" in corrupt["reason"]
    assert corrupt["raw"] == CORRUPT.hex() + "00" * (112 - len(CORRUPT))
    assert corrupt["afi"] == "0xC2"


def test_read_text_shows_the_fields_staff_need(sim, capsys) -> None:
    place_mixed_pad(sim)
    rc, out, _ = kiosk(capsys, sim, "tag", "read")
    assert rc == 0
    blocks = out.strip().split("\n\n")
    assert len(blocks) == 4
    good, foreign, blank, corrupt = blocks
    assert good.startswith(f"Tag {U_GOOD.hex().upper()}")
    for expected in (
        "ISO 28560-3 (standard)",
        "22000000012345",
        "1 of 2",
        f"{OURS}, country NO",
        "1 (circulating)",
        "0x07 (in library)",
        "problems:       none",
    ):
        assert expected in good, (expected, good)
    assert OTHERS in foreign
    assert "[blank]" in blank and "00 00 00 00" in blank
    assert "[damaged]" in corrupt and CORRUPT[:4].hex(" ") in corrupt and "0xC2 (on loan)" in corrupt


def test_read_reports_variants_and_profile_problems(sim, capsys) -> None:
    sim.place(make_uid(7), reverse_blocks(item("22000000012345").ljust(32, b"\x00")))
    sim.place(make_uid(8), item("1234", "705", country="DE"), afi=0x00)
    rc, out, _ = kiosk(capsys, sim, "tag", "read", "--json")
    assert rc == 0
    reversed_tag, german = (json.loads(line) for line in out.splitlines())
    assert reversed_tag["variant"] == "reversed_blocks"
    assert any("reversed_blocks" in p for p in reversed_tag["problems"])
    assert any("needs 'NO'" in p for p in german["problems"])
    assert any("7-digit" in p for p in german["problems"])
    assert any("AFI 0x00" in p for p in german["problems"])


def test_read_an_empty_pad(sim, capsys) -> None:
    rc, out, _ = kiosk(capsys, sim, "tag", "read")
    assert rc == 0 and out.strip() == "No tags on the pad."


def test_read_as_a_real_subprocess(sim) -> None:
    sim.place(U_GOOD, GOOD)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kiosk",
            "tag",
            "read",
            "--json",
            "--reader",
            "feig",
            "--device",
            sim.path,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    (record,) = (json.loads(line) for line in done.stdout.splitlines())
    assert record["item_id"] == "22000000012345" and record["afi"] == "0x07"


# ------------------------------------------------------------------------------------------ kiosk tag write


def write_args(*extra: str, item_id: str = "22000000077777", parts: int = 2) -> list[str]:
    return ["tag", "write", "--item-id", item_id, "--parts", str(parts), "--library", OURS, *extra]


def test_write_two_parts_assigns_parts_by_uid_keeps_extensions_and_sets_afi(sim, capsys) -> None:
    first, second = make_uid(10), make_uid(11)
    # Placed in reverse order: the part numbers follow the sorted UIDs, not the order on the pad.
    sim.place(second, BLANK, afi=0x00)
    sim.place(first, item("old-number", parts=1) + EXTENSIONS, afi=AFI_ON_LOAN)
    old_first = memory(sim, first)

    rc, out, err = kiosk(capsys, sim, *write_args())
    assert rc == 0, err
    assert err == ""
    for number, uid in enumerate((first, second), start=1):
        state = sim.tag(uid)
        tag = decode(bytes(state.memory))
        assert tag == DanishTag(TypeOfUsage.CIRCULATING, 2, number, "22000000077777", "NO", OURS)
        assert state.afi == AFI_IN_LIBRARY
    # Everything after the basic block is exactly as it was: the extension blocks survive.
    assert memory(sim, first)[32:] == old_first[32:]
    assert [b.block_id for b in decode_tolerant(memory(sim, first)).extensions.blocks] == [4, 1]
    assert memory(sim, second)[32:] == bytes(112 - 32)
    lines = out.splitlines()
    assert len(lines) == 2 and "part 1 of 2" in lines[0] and "verified" in lines[0]
    assert lines[0].startswith(first.hex().upper()) and "2 extension block(s) kept" in lines[0]

    # Reading back through the command shows a complete, clean set.
    rc, out, _ = kiosk(capsys, sim, "tag", "read", "--json", "--library", OURS)
    records = [json.loads(line) for line in out.splitlines()]
    assert [(r["part_number"], r["parts_in_item"], r["afi"], r["problems"]) for r in records] == [
        (1, 2, "0x07", []),
        (2, 2, "0x07", []),
    ]


def test_write_rewrites_a_reversed_variant_the_right_way_round(sim, capsys) -> None:
    uid = make_uid(20)
    sim.place(uid, reverse_blocks(item("22000000012345") + EXTENSIONS + bytes(3)))
    rc, out, err = kiosk(capsys, sim, *write_args("--json", parts=1, item_id="22000000012345"))
    assert rc == 0, err
    (record,) = (json.loads(line) for line in out.splitlines())
    assert record["verified"] and record["extensions_kept"] == 2
    decoded = decode_tolerant(memory(sim, uid))
    assert decoded.variant == "standard"
    assert [b.data for b in decoded.extensions.blocks] == [b"Sult", b"\x01\x02\x03"]


def test_another_librarys_tag_is_refused_without_force_and_written_with_it(sim, capsys) -> None:
    ours, theirs = make_uid(30), make_uid(31)
    sim.place(ours, BLANK)
    sim.place(theirs, FOREIGN)
    before = {uid: memory(sim, uid) for uid in (ours, theirs)}

    rc, out, err = kiosk(capsys, sim, *write_args())
    assert rc == 1 and out == ""
    assert err.count("\n") == 1  # one line
    assert err.startswith("refused:")
    assert theirs.hex().upper() in err and OTHERS in err and "--force" in err
    assert ours.hex().upper() not in err
    # Nothing was written, not even to the blank tag.
    assert {uid: memory(sim, uid) for uid in (ours, theirs)} == before

    rc, out, err = kiosk(capsys, sim, *write_args("--force"))
    assert rc == 0, err
    assert decode(memory(sim, theirs)).owner_library == OURS
    assert decode(memory(sim, theirs)).part_number == 2


def test_a_damaged_tag_is_refused_without_force_with_its_raw_bytes(sim, capsys) -> None:
    ours, damaged = make_uid(32), make_uid(33)
    sim.place(ours, BLANK)
    sim.place(damaged, CORRUPT + EXTENSIONS)
    before = {uid: memory(sim, uid) for uid in (ours, damaged)}

    rc, out, err = kiosk(capsys, sim, *write_args())
    assert rc == 1 and out == "" and err.count("\n") == 1
    assert err.startswith("refused:") and "--force" in err
    assert damaged.hex().upper() in err and ours.hex().upper() not in err
    assert "cannot be decoded (damaged" in err and "checksum" in err
    assert before[damaged].hex() in err  # the raw memory, for staff
    assert {uid: memory(sim, uid) for uid in (ours, damaged)} == before

    rc, out, err = kiosk(capsys, sim, *write_args("--force", "--json"))
    assert rc == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    assert records[1]["before"].startswith("unreadable (damaged)") and records[1]["extensions_kept"] == 0
    assert decode(memory(sim, damaged)).part_number == 2
    # Where the damaged basic block ended is unknown: nothing after it is kept as if it were extensions.
    assert memory(sim, damaged)[32:] == bytes(112 - 32)


async def test_only_blank_tags_are_written_without_force() -> None:
    refused: dict[str, bytes] = {
        "unsupported": bytes([0x21]) + item("22000000012345")[1:],
        "malformed": bytes(32) + EXTENSIONS,  # an empty basic block, but data after it
        "damaged": CORRUPT,
    }
    for kind, data in refused.items():
        pad = SimulatedPad()
        pad.place(make_uid(1), data)
        with pytest.raises(TaggingRefused, match=rf"cannot be decoded \({kind}: ") as caught:
            await write_item(pad, "22000000077777", 1, OURS)
        assert caught.value.needs_force and data.hex() in str(caught.value)
        assert pad.tags()[0].data[: len(data)] == data
    for fill in (0x00, 0xFF):
        pad = SimulatedPad()
        pad.place(make_uid(1), bytes([fill]) * 112)
        (written,) = await write_item(pad, "22000000077777", 1, OURS)
        assert written.before == "blank"
        assert decode(pad.tags()[0].data).primary_item_id == "22000000077777"


def test_an_iso_28560_2_tag_without_dsfid_is_read_as_such_and_not_overwritten(sim, capsys) -> None:
    # An integer item id starts the tag with 0x11, the 28560-3 "version 1" byte; FEIG reports DSFID 0 here.
    helmet = iso28560_2.encode(iso28560_2.Iso28560_2Tag("30000123", "FI-HELMET", 2, 1))
    uid = make_uid(34)
    sim.place(uid, helmet, dsfid=0)
    rc, out, _ = kiosk(capsys, sim, "tag", "read", "--json")
    assert rc == 0
    record = json.loads(out)
    assert (record["status"], record["model"], record["item_id"]) == ("item", "ISO 28560-2", "30000123")
    assert record["owner_library"] == "FI-HELMET"
    rc, _, err = kiosk(capsys, sim, *write_args(parts=1))
    assert rc == 1 and "ISO 28560-2 tag of FI-HELMET" in err
    assert memory(sim, uid)[: len(helmet)] == helmet


def test_a_tag_of_another_country_counts_as_another_library(sim, capsys) -> None:
    uid = make_uid(40)
    sim.place(uid, item("1234", OURS, country="DK"))
    rc, _, err = kiosk(capsys, sim, *write_args(parts=1))
    assert rc == 1 and "country DK" in err and uid.hex().upper() in err


@pytest.mark.parametrize("on_pad", [1, 3])
def test_a_different_number_of_tags_than_parts_is_refused(sim, capsys, on_pad) -> None:
    uids = [make_uid(50 + n) for n in range(on_pad)]
    for uid in uids:
        sim.place(uid, BLANK)
    rc, out, err = kiosk(capsys, sim, *write_args(parts=2))
    assert rc == 1 and out == ""
    assert err.count("\n") == 1
    assert "has 2 parts" in err and f"{on_pad} tag" in err
    assert all(memory(sim, uid) == bytes(112) for uid in uids)


def test_a_write_that_does_not_read_back_fails_naming_the_tag(sim, capsys) -> None:
    uid = make_uid(60)
    sim.place(uid, BLANK)
    sim.inject(Fault.WRITE_LOST, times=3, on=ISO_WRITE_MULTIPLE)
    rc, _, err = kiosk(capsys, sim, *write_args(parts=1))
    assert rc == 1
    assert err.startswith("error:") and uid.hex().upper() in err and "3 attempts" in err
    assert "different bytes" in err


def test_a_lost_write_is_retried_and_then_verified(sim, capsys) -> None:
    uid = make_uid(61)
    sim.place(uid, BLANK, afi=0x00)
    sim.inject(Fault.WRITE_LOST, times=1, on=ISO_WRITE_MULTIPLE)
    sim.inject(Fault.WRITE_LOST, times=1, on=ISO_WRITE_AFI)
    rc, out, err = kiosk(capsys, sim, *write_args("--json", parts=1))
    assert rc == 0, err
    assert json.loads(out)["attempts"] == 2
    assert sim.tag(uid).afi == AFI_IN_LIBRARY and decode(memory(sim, uid)).primary_item_id == "22000000077777"


def test_a_library_number_that_is_not_nor_rfid_is_refused(sim, capsys) -> None:
    sim.place(make_uid(70), BLANK)
    rc, _, err = kiosk(capsys, sim, "tag", "write", "--item-id", "1", "--parts", "1", "--library", "705")
    assert rc == 1 and "7-digit" in err
    assert memory(sim, make_uid(70)) == bytes(112)


# ------------------------------------------------------------------------------- the library functions


async def test_patron_cards_and_28560_2_tags_of_others_need_force() -> None:
    pad = SimulatedPad()
    card = encode(DanishTag(TypeOfUsage.PATRON_CARD, 1, 1, "N000123", "NO", OURS))
    # The leading zero makes it numeric compaction (first byte 0x21); integer ids (0x11) are read too, see
    # test_an_iso_28560_2_tag_without_dsfid_is_read_as_such_and_not_overwritten.
    helmet = iso28560_2.encode(iso28560_2.Iso28560_2Tag("030001234", owner_institution="FI-Helmet"))
    pad.place(make_uid(1), card)
    pad.place(make_uid(2), helmet)
    with pytest.raises(TaggingRefused) as refused:
        await write_item(pad, "22000000077777", 2, OURS)
    assert refused.value.needs_force
    assert "patron card" in str(refused.value) and "FI-Helmet" in str(refused.value)
    written = await write_item(pad, "22000000077777", 2, OURS, force=True)
    assert [w.part_number for w in written] == [1, 2]
    # The ISO 28560-2 data is not kept as if it were extension blocks.
    assert pad.tags()[1].data[32:] == bytes(len(pad.tags()[1].data) - 32)


async def test_a_tag_lifted_during_the_write_fails_and_says_what_was_done() -> None:
    pad = SimulatedPad()
    pad.place(make_uid(1), b"")
    pad.place(make_uid(2), b"")
    original = pad.write_blocks

    async def lift_second(uid: bytes, first_block: int, data: bytes) -> None:
        if uid == make_uid(2):
            raise TagNotPresent(uid)
        await original(uid, first_block, data)

    pad.write_blocks = lift_second  # type: ignore[method-assign]
    with pytest.raises(TaggingFailed, match=r"0000000002 \(part 2 of 2\) left the pad.*part 1 written"):
        await write_item(pad, "22000000077777", 2, OURS)


async def test_read_pad_on_the_in_process_simulator() -> None:
    pad = SimulatedPad()
    pad.place(make_uid(2), FOREIGN)
    pad.place(make_uid(1), GOOD)
    reports = await read_pad(pad)
    assert [r.uid for r in reports] == [make_uid(1), make_uid(2)]
    assert reports[0].record()["item_id"] == "22000000012345"
    assert reports[1].problems == ()  # no --library: another library's tag is not a profile problem


# ------------------------------------------------------------------------------------------ reader selection


def test_open_reader_builds_each_reader_and_explains_what_is_missing(tmp_path, sim) -> None:
    assert isinstance(open_reader(RfidSection()), SimulatedPad)
    feig = open_reader(RfidSection(reader="feig", device=sim.path, reversed_blocks=True))
    assert isinstance(feig, FeigReader) and feig.port == sim.path and feig.reversed_blocks
    pcsc = open_reader(RfidSection(reader="pcsc", pcsc_reader="OMNIKEY", pcsc_model="virtual-15693"))
    assert isinstance(pcsc, PcscReader) and pcsc.reader_name == "OMNIKEY"
    with pytest.raises(ConfigError, match=r"kiosk.toml: \[rfid\] reader = 'feig' needs device"):
        open_reader(RfidSection(reader="feig"), source="kiosk.toml")
    with pytest.raises(ConfigError, match="pcsc_model 'omnikey' is not one of generic"):
        open_reader(RfidSection(reader="pcsc", pcsc_model="omnikey"))
    missing = str(tmp_path / "ttyUSB9")
    # A station may start before the USB device: the driver opens it when it appears ...
    assert isinstance(open_reader(RfidSection(reader="feig", device=missing)), FeigReader)
    # ... but a tool that needs the reader now is told at once.
    with pytest.raises(ReaderUnavailable, match="ttyUSB9 does not exist"):
        open_reader(RfidSection(reader="feig", device=missing), check_device=True)


def test_tag_commands_take_the_reader_from_the_config_file(tmp_path, sim, capsys) -> None:
    sim.place(U_GOOD, GOOD)
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[rfid]\nreader = "feig"\ndevice = "{sim.path}"\n', encoding="utf-8")
    assert main(["tag", "read", "--json", "--config", str(config)]) == 0
    assert json.loads(capsys.readouterr().out)["item_id"] == "22000000012345"
    # --reader on the command line wins over the file.
    assert main(["tag", "read", "--config", str(config), "--reader", "sim"]) == 0
    assert capsys.readouterr().out.strip() == "No tags on the pad."


def test_missing_reader_choices_are_one_line_errors(tmp_path, capsys) -> None:
    assert main(["tag", "read"]) == 1
    assert "--reader" in capsys.readouterr().err
    assert main(["tag", "read", "--reader", "feig"]) == 1
    assert "needs --device" in capsys.readouterr().err
    assert main(["tag", "read", "--reader", "feig", "--device", str(tmp_path / "gone")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err


def test_kiosk_run_builds_the_configured_reader(tmp_path, sim) -> None:
    password = tmp_path / "sip2.password"
    password.write_text("secret\n", encoding="utf-8")
    password.chmod(0o600)
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'[sip2]\npassword_file = "{password}"\n'
        f'[rfid]\nreader = "feig"\ndevice = "{sim.path}"\nleave_after = 4\nsecurity_failure = "undo"\n'
        f'[journal]\npath = "{tmp_path / "journal.sqlite3"}"\n'
        f'[printer]\ndirectory = "{tmp_path / "receipts"}"\n'
        '[clock]\ntrust = "always"\n',
        encoding="utf-8",
    )
    station = build_station(load_config(config))
    assert isinstance(station.reader, FeigReader) and station.reader.port == sim.path
    assert station.watcher.leave_after == 4
    assert station.policy.security_failure.value == "undo"
