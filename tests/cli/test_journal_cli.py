"""`kiosk journal ...` (kiosk/journal_cli.py), through the real command line entry point, on real journal
files; `sync` talks SIP2 over loopback TCP to the demo library system."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sqlite3
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.core import Operation
from kiosk.journal import Journal, State
from server_api.circulation import Transaction
from server_api.demo_ils import data as demo_data
from server_api.demo_ils.server import DemoIls, applied_transactions

NOW = datetime.now().replace(microsecond=0)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["journal", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def committed_state(path: Path, entry_id: uuid.UUID) -> str | None:
    with contextlib.closing(sqlite3.connect(path)) as db:
        row = db.execute("SELECT state FROM entries WHERE id = ?", (str(entry_id),)).fetchone()
    return row[0] if row else None


def age(path: Path, entry_id: uuid.UUID, days: float) -> None:
    """Make an entry's last change `days` old, as if the station had settled it then."""
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        updated = (datetime.now() - timedelta(days=days)).isoformat()
        db.execute("UPDATE entries SET updated = ? WHERE id = ?", (updated, str(entry_id)))


class Day:
    """A journal with one entry of each kind staff meet, made through the journal's own calls."""

    def __init__(self, path: Path) -> None:
        journal = Journal(path)
        try:
            self.returned = journal.record(
                Transaction.new(NOW - timedelta(hours=3)), Operation.CHECKIN, "item-r"
            )
            journal.settle(self.returned.id, State.DONE, outcome={"route": "reshelve"})
            journal.security_done(self.returned.id)  # its tags were written and verified, as a station does
            self.lent = journal.record(
                Transaction.new(NOW - timedelta(hours=2)), Operation.CHECKOUT, "item-l", "219000000001"
            )
            journal.settle(self.lent.id, State.DONE, screen_message="Lånt til 30.03.", outcome={"due": "x"})
            journal.security_done(self.lent.id)
            offline = Transaction.new(
                NOW - timedelta(hours=1),
                offline=True,
                clock_synchronised=False,
                due_date=NOW + timedelta(days=28),
            )
            self.conflict = journal.record(
                offline, Operation.CHECKOUT, "item-lost", "219000000002", state=State.QUEUED
            )
            journal.mark_replaying(self.conflict.id)
            journal.settle(
                self.conflict.id,
                State.CONFLICT,
                reason="item_lost",
                screen_message="Eksemplaret er registrert som tapt.",
                outcome={"happened": False},
                replayed=True,
            )
            self.queued = journal.record(
                Transaction.new(NOW, offline=True), Operation.CHECKIN, "item-q", state=State.QUEUED
            )
        finally:
            journal.close()


@pytest.fixture
def day(tmp_path: Path) -> tuple[Path, Day]:
    path = tmp_path / "journal.sqlite3"
    return path, Day(path)


# ---------------------------------------------------------------- list


def test_list_shows_entries_newest_first_without_patron_ids(capsys, day) -> None:
    path, d = day
    code, out, _ = run(capsys, "list", "--journal", str(path))
    assert code == 0
    lines = out.splitlines()
    ids = [d.queued.id, d.conflict.id, d.lent.id, d.returned.id]
    assert [line.split()[2] for line in lines[1:5]] == [i.hex[:8] for i in ids]  # newest first
    assert "offline,replayed,clock-untrusted" in lines[2] and "item_lost" in lines[2]
    assert lines[-1].startswith("4 shown of 4")
    assert "219000000001" not in out and "219000000002" not in out  # patrons only in show/conflicts

    code, out, _ = run(capsys, "list", "--journal", str(path), "--json", "--limit", "2")
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in records] == [str(d.queued.id), str(d.conflict.id)]
    assert all("patron_id" not in r for r in records)
    assert records[1]["clock_trusted"] is False and records[1]["offline"] is True

    code, out, _ = run(capsys, "list", "--journal", str(path), "--state", "queued,conflict", "--json")
    assert {json.loads(line)["state"] for line in out.splitlines()} == {"queued", "conflict"}

    code, _, err = run(capsys, "list", "--journal", str(path), "--state", "lost")
    assert code == 1 and err.startswith("error: --state 'lost'") and len(err.splitlines()) == 1


