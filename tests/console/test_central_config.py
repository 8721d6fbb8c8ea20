"""The kiosk's side of central settings, without a gateway: a console version laid over the station's own
file and checked with `kiosk config check`'s words, which keys wait for a restart, the kept version, the
staff-screen credentials that replace the local one, and the log lines a technician may fetch."""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from kiosk.config import ConfigError, load
from kiosk.core import Operation
from kiosk.credentials import CredentialKind, hash_credential
from kiosk.journal import Entry, State
from kiosk.station import (
    CentralConfig,
    StaffAccess,
    central_path,
    conflict_task,
    load_central,
    needs_restart,
    store_central,
    with_central,
    without_patron_data,
)


def station_file(tmp_path: Path, session: str = "") -> Path:
    token = tmp_path / "token"
    token.write_text("kgw1.x.y\n")
    os.chmod(token, 0o600)
    path = tmp_path / "kiosk.toml"
    path.write_text(
        f'[gateway]\nurl = "http://127.0.0.1:1"\ntoken_file = "{token}"\n[session]\n{session}'
        f'[journal]\npath = "{tmp_path}/journal.sqlite3"\n[printer]\ndirectory = "{tmp_path}/receipts"\n',
        encoding="utf-8",
    )
    return path


def test_a_version_is_laid_over_the_stations_file_and_checked_with_kiosk_config_checks_words(
    tmp_path: Path,
) -> None:
    own = load(station_file(tmp_path, "idle_warning = 50\nidle_timeout = 120\n"))
    merged = with_central(own, CentralConfig("L1.K0", {"session.idle_timeout": 90, "offline.loan_days": 7}))
    assert (merged.session.idle_timeout, merged.session.idle_warning, merged.offline.loan_days) == (90, 50, 7)
    assert merged.source == own.source
    refusals = {
        "session.idle_timeout": (5000, "[session] idle_timeout: 5000 is out of range"),
        "session.idle_warning": ("lots", "[session] idle_warning: expected a whole number"),
        "rfid.securty_attempts": (3, "[rfid] securty_attempts: not a key of this station"),
    }
    for key, (value, words) in refusals.items():
        with pytest.raises(ConfigError, match=words.replace("[", r"\[").replace("]", r"\]")):
            with_central(own, CentralConfig("L2.K0", {key: value}))
    with pytest.raises(ConfigError, match="idle_warning must be shorter than idle_timeout"):
        with_central(own, CentralConfig("L3.K0", {"session.idle_timeout": 40}))  # fits only without the file
    weak = PasswordHasher(memory_cost=1024, time_cost=1).hash("a passphrase long enough")
    with pytest.raises(ConfigError, match="staff-screen credential is too weak"):
        with_central(own, CentralConfig("L3.K0.Cabcdef", {}, (weak,)))


def test_what_the_session_decides_is_taken_live_and_what_the_station_reads_at_start_needs_a_restart() -> None:
    before = CentralConfig("L1.K0", {"session.idle_timeout": 90, "network.failure_budget": 2})
    live = CentralConfig(
        "L2.K0", {"session.idle_timeout": 60, "network.failure_budget": 2, "offline.loan_days": 7}
    )
    assert needs_restart(before, live) == []
    later = CentralConfig("L3.K0", {"session.idle_warning": 10, "rfid.security_attempts": 5})
    assert needs_restart(live, later) == [
        "network.failure_budget", "rfid.security_attempts", "session.idle_warning",
    ]  # fmt: skip
    assert needs_restart(None, CentralConfig("L1.K0", {"station.library_name": "Harstad"})) == [
        "station.library_name"
    ]


def test_the_version_taken_is_kept_owner_only_and_a_broken_file_is_no_version(tmp_path: Path) -> None:
    path = central_path(tmp_path / "journal.sqlite3")
    kept = CentralConfig("L4.K1.C1a2b3c", {"session.idle_timeout": 90}, (hash_credential("x" * 12),))
    store_central(path, kept)
    assert load_central(path) == kept and (path.stat().st_mode & 0o777) == 0o600
    path.write_text("{not json", encoding="utf-8")
    assert load_central(path) is None
    assert load_central(tmp_path / "nothing.json") is None


async def test_staff_screen_credentials_from_the_console_replace_the_local_one_and_none_restore_it() -> None:
    local, central = "the kiosk's own passphrase", "the consortium's passphrase"
    access = StaffAccess(hash_credential(local), CredentialKind.CARD_PIN, lambda: datetime(2026, 12, 1, 9))
    access.use_central((PasswordHasher().hash(central),))
    assert access.central and access.kind is CredentialKind.PASSPHRASE  # the console's are passphrases
    assert await access.unlock(passphrase=central)
    access.use_central(())
    assert access.kind is CredentialKind.CARD_PIN and not access.central
    assert not await access.unlock(passphrase=central)


def test_fetched_log_lines_carry_no_patron_data() -> None:
    line = (
        "12:01 WARNING kiosk.station: card 219000000001 refused for patron=Kari (kari.nordmann@example.no), "
        "pin: 1234 token=kgw1.abc.def; item 03011234567890; transaction 6f1c2d3e-1111-2222-3333-444455556666"
    )
    cleaned = without_patron_data(line)
    for secret in ("219000000001", "Kari", "kari.nordmann", "1234", "kgw1.abc", "03011234567890"):
        assert secret not in cleaned, secret
    assert "6f1c2d3e-1111-2222-3333-444455556666" in cleaned and "12:01 WARNING kiosk.station" in cleaned


def test_a_conflict_goes_to_the_console_with_the_library_systems_words_and_no_patron() -> None:
    entry = Entry(
        id=uuid.uuid4(), operation=Operation.CHECKIN, item_id="03011234567890", patron_id="219000000001",
        at=datetime(2026, 12, 1, 9, 30), offline=True, clock_synchronised=True, state=State.CONFLICT,
        reason="not_on_loan", screen_message="Item not checked out",
    )  # fmt: skip
    task = conflict_task(entry)
    assert (task.key, task.kind, task.item_id) == (f"conflict:{entry.id}", "conflict", "03011234567890")
    assert task.ils_message == "Item not checked out" and "not_on_loan" in task.summary
    assert "219000000001" not in task.model_dump_json()
