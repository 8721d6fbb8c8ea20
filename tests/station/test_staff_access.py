"""The staff screen is behind the staff credential (issue 11, finding 5): the station checks it against
the argon2id hash from its configuration, with the lockout, and without a credential never opens."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from kiosk.cli.build import station_settings
from kiosk.config import load
from kiosk.credentials import CredentialKind, hash_credential
from kiosk.station import StaffAccess

STORED = hash_credential("korrekt hest batteri stift")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0)

    def __call__(self) -> datetime:
        return self.now


async def test_the_right_passphrase_opens_the_staff_screen_and_wrong_ones_lock_it() -> None:
    clock = Clock()
    access = StaffAccess(STORED, CredentialKind.PASSPHRASE, clock)
    assert await access.unlock(passphrase="korrekt hest batteri stift")
    for _ in range(3):
        assert not await access.unlock(passphrase="1234")
    assert access.locked_for() == timedelta(minutes=1)
    assert not await access.unlock(passphrase="korrekt hest batteri stift")  # locked: not even the right one
    clock.now += timedelta(minutes=1)
    assert await access.unlock(passphrase="korrekt hest batteri stift")


async def test_without_a_credential_the_staff_screen_stays_shut() -> None:
    access = StaffAccess("", CredentialKind.PASSPHRASE, Clock())
    assert access.locked_for() == timedelta.max and not await access.unlock(passphrase="")


def test_the_station_takes_the_credential_from_its_configuration(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(f'[staff]\nkind = "card_pin"\ncredential = "{STORED}"\n', encoding="utf-8")
    settings = station_settings(load(path))
    assert (settings.staff_kind, settings.staff_credential) == ("card_pin", STORED)
    assert STORED not in repr(settings)
