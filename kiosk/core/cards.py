"""Cards: how one arrived, whether its number can be this library's, and what the station remembers of it.

Offline the library system cannot vouch for a card, so the station does (rule 10): by default a loan
needs a card that was *read* (the pad, a serial scanner, a keyboard-wedge scanner the station reads from
its own input device; digits from a keypad are typing, whatever device sends them), whose number passes
the library's format (`CardFormat`), and which this station saw accepted online not long ago
(`OfflinePolicy.known_for`) or which is on the list the central service provides (`CardRecord.listed`).

Wrong PINs are counted per card across sessions (rule 9): after `SessionPolicy.max_pin_attempts` in a row
the card rests for `pin_cooldown`, doubled with every further wrong PIN up to `pin_cooldown_max`; the
right PIN clears the count. The library system never sees a guess during the rest.

What the station remembers is a `CardRecord` under the card's *pseudonym*: an HMAC-SHA256 of the number
under a per-station secret (`card_pseudonym`). An unkeyed hash of an 8-14 digit number is enumerated in
seconds; without the key the stored pseudonyms say nothing. The journal stores records; `CardBook` is the
session's copy, and every change comes out as a `RememberCard` command.

Vectors (Luhn, as python-stdnum computes it): "79927398713" passes, "79927398710" does not.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from stdnum import damm, luhn, verhoeff
from stdnum.iso7064 import mod_11_2, mod_11_10

from kiosk.core.limits import CARD_NUMBER_MAX_LENGTH
from server_api.card_rules import matches_card_patterns


class CardSource(enum.StrEnum):
    """How a card number reached the station."""

    PAD = "pad"  # a patron-card tag on the RFID pad
    SERIAL_SCANNER = "serial_scanner"  # a barcode scanner on a serial port
    WEDGE_SCANNER = "wedge_scanner"  # a keyboard-wedge scanner, read from its own input device by the station
    KEYPAD = "keypad"  # typed: the on-screen keypad or any keyboard input the UI receives


def is_physical(source: CardSource, device: str) -> bool:
    """A card that was read, not typed. A wedge scanner counts only when the station names the input
    device it read the digits from: keystrokes that reach the UI cannot be told from typing."""
    if source is CardSource.WEDGE_SCANNER:
        return bool(device)
    return source in (CardSource.PAD, CardSource.SERIAL_SCANNER)


class CheckDigit(enum.StrEnum):
    """The check digit of a library's card numbers (computed by python-stdnum)."""

    NONE = "none"
    LUHN = "luhn"  # mod 10, as on payment cards and many library cards
    MOD_11_2 = "mod11-2"  # ISO 7064 MOD 11-2 (check character 0-9 or X)
    MOD_11_10 = "mod11-10"  # ISO 7064 MOD 11,10
    VERHOEFF = "verhoeff"
    DAMM = "damm"


_CHECKS: dict[CheckDigit, Callable[[str], bool]] = {
    CheckDigit.LUHN: luhn.is_valid,
    CheckDigit.MOD_11_2: mod_11_2.is_valid,
    CheckDigit.MOD_11_10: mod_11_10.is_valid,
    CheckDigit.VERHOEFF: verhoeff.is_valid,
    CheckDigit.DAMM: damm.is_valid,
}


@dataclass(frozen=True)
class CardFormat:
    """What this library's card numbers look like. The default takes any number up to the keypad's
    length: a library sets its own prefixes, lengths and check digit (docs/OFFLINE.md); in gateway mode
    the library's central rules add `patterns` and set the lengths (`kiosk.station.central_cards`)."""

    prefixes: tuple[str, ...] = ()  # () = any; else the number starts with one of these
    min_length: int = 1
    max_length: int = CARD_NUMBER_MAX_LENGTH
    check_digit: CheckDigit = CheckDigit.NONE
    # () = any; else the whole number matches one of these (made safe by server_api.card_rules)
    patterns: tuple[re.Pattern[str], ...] = ()

    def accepts(self, card_id: str) -> bool:
        if not self.min_length <= len(card_id) <= self.max_length:
            return False
        if self.prefixes and not card_id.startswith(self.prefixes):
            return False
        if not matches_card_patterns(self.patterns, card_id):
            return False
        check = _CHECKS.get(self.check_digit)
        return check is None or check(card_id)