def test_the_journal_is_found_through_the_configuration(capsys, day, tmp_path: Path) -> None:
    path, _ = day
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[journal]\npath = "{path}"\n', encoding="utf-8")
    code, out, _ = run(capsys, "list", "--config", str(config))
    assert code == 0 and "4 shown of 4" in out


def test_a_missing_journal_is_one_line_and_is_not_created(capsys, tmp_path: Path) -> None:
    missing = tmp_path / "var" / "journal.sqlite3"
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[journal]\npath = "{missing}"\n', encoding="utf-8")
    for argv in (
        ("list", "--config", str(config)),
        ("conflicts", "--journal", str(missing)),
        ("purge", "--config", str(config)),
        ("show", "abc", "--journal", str(missing)),
    ):
        code, _, err = run(capsys, *argv)
        where = f"{config}: [journal] path" if "--config" in argv else "--journal"
        assert (code, err) == (1, f"error: no journal at {missing} ({where})\n"), argv
    assert not missing.parent.exists()

    code, _, err = run(capsys, "list")
    assert code == 1 and "--config FILE" in err and "--journal PATH" in err

    not_a_journal = tmp_path / "notes.txt"
    not_a_journal.write_text("hello", encoding="utf-8")
    code, _, err = run(capsys, "list", "--journal", str(not_a_journal))
    assert code == 1 and "is not a station journal" in err and len(err.splitlines()) == 1


# ---------------------------------------------------------------- show


def test_show_prints_everything_about_one_entry_by_a_unique_prefix(capsys, day) -> None:
    path, d = day
    code, out, _ = run(capsys, "show", str(d.conflict.id)[:8], "--journal", str(path))
    assert code == 0
    fields = dict(line.split(":", 1) for line in out.splitlines())
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    assert fields["id"] == str(d.conflict.id)
    assert fields["patron"] == "219000000002" and fields["item"] == "item-lost"
    assert fields["state"] == "conflict" and fields["reason"] == "item_lost"
    assert fields["library system said"] == "Eksemplaret er registrert som tapt."
    assert fields["took effect"] == "no"
    assert (fields["offline"], fields["clock trusted"], fields["replayed"]) == ("yes", "no", "yes")
    assert fields["attempts"] == "1" and '"happened": false' in fields["outcome"]

    code, out, _ = run(capsys, "show", d.lent.id.hex[:6], "--journal", str(path), "--json")
    record = json.loads(out)
    assert record["outcome"] == {"due": "x"} and record["took_effect"] == "yes"
    assert (record["offline"], record["clock_trusted"], record["replayed"]) == (False, True, False)


def test_show_refuses_an_unknown_or_ambiguous_id(capsys, day) -> None:
    path, _ = day
    code, _, err = run(capsys, "show", "ffffffffff", "--journal", str(path))
    assert code == 1 and err == f"error: no entry with id 'ffffffffff' in {path}\n"

    journal = Journal(path)
    for n in (1, 2):  # two entries whose ids share their first 12 hex digits
        twin = Transaction(id=uuid.UUID(f"abcdef12-3456-4000-8000-00000000000{n}"), at=NOW)
        journal.record(twin, Operation.CHECKIN, f"twin-{n}")
    journal.close()
    code, _, err = run(capsys, "show", "abcdef12-3456", "--journal", str(path))
    assert code == 1 and err == f"error: id 'abcdef12-3456' matches 2 entries in {path}: give more of it\n"
    code, out, _ = run(capsys, "show", "abcdef12-3456-4000-8000-000000000002", "--journal", str(path))
    assert code == 0 and "twin-2" in out


# ---------------------------------------------------------------- conflicts


