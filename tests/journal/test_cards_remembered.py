"""What the station remembers of a card outlives a restart, under a keyed pseudonym and never the number
(issue 11, findings 4 and 8): a card's PIN rest holds across restarts, a card known online stays known."""

from __future__ import annotations

import stat
from datetime import datetime, timedelta
from pathlib import Path

from kiosk.core import (
    CardRecord,
    PadTag,
    PatronLoaded,
    PatronSession,
    PinEntered,
    RememberCard,
    ScreenName,
    SessionPolicy,
    TagKind,
    TagsChanged,
    Text,
)
from kiosk.journal import Journal
from server_api.circulation import PatronAccount

NOW = datetime(2026, 12, 1, 10, 0)
CARD = "21900012345678"


def card_tag() -> PadTag:
    return PadTag(uid=b"\xe0\x04\x01\x00\x00\x00\x01\xff", kind=TagKind.PATRON_CARD, item_id=CARD)


def test_a_cards_record_survives_a_restart_under_its_pseudonym_and_the_number_is_nowhere(tmp_path: Path):
    path = tmp_path / "journal.sqlite3"
    journal = Journal(path)
    book = journal.card_book()
    record = CardRecord(authenticated_at=NOW, pin_failures=2, pin_failed_at=NOW)
    journal.remember_card_record(book.pseudonym(CARD), record, NOW)
    journal.close()
    again = Journal(path)
    try:
        assert again.card_book().recall(CARD) == record
    finally:
        again.close()
    key = tmp_path / "journal.sqlite3.key"
    assert len(key.read_bytes()) == 32 and stat.S_IMODE(key.stat().st_mode) == 0o600
    everything = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert CARD.encode() not in everything


def test_an_older_journals_card_numbers_become_pseudonyms_and_the_numbers_are_deleted(tmp_path: Path):
    journal = Journal(tmp_path / "journal.sqlite3")
    try:
        journal.remember_card(CARD, True, NOW)  # as an older station wrote it
        journal.flush()
        assert journal.card_book().recall(CARD).blocked
        assert journal.blocked_cards() == set()  # no number left in `cards`
    finally:
        journal.close()


def test_wrong_pins_rest_the_card_across_a_restart_of_the_station(tmp_path: Path):
    path = tmp_path / "journal.sqlite3"
    journal = Journal(path)
    session = PatronSession(SessionPolicy(), NOW, cards=journal.card_book())
    for n in range(3):
        session.handle(TagsChanged((card_tag(),), NOW + timedelta(seconds=10 * n)))
        session.handle(PinEntered("0000", NOW + timedelta(seconds=10 * n + 1)))
        out = session.handle(
            PatronLoaded(PatronAccount(CARD, found=True, pin_ok=False), NOW + timedelta(seconds=10 * n + 2))
        )
        for command in out:
            if isinstance(command, RememberCard):  # what the station does with it
                journal.remember_card_record(command.card_key, command.record, NOW)
    journal.close()  # the station restarts
    journal = Journal(path)
    try:
        later = NOW + timedelta(minutes=2)
        restarted = PatronSession(SessionPolicy(), later, cards=journal.card_book())
        restarted.handle(TagsChanged((card_tag(),), later))
        assert restarted.screen().name is ScreenName.WELCOME  # no PIN screen: the card still rests
        assert restarted.screen().message == Text.of("pin.resting", minutes=4)
    finally:
        journal.close()
