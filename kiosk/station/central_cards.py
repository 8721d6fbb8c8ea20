"""What the gateway says about cards, for the offline rules (rule 10): the library's blocked and known cards.

The gateway (`GET /v1/offline-data`, docs/GATEWAY.md) lists every card the library system answered for
lately, blocked or not, as the first hex digits of HMAC-SHA256 under the library's key (never a number).
`CentralLists` tests a card against them; `CentralCardBook` is the session's `kiosk.core.CardBook` with
the lists laid over what this station remembers: a card blocked anywhere in the consortium is refused
offline, and a card the consortium knows counts as known (`CardRecord.listed`) even when this station
never saw it online (a patron's first visit to the bookmobile).

The fetched answer is kept beside the journal (`<journal>.offline-data.json`, 0600: it holds the
library's key) so that a station restarted while the network is down still has it.

Not applied yet: the gateway's `policy` (borrowing, limits, loan days) and `card_rules` (regular
expressions) stay the station file's `[offline]` keys; `kiosk.core.OfflinePolicy` has no regular
expressions and the session's policy is fixed when the station starts. They are kept in the stored file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path

from pydantic import ValidationError

from kiosk.core import CardBook, CardRecord
from server_api.gateway.wire import OfflineData

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CentralLists:
    """The consortium's lists for one library, as the gateway gave them."""

    data: OfflineData
    key: bytes
    blocked: frozenset[str]
    known: frozenset[str]

    @classmethod
    def of(cls, data: OfflineData) -> CentralLists:
        return cls(data, base64.b64decode(data.hashing.key), frozenset(data.blocked), frozenset(data.known))

    def digest(self, card_id: str) -> str:
        card = card_id.replace(" ", "").upper()  # the gateway's normalisation (hashing.normalise)
        full = hmac.new(self.key, card.encode("utf-8"), hashlib.sha256).hexdigest()
        return full[: self.data.hashing.hex_digits]

    def is_blocked(self, card_id: str) -> bool:
        return self.digest(card_id) in self.blocked

    def is_known(self, card_id: str) -> bool:
        return self.digest(card_id) in self.known


class CentralCardBook(CardBook):
    """The session's card book with the consortium's lists laid over it (`lists` is replaced on refresh)."""

    def __init__(self, book: CardBook, lists: CentralLists | None = None) -> None:
        super().__init__(book.pseudonym, book.records)
        self.lists = lists

    def recall(self, card_id: str) -> CardRecord:
        record = super().recall(card_id)
        if self.lists is None:
            return record
        if self.lists.is_blocked(card_id):
            record = replace(record, blocked=True)
        if self.lists.is_known(card_id):
            record = replace(record, listed=True)
        return record


def stored_path(journal_path: Path) -> Path:
    return journal_path.with_name(journal_path.name + ".offline-data.json")


def load_stored(path: Path) -> CentralLists | None:
    """The lists fetched last time, or None (never fetched, or a file that does not parse: fetched anew)."""
    try:
        return CentralLists.of(OfflineData.model_validate_json(path.read_bytes()))
    except FileNotFoundError:
        return None
    except (OSError, ValidationError, ValueError) as error:
        log.warning("offline data in %s cannot be read (%s): fetched again from the gateway", path, error)
        return None


def store(path: Path, data: OfflineData) -> None:
    """Owner-only and atomic: it holds the library's key."""
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(data.model_dump_json())
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


__all__ = ["CentralCardBook", "CentralLists", "load_stored", "store", "stored_path"]
