"""Deliberately bad configuration files: each is refused before the station runs, with a message that names
the file, the key and the fix (issue 11, finding 9). What `kiosk config check` passes, `kiosk run` runs."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.config import load
from kiosk.core import CardFormat, CheckDigit
from tests.cli.station_files import refusal, station_file


def test_a_good_file_passes_every_check(tmp_path: Path) -> None:
    assert refusal(station_file(tmp_path)) == ""


BAD_VALUES = [
    ("[sip2]\nport = 99999", r"\[sip2\] port: 99999 is out of range: use a whole number from 1 to 65535"),
    ("[sip2]\nport = 0", r"\[sip2\] port: 0 is out of range: use a whole number from 1 to 65535"),
    ("[sip2]\ntimeout = inf", r"\[sip2\] timeout: inf is not a finite number"),
    ("[sip2]\ntimeout = 1e9", r"\[sip2\] timeout: 1000000000 is out of range: use a number from 0.5 to 120"),
    ("[sip2]\nkeepalive = 0.001", r"\[sip2\] keepalive: 0.001 is out of range: .* or 0 for no keep-alive"),
    (
        "[sip2]\npool_size = 1000",
        r"\[sip2\] pool_size: 1000 is out of range: use a whole number from 1 to 16",
    ),
    (
        "[session]\nidle_timeout = 86400000",
        r"\[session\] idle_timeout: 86400000 is out of range: .* 10 to 1800",
    ),
    ("[session]\nidle_timeout = 0", r"\[session\] idle_timeout: 0 is out of range"),
    ("[session]\nmax_pin_attempts = 0", r"\[session\] max_pin_attempts: 0 is out of range: .* from 1 to 10"),
    ("[session]\npin_cooldown = 5", r"\[session\] pin_cooldown: 5 is out of range: .* or 0 for no rest"),
    (
        "[session]\npin_cooldown = 7200\npin_cooldown_max = 3600",
        r"\[session\] pin_cooldown \(7200\) is longer than pin_cooldown_max \(3600\): make pin_cooldown_max",
    ),
    (
        "[offline]\nloan_days = 3000000",
        r"\[offline\] loan_days: 3000000 is out of range: .* from 1 to 365 days",
    ),
    ("[offline]\nmax_items_per_patron = -1", r"\[offline\] max_items_per_patron: -1 is out of range"),
    (
        "[offline]\nknown_for_days = 0",
        r"\[offline\] known_for_days: 0 is out of range: .* from 1 to 365 days",
    ),
    (
        '[offline]\ncard_check_digit = "crc32"',
        r"\[offline\] card_check_digit: 'crc32' is not one of none, luhn",
    ),
    (
        "[offline]\ncard_min_length = 14\ncard_max_length = 8",
        r"\[offline\] card_min_length \(14\) is more than card_max_length \(8\)",
    ),
    (
        "[rfid]\nsecurity_attempts = 0",
        r"\[rfid\] security_attempts: 0 is out of range: use a whole number from 1 to 10 \(with 0 the",
    ),
    ("[rfid]\npoll_interval = 0", r"\[rfid\] poll_interval: 0 is out of range: use a number from 0.05 to 5"),
    ("[rfid]\npoll_interval = nan", r"\[rfid\] poll_interval: nan is not a finite number"),
    ("[rfid]\nbaudrate = 12345", r"\[rfid\] baudrate: 12345 is not one of 9600, 19200, 38400, 57600, 115200"),
    ("[rfid]\nleave_after = 0", r"\[rfid\] leave_after: 0 is out of range: use a whole number from 1 to 20"),
    ("[network]\nfailure_budget = 0", r"\[network\] failure_budget: 0 is out of range: .* from 1 to 100"),
    ("[network]\nprobe_interval = 0", r"\[network\] probe_interval: 0 is out of range: .* from 1 to 3600"),
    (
        "[journal]\npurge_after_days = 100000",
        r"\[journal\] purge_after_days: 100000 is out of range: .* 1 to 365",
    ),
    ('[sip2]\nhost = ""', r"\[sip2\] host: empty: name the library system's host or address"),
    ("[sip2]\nport = true", r"\[sip2\] port: expected a whole number, got True"),
]


@pytest.mark.parametrize(
    ("lines", "words"), BAD_VALUES, ids=[lines.split("\n")[1] for lines, _ in BAD_VALUES]
)
def test_every_number_has_a_range_and_a_value_outside_it_is_refused_with_the_fix(
    tmp_path: Path, lines: str, words: str
) -> None:
    said = refusal(station_file(tmp_path, lines + "\n"))
    assert re.search(r"kiosk\.toml: " + words, said), said


def test_a_file_that_is_not_utf8_is_refused_in_one_line_saying_how_to_save_it(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_bytes('[station]\nname = "Bibliotek i Tromsø"\n'.encode("latin-1"))
    said = refusal(path)
    fix = "save the file as UTF-8 (in most editors: Save as, encoding UTF-8)"
    assert said == f"{path}: not UTF-8 text (byte 0xf8 at position 35): {fix}"
    path.write_bytes(b"\xff\xfe[\x00s\x00")  # UTF-16, as some editors save
    assert "not UTF-8 text (byte 0xff at position 0)" in refusal(path)


def test_an_unwritable_journal_directory_is_refused_before_the_station_starts(tmp_path: Path) -> None:
    # /proc takes no files, not even from root (whom `os.access` would let through)
    said = refusal(station_file(tmp_path, '[journal]\npath = "/proc/kiosk/journal.sqlite3"\n'))
    assert re.search(r"kiosk\.toml: \[journal\] path: '/proc' is not writable by \w+: chown", said), said


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: p.mkdir(), r"is not a file: name the journal's file"),
        (lambda p: p.write_text("receipts, not a journal"), r"is not a journal \(not an SQLite file\)"),
        (
            lambda p: (p.write_bytes(b"SQLite format 3\x00"), p.chmod(0o644)),
            r"\(mode 0644\): chmod 600 .*journal",
        ),
    ],
    ids=["directory", "not-sqlite", "readable-by-others"],
)
def test_a_journal_path_the_station_cannot_use_is_refused_with_the_fix(
    tmp_path: Path, make, words: str
) -> None:  # type: ignore[no-untyped-def]
    path = station_file(tmp_path)
    make(tmp_path / "var" / "journal.sqlite3")
    said = refusal(path)
    assert re.search(r"kiosk\.toml: \[journal\] path: .*" + words, said), said


def test_a_journal_directory_open_to_other_users_is_refused(tmp_path: Path) -> None:
    path = station_file(tmp_path)
    (tmp_path / "var").chmod(0o755)
    assert re.search(
        r"\[journal\] path: '/.*/var' can be read by other users \(mode 0755\): chmod 700 /", refusal(path)
    )


def test_a_receipts_directory_that_is_a_file_is_refused(tmp_path: Path) -> None:
    path = station_file(tmp_path)
    (tmp_path / "var" / "receipts").write_text("oops")
    assert re.search(
        r"kiosk\.toml: \[printer\] directory: .* is not a directory: name a directory", refusal(path)
    )


def test_an_empty_password_file_is_refused_instead_of_a_station_that_is_silently_offline(
    tmp_path: Path,
) -> None:
    said = refusal(station_file(tmp_path, secret="\n"))
    assert re.search(
        r"kiosk\.toml: \[sip2\] password_file: '.*sip2-password' is empty: write the secret", said
    )


def test_a_password_file_others_can_read_is_refused_and_the_fix_is_chmod_600(tmp_path: Path) -> None:
    said = refusal(station_file(tmp_path, mode=0o644))
    assert re.search(
        r"\[sip2\] password_file: '.*' can be read by other users \(mode 0644\): chmod 600 /", said
    )


def test_a_missing_or_unset_password_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = station_file(tmp_path)
    (tmp_path / "sip2-password").unlink()
    assert "No such file or directory: create it with the secret on one line, then chmod 600" in refusal(path)
    unset = tmp_path / "unset.toml"
    unset.write_text(path.read_text().replace("password_file =", "# password_file ="), encoding="utf-8")
    assert "[sip2] password_file: not set: name the file that holds it" in refusal(unset)


def test_a_password_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = station_file(tmp_path)
    (tmp_path / "sip2-password").write_bytes(b"p\xe5ssord\n")
    assert "[sip2] password_file: " in refusal(path) and "is not UTF-8 text" in refusal(path)


def test_every_problem_is_told_at_once_one_per_line(tmp_path: Path) -> None:
    path = station_file(tmp_path, secret="")
    (tmp_path / "var").chmod(0o755)
    (tmp_path / "var" / "receipts").mkdir(mode=0o755)
    lines = refusal(path).splitlines()
    assert [line.split(": ")[1] for line in lines] == [
        "[journal] path",
        "[printer] directory",
        "[sip2] password_file",
    ]


def test_the_offline_card_rules_and_pin_rest_come_from_the_file(tmp_path: Path) -> None:
    policy = load(
        station_file(
            tmp_path,
            "[session]\npin_cooldown = 600\npin_cooldown_max = 7200\n"
            '[offline]\nphysical_card = false\nknown_for_days = 14\ncard_prefixes = "2190, N"\n'
            'card_min_length = 10\ncard_max_length = 14\ncard_check_digit = "luhn"\n',
        )
    ).policy()
    assert (policy.pin_cooldown, policy.pin_cooldown_max) == (timedelta(minutes=10), timedelta(hours=2))
    assert not policy.offline.physical_card and policy.offline.known_card
    assert policy.offline.known_for == timedelta(days=14)
    assert policy.offline.card_format == CardFormat(("2190", "N"), 10, 14, CheckDigit.LUHN)


def test_the_defaults_are_the_safe_offline_rules(tmp_path: Path) -> None:
    offline = load(station_file(tmp_path)).policy().offline
    assert offline.physical_card and offline.known_card and offline.known_for == timedelta(days=30)


def test_kiosk_config_check_says_every_problem_one_per_line_and_run_refuses_the_same(
    tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    path = station_file(tmp_path, "[rfid]\npoll_interval = 0\n")
    assert main(["config", "check", str(path)]) == 1
    said = capsys.readouterr().err
    assert said.startswith(f"error: {path}: [rfid] poll_interval: 0 is out of range")
    path = station_file(tmp_path, secret="")
    (tmp_path / "var").chmod(0o755)
    assert main(["config", "check", str(path)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and all(line.startswith(f"error: {path}: [") for line in lines)
    umask = os.umask(0o022)
    try:
        assert main(["run", "--config", str(path), "--headless"]) == 1  # refused before anything opens
    finally:
        os.umask(umask)
    assert capsys.readouterr().err.splitlines() == lines
    assert not (tmp_path / "var" / "journal.sqlite3").exists()


def test_kiosk_config_check_passes_a_good_file(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["config", "check", str(station_file(tmp_path))]) == 0
    assert "OK" in capsys.readouterr().out
