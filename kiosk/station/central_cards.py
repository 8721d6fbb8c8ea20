"""What the gateway says about cards, for the offline rules (rule 10): the library's blocked and known cards.

The gateway (`GET /v1/offline-data`, docs/GATEWAY.md) lists every card the library system answered for
lately, blocked or not, as the first hex digits of HMAC-SHA256 under the library's key (never a number).
`CentralLists` tests a card against them; `CentralCardBook` is the session's `kiosk.core.CardBook` with
the lists laid over what this station remembers: a card blocked anywhere in the consortium is refused
offline, and a card the consortium knows counts as known (`CardRecord.listed`) even when this station
never saw it online (a patron's first visit to the bookmobile).

The fetched answer is kept beside the journal (`<journal>.offline-data.json`, 0600: it holds the
library's key) so that a station restarted while the network is down still has it.

The library's offline `policy` (borrowing, the limits per session and per patron, the loan days) is laid
over the station file's `[offline]` keys by `CentralPolicy`: at start from the stored answer, then after
every fetch, taken between two patron sessions (`kiosk.station.console_link.use_policy`). A key the staff
console's version for this kiosk sets itself ("offline.loan_days") stays the console's: it was set for this
kiosk, the library's is for all of them. Re-asserted at every heartbeat, so a console change that rebuilt
the offline rules from the file gets the library's back within one interval.

The library's `card_rules` (whole-number patterns and lengths) go with the policy: they set the lengths of
the session's `CardFormat` and add its patterns, so offline a card that matches none of them gets the
same refusal as one the station file's format refuses ("menu.offline_card_format"); the file's prefixes
and check digit still apply (the gateway has neither). A console key "offline.card_min_length" or
"offline.card_max_length" stays the console's. Rules a kiosk cannot use safely (`server_api.card_rules`:
a pattern that does not compile, is too long or could backtrack for ever) are refused with a logged
error naming the pattern: the rules in use stay, and the stored file keeps the last good ones.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from kiosk.core import CardBook, CardFormat, CardRecord, OfflinePolicy
from kiosk.files import write_atomically
from kiosk.station.console_link import use_policy  # the one way the session's policy is replaced
from server_api.card_rules import CardRuleError, compile_card_patterns
from server_api.gateway.wire import CardRulesData, OfflineData, OfflinePolicyData

if TYPE_CHECKING:
    from kiosk.station.station import Station

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CentralLists:
    """The consortium's lists for one library, as the gateway gave them."""

    data: OfflineData
    key: bytes
    blocked: frozenset[str]
    known: frozenset[str]
    card_patterns: tuple[re.Pattern[str], ...] | None = None  # None: the rules cannot be used

    @classmethod
    def of(cls, data: OfflineData, previous: CentralLists | None = None) -> CentralLists:
        """The lists of `data`; card rules that cannot be used are replaced by `previous`'s (kept)."""
        try:
            patterns: tuple[re.Pattern[str], ...] | None = compile_card_patterns(data.card_rules.patterns)
        except CardRuleError as error:
            log.error(
                "the library's card rules from the gateway cannot be used (%s): the card rules in use stay; "
                "the gateway's [library.cards] needs mending", error,
            )  # fmt: skip
            patterns = None
            if previous is not None and previous.card_patterns is not None:
                data = data.model_copy(update={"card_rules": previous.data.card_rules})
                patterns = previous.card_patterns
        key = base64.b64decode(data.hashing.key)
        return cls(data, key, frozenset(data.blocked), frozenset(data.known), patterns)

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


CENTRAL_POLICY_KEYS = ("borrowing", "max_items_per_session", "max_items_per_patron", "loan_days")


# The console's names, written as f-strings: a literal "offline.x" would be taken for a message key of the
# "offline" family by the catalogue's template (kiosk.i18n.template), as in offline_with_central.
CENTRAL_CARD_LENGTH_KEYS = {name: f"offline.{'card_' + name}" for name in ("min_length", "max_length")}


def card_format_with_central(
    card_format: CardFormat,
    rules: CardRulesData,
    patterns: tuple[re.Pattern[str], ...],
    console_keys: Collection[str] = (),
) -> CardFormat:
    """`card_format` with the library's patterns and lengths, except the lengths the console set."""
    lengths = {k: getattr(rules, k) for k, key in CENTRAL_CARD_LENGTH_KEYS.items() if key not in console_keys}
    return replace(card_format, patterns=patterns, **lengths)


def offline_with_central(
    offline: OfflinePolicy,
    central: OfflinePolicyData,
    console_keys: Collection[str] = (),
    lists: CentralLists | None = None,
) -> OfflinePolicy:
    """`offline` with the library's central rules, except the keys the console set for this kiosk; with
    `lists`, its card rules too, where they can be used (else the card format in use stays)."""
    laid: dict[str, object] = {
        k: getattr(central, k) for k in CENTRAL_POLICY_KEYS if f"offline.{k}" not in console_keys
    }
    if lists is not None and lists.card_patterns is not None:
        laid["card_format"] = card_format_with_central(
            offline.card_format, lists.data.card_rules, lists.card_patterns, console_keys
        )
    return replace(offline, **laid)  # type: ignore[arg-type]


class CentralPolicy:
    """Keeps the station's offline rules at the library's (see the module's docstring)."""

    def __init__(self, station: Station) -> None:
        self._station = station

    def apply(self, lists: CentralLists | None) -> bool:
        """Lay the library's policy over the session's now, unless a patron is in the middle of a session;
        True when the rules changed."""
        station = self._station
        if lists is None or station.session_active:
            return False
        console = station.console
        console_keys = console.running.settings if console is not None and console.running else {}
        policy = station.policy
        wanted = offline_with_central(policy.offline, lists.data.policy, console_keys, lists)
        if wanted == policy.offline:
            return False
        use_policy(station, replace(policy, offline=wanted))
        log.info(
            "offline rules from the library's central policy: borrowing %s, %d a session, %d a patron, "
            "%d days; card numbers %d-%d long, %d patterns", wanted.borrowing, wanted.max_items_per_session,
            wanted.max_items_per_patron, wanted.loan_days, wanted.card_format.min_length,
            wanted.card_format.max_length, len(wanted.card_format.patterns),
        )  # fmt: skip
        return True


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
    write_atomically(path, data.model_dump_json())


__all__ = [
    "CENTRAL_CARD_LENGTH_KEYS",
    "CENTRAL_POLICY_KEYS",
    "CentralCardBook",
    "CentralLists",
    "CentralPolicy",
    "card_format_with_central",
    "load_stored",
    "offline_with_central",
    "store",
    "stored_path",
]
