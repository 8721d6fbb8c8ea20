"""What a library decides for its station: the session policy, the offline policy and what happens to a
loan whose security could not be set. Read from the station file by `kiosk.config`.

The defaults are the safe ones: offline, a loan needs a card that was read (not typed), passes the card
format and was accepted online here within `known_for`; wrong PINs rest the card for a growing time."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import timedelta

from kiosk.core.cards import CardFormat


@dataclass(frozen=True)
class OfflinePolicy:
    borrowing: bool = True
    max_items_per_session: int = 5
    max_items_per_patron: int = 10  # offline loans not yet confirmed by the library system
    loan_days: int = 14  # offline due date: this many days ahead, at 23:59
    physical_card: bool = True  # the card was read (pad, scanner), not typed
    known_card: bool = True  # accepted online at this station within `known_for`, or on the central list
    known_for: timedelta = timedelta(days=30)
    card_format: CardFormat = field(default_factory=CardFormat)  # the library's card numbers


class SecurityFailurePolicy(enum.StrEnum):
    """What happens to a loan whose security (AFI) could not be set (rule 4). Never silent either way."""

    FLAG = "flag"  # the loan stands, staff are told; the write is retried when the item is back on the pad
    UNDO = "undo"  # the loan is undone (checked back in): the item stays in the library, as its tag says


@dataclass(frozen=True)
class SessionPolicy:
    language: str = "nb"
    # What a patron may choose: the station sets the languages it offers (complete catalogues and the drafts
    # the library enabled, `kiosk.i18n.offered_languages`); a language not listed is refused (no button
    # that would show another language).
    languages: frozenset[str] = frozenset({"nb", "nn", "sv", "fi", "ru", "en"})
    idle_timeout: timedelta = timedelta(seconds=60)
    idle_warning: timedelta = timedelta(seconds=20)  # shown this long before the timeout
    goodbye_time: timedelta = timedelta(seconds=5)
    max_pin_attempts: int = 3  # wrong PINs in a row (across sessions) before the card rests
    pin_cooldown: timedelta = timedelta(minutes=5)  # the first rest; doubled with every further wrong PIN
    pin_cooldown_max: timedelta = timedelta(hours=24)
    pin_required: bool = True
    print_staff_slips: bool = True
    # Receipts by e-mail through the gateway (rule 11): the station sets it in gateway mode; the gateway
    # gives an address (masked) only where the library sends them.
    email_receipts: bool = False
    offline: OfflinePolicy = field(default_factory=OfflinePolicy)
    security_failure: SecurityFailurePolicy = field(default_factory=lambda: SecurityFailurePolicy.FLAG)

    @property
    def card_memory(self) -> timedelta:
        """How long a card's record matters to a rule: being known offline, or a PIN rest."""
        return max(self.offline.known_for, self.pin_cooldown_max)