def test_conflicts_are_listed_and_resolved_with_a_note(capsys, day) -> None:
    path, d = day
    code, out, _ = run(capsys, "conflicts", "--journal", str(path))
    assert code == 0
    assert "checkout of item item-lost for patron 219000000002" in out
    assert "reason: item_lost" in out
    assert "library system said: Eksemplaret er registrert som tapt." in out
    assert "took effect: no" in out and "clock trusted: no" in out
    assert "1 conflict(s)" in out

    code, _, err = run(
        capsys, "conflicts", "--journal", str(path), "resolve", d.lent.id.hex[:8], "--note", "x"
    )
    assert code == 1 and err == f"error: entry {d.lent.id} is done, not a conflict\n"

    code, out, _ = run(
        capsys,
        "conflicts",
        "--journal",
        str(path),
        "resolve",
        d.conflict.id.hex[:8],
        "--note",
        "lent at desk",
    )
    assert code == 0 and out.startswith(f"resolved {d.conflict.id}")
    assert committed_state(path, d.conflict.id) == "resolved"  # durable at once

    code, out, _ = run(capsys, "conflicts", "--journal", str(path))
    assert out == "No conflicts.\n"
    code, out, _ = run(capsys, "show", d.conflict.id.hex, "--journal", str(path), "--json")
    assert json.loads(out)["outcome"] == {"happened": False, "resolution": "lent at desk"}


# ---------------------------------------------------------------- purge


def test_purge_forgets_finished_entries_older_than_the_configured_days(capsys, day, tmp_path: Path) -> None:
    path, d = day
    for entry_id, days in ((d.returned.id, 12), (d.lent.id, 8), (d.conflict.id, 40), (d.queued.id, 40)):
        age(path, entry_id, days)
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[journal]\npath = "{path}"\npurge_after_days = 10\n', encoding="utf-8")

    code, out, _ = run(capsys, "purge", "--config", str(config))
    assert (code, out) == (0, "purged 1 finished entry older than 10 days\n")
    assert committed_state(path, d.returned.id) is None
    # Never what is unconfirmed or an unresolved conflict, however old; not what is recent enough:
    for kept in (d.lent.id, d.conflict.id, d.queued.id):
        assert committed_state(path, kept) is not None

    code, out, _ = run(capsys, "purge", "--journal", str(path), "--days", "7")
    assert (code, out) == (0, "purged 1 finished entry older than 7 days\n")
    assert committed_state(path, d.lent.id) is None


# ---------------------------------------------------------------- sync


def write_config(tmp_path: Path, journal: Path, port: int) -> Path:
    user, password = demo_data.KIOSK_LOGIN
    secret = tmp_path / "sip2-password"
    secret.write_text(password + "\n", encoding="utf-8")
    secret.chmod(0o600)
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f"""
[sip2]
host = "127.0.0.1"
port = {port}
user = "{user}"
password_file = "{secret}"
institution = "{demo_data.KIOSK_INSTITUTION}"
location = "{demo_data.KIOSK_LOCATION}"
timeout = 2.0

[journal]
path = "{journal}"
""",
        encoding="utf-8",
    )
    return config


def offline_day(path: Path) -> dict[str, uuid.UUID]:
    """What an offline stretch leaves: a loan, a return, and a loan of an item registered lost."""
    journal = Journal(path)
    try:
        start = NOW - timedelta(hours=2)
        due = (NOW + timedelta(days=28)).replace(hour=23, minute=59)
        lend = Transaction.new(start, offline=True, due_date=due)
        give_back = Transaction.new(start + timedelta(minutes=5), offline=True)
        lost = Transaction.new(start + timedelta(minutes=9), offline=True, due_date=due)
        patron = demo_data.DEMO_PATRON_ID
        item = demo_data.DEMO_BORROW_ITEMS[0]
        return {
            "lend": journal.record(lend, Operation.CHECKOUT, item, patron, state=State.QUEUED).id,
            "return": journal.record(
                give_back, Operation.CHECKIN, demo_data.DEMO_EXISTING_LOAN, state=State.QUEUED
            ).id,
            "lost": journal.record(
                lost, Operation.CHECKOUT, demo_data.LOST_ITEM, patron, state=State.QUEUED
            ).id,
        }
    finally:
        journal.close()


