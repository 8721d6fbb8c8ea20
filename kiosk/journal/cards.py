"""What the station remembers of cards, across restarts: `kiosk.core.CardRecord`s under the card's
pseudonym, never its number (issue 11, findings 4 and 8).

The pseudonym is HMAC-SHA256 under this station's own key (`<journal>.key`, 32 random bytes made at the
first start, 0600). An unkeyed hash of an 8-14 digit card number is reversed by trying them all; with
the key it cannot be, unless the key is taken too: on a lost SD card it is (docs/SECURITY.md). The
records ride along with the next commit and are purged with the journal's retention. A journal of an
older station, with card numbers in `cards`, is converted at the first start and the numbers deleted.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk.core import CardBook, CardRecord, card_pseudonym
from kiosk.journal.storage import JournalStore


def station_key(journal_path: Path) -> bytes:
    """This station's pseudonym key, made (owner-only) the first time."""
    path = journal_path.with_name(journal_path.name + ".key")
    with contextlib.suppress(FileExistsError):
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(secrets.token_bytes(32))
            out.flush()
            os.fsync(out.fileno())
    key = path.read_bytes()
    if len(key) < 16:
        raise ValueError(f"{path}: the card key is damaged ({len(key)} bytes): delete it to make a new one")
    return key


def _record_json(record: CardRecord) -> str:
    return json.dumps(asdict(record), default=lambda value: value.isoformat())


def _record_from(text: str) -> CardRecord:
    data: dict[str, Any] = json.loads(text)
    for name in ("authenticated_at", "pin_failed_at"):
        if data.get(name):
            data[name] = datetime.fromisoformat(data[name])
    return CardRecord(**data)


class RememberedCards(JournalStore):
    """The journal's `card_records` (`kiosk.journal.Journal` has them)."""

    def pseudonym(self) -> Callable[[str], str]:
        return card_pseudonym(station_key(self.path))

    def card_book(self) -> CardBook:
        """The session's `CardBook` from what the journal remembers (converting an older journal's card
        numbers to pseudonyms, and deleting the numbers, durably)."""
        pseudonym = self.pseudonym()
        with self._lock:
            with self._reading():
                legacy = self.conn.execute("SELECT card_id, blocked, seen FROM cards").fetchall()
            if legacy:
                with self._write():
                    self.conn.executemany(
                        "INSERT OR IGNORE INTO card_records (card_key, record, seen) VALUES (?,?,?)",
                        [(pseudonym(c), _record_json(CardRecord(blocked=bool(b))), s) for c, b, s in legacy],
                    )
                    self.conn.execute("DELETE FROM cards")
            with self._reading():
                rows = self.conn.execute("SELECT card_key, record FROM card_records").fetchall()
        return CardBook(pseudonym, {str(key): _record_from(text) for key, text in rows})

    def remember_card_record(self, card_key: str, record: CardRecord, seen: datetime) -> None:
        """A card's record changed (rides along)."""
        self._later(
            "INSERT INTO card_records (card_key, record, seen) VALUES (?,?,?) "
            "ON CONFLICT(card_key) DO UPDATE SET record=excluded.record, seen=excluded.seen",
            (card_key, _record_json(record), seen.isoformat()),
        )


__all__ = ["RememberedCards", "station_key"]