def card_pseudonym(key: bytes) -> Callable[[str], str]:
    """The card number as the station stores it: HMAC-SHA256 under the station's secret `key`, in hex."""
    if len(key) < 16:
        raise ValueError("a card pseudonym key needs at least 16 bytes of secret")

    def pseudonym(card_id: str) -> str:
        return hmac.new(key, card_id.encode("utf-8"), hashlib.sha256).hexdigest()

    return pseudonym


@dataclass(frozen=True)
class CardRecord:
    """What the station remembers of one card, across sessions and restarts. No number, no PIN."""

    blocked: bool = False  # the library system said this card may not borrow
    authenticated_at: datetime | None = None  # last accepted online here (card, and PIN when asked)
    listed: bool = False  # on the central service's list of cards that may borrow offline
    pin_failures: int = 0  # wrong PINs in a row, across sessions
    pin_failed_at: datetime | None = None

    def latest(self) -> datetime | None:
        if self.authenticated_at is None or self.pin_failed_at is None:
            return self.authenticated_at or self.pin_failed_at
        return self.authenticated_at if self.authenticated_at > self.pin_failed_at else self.pin_failed_at


def rest_until(
    failures: int, failed_at: datetime | None, free_attempts: int, cooldown: timedelta, longest: timedelta
) -> datetime | None:
    """When the next try is allowed after `failures` wrong tries in a row, the last at `failed_at`; None:
    now. The first `free_attempts` cost nothing; then each one doubles the rest, up to `longest`."""
    beyond = failures - free_attempts
    if beyond < 0 or failed_at is None:
        return None
    return failed_at + min(cooldown * (1 << min(beyond, 30)), longest)


def pin_rest_until(
    record: CardRecord, free_attempts: int, cooldown: timedelta, longest: timedelta
) -> datetime | None:
    """When the card may try a PIN again (`rest_until` over its wrong PINs), or None when it may now."""
    return rest_until(record.pin_failures, record.pin_failed_at, free_attempts, cooldown, longest)


class CardBook:
    """The session's copy of the remembered cards, under their pseudonyms."""

    def __init__(self, pseudonym: Callable[[str], str], records: dict[str, CardRecord] | None = None) -> None:
        self.pseudonym = pseudonym
        self.records: dict[str, CardRecord] = dict(records or {})

    @classmethod
    def with_blocked(cls, pseudonym: Callable[[str], str], blocked: Iterable[str]) -> CardBook:
        """A book from the card numbers the journal of an older station remembered as blocked."""
        return cls(pseudonym, {pseudonym(card): CardRecord(blocked=True) for card in blocked})

    def recall(self, card_id: str) -> CardRecord:
        return self.records.get(self.pseudonym(card_id), CardRecord())

    def _put(self, card_id: str, record: CardRecord) -> tuple[str, CardRecord]:
        key = self.pseudonym(card_id)
        self.records[key] = record
        return key, record

    def accepted(self, card_id: str, blocked: bool, now: datetime) -> tuple[str, CardRecord]:
        """The library system accepted the card (and its PIN) online: known now, no wrong PINs."""
        record = replace(
            self.recall(card_id), blocked=blocked, authenticated_at=now, pin_failures=0, pin_failed_at=None
        )
        return self._put(card_id, record)

    def pin_failed(self, card_id: str, now: datetime) -> tuple[str, CardRecord]:
        record = self.recall(card_id)
        return self._put(card_id, replace(record, pin_failures=record.pin_failures + 1, pin_failed_at=now))

    def forget_before(self, cutoff: datetime) -> None:
        """Drop what no rule needs any more: nothing happened to the card since `cutoff`, and no block or
        listing that the journal's own retention keeps."""
        self.records = {
            key: record
            for key, record in self.records.items()
            if record.blocked
            or record.listed
            or ((latest := record.latest()) is not None and latest >= cutoff)
        }


__all__ = [
    "CardBook",
    "CardFormat",
    "CardRecord",
    "CardSource",
    "CheckDigit",
    "card_pseudonym",
    "is_physical",
    "pin_rest_until",
    "rest_until",
]