async def test_sync_replays_to_the_library_system_exactly_once(capsys, tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    ids = offline_day(path)
    async with DemoIls(db_path=tmp_path / "ils.sqlite3", host="127.0.0.1", port=0) as ils:
        config = write_config(tmp_path, path, ils.port)
        before = len(applied_transactions(ils.db_path))

        code = await asyncio.to_thread(main, ["journal", "sync", "--config", str(config)])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert out.startswith("3 waiting: 2 replayed, 0 found already done, 1 conflict(s)")
        assert "still waiting" in out and "kiosk journal conflicts" in out
        assert committed_state(path, ids["lend"]) == "done"
        assert committed_state(path, ids["return"]) == "done"
        assert committed_state(path, ids["lost"]) == "conflict"
        applied = applied_transactions(ils.db_path)[before:]
        assert sorted(a.operation for a in applied) == ["checkin", "checkout"] and all(
            a.no_block for a in applied
        )

        code = await asyncio.to_thread(main, ["journal", "sync", "--config", str(config), "--json"])
        out, _ = capsys.readouterr()
        assert code == 0
        assert json.loads(out) | {"conflict_ids": []} == {
            "waiting": 0,
            "replayed": 0,
            "reconciled": 0,
            "conflicts": 0,
            "abandoned": 0,
            "remaining": 0,
            "stopped": "",
            "conflict_ids": [],
        }
        assert applied_transactions(ils.db_path)[before:] == applied  # nothing sent twice

    code = await asyncio.to_thread(main, ["journal", "conflicts", "--config", str(config)])
    out, _ = capsys.readouterr()
    assert f"checkout of item {demo_data.LOST_ITEM} for patron {demo_data.DEMO_PATRON_ID}" in out
    assert "reason: item_lost" in out and "took effect: no" in out


async def test_sync_says_so_in_one_line_when_the_library_system_cannot_be_reached(
    capsys, tmp_path: Path
) -> None:
    path = tmp_path / "journal.sqlite3"
    ids = offline_day(path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nobody listens here once it is closed
    config = write_config(tmp_path, path, port)

    code = await asyncio.to_thread(main, ["journal", "sync", "--config", str(config)])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err.startswith(f"error: cannot reach the library system at 127.0.0.1:{port}: ")
    assert len(err.splitlines()) == 1
    for entry_id in ids.values():
        assert committed_state(path, entry_id) == "queued"  # untouched: replayed next time

    code = await asyncio.to_thread(main, ["journal", "sync", "--journal", str(path)])
    _, err = capsys.readouterr()
    assert code == 1 and "sync needs --config FILE" in err


async def test_sync_refuses_while_the_journal_is_open_elsewhere(capsys, tmp_path: Path) -> None:
    """A running station has its journal open: a second replay beside it could send an action twice."""
    path = tmp_path / "journal.sqlite3"
    ids = offline_day(path)
    async with DemoIls(db_path=tmp_path / "ils.sqlite3", host="127.0.0.1", port=0) as ils:
        config = write_config(tmp_path, path, ils.port)
        before = len(applied_transactions(ils.db_path))
        station_journal = Journal(path)  # what a running station holds
        try:
            code = await asyncio.to_thread(main, ["journal", "sync", "--config", str(config)])
            _, err = capsys.readouterr()
            assert code == 1 and "is open in another process" in err and len(err.splitlines()) == 1
            # Reading beside a running station is fine:
            code = await asyncio.to_thread(main, ["journal", "list", "--config", str(config)])
            assert code == 0
        finally:
            station_journal.close()
        assert len(applied_transactions(ils.db_path)) == before
        assert committed_state(path, ids["lend"]) == "queued"

        code = await asyncio.to_thread(main, ["journal", "sync", "--config", str(config)])
        assert code == 0  # once the station is stopped
        assert committed_state(path, ids["lend"]) == "done"
