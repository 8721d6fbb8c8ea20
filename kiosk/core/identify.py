"""Who is at the station: the identification flow (rules 9 and 10).

`Identity` holds the card and whether it was read or typed, the PIN (only until the session ends, never
logged), the wrong attempts, the account and the remembered cards (`kiosk.core.cards.CardBook`). Its
methods decide; they answer with a `Move` (what happened, for `kiosk.core.tables.HAPPENINGS`, and what to
tell the patron), which the session applies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from kiosk.core.cards import CardBook, CardRecord, CardSource, is_physical, pin_rest_until
from kiosk.core.commands import Authenticate, Command, RememberCard
from kiosk.core.limits import card_problem, pin_problem
from kiosk.core.policy import SessionPolicy
from kiosk.core.screens import Text
from kiosk.core.tables import Happening, Mode
from server_api.circulation import PatronAccount


@dataclass(frozen=True)
class Move:
    happening: Happening | None  # None: the mode stays
    message: Text | None = None  # shown under the heading once the move is made


class Identity:
    def __init__(self, policy: SessionPolicy, cards: CardBook) -> None:
        self.policy = policy
        self.card_id = ""
        self.physical = False  # read from the pad or a scanner, not typed
        self.intent: Mode | None = None  # what the patron asked for before identifying
        self.account: PatronAccount | None = None
        self.pin: str | None = None  # held only until the session ends, never logged
        self.attempts = 0
        self.cards = cards  # remembered across sessions (and restarts, via the journal)

    def forget(self) -> None:
        self.card_id, self.intent, self.account, self.pin, self.attempts = "", None, None, None, 0
        self.physical = False

    def card(
        self, card_id: str, source: CardSource, device: str, offline: bool, now: datetime, out: list[Command]
    ) -> Move:
        card_id = card_id.strip()
        problem = card_problem(card_id) or self._resting(card_id, now)
        if problem is not None:
            return Move(None, problem)
        self.card_id, self.physical = card_id, is_physical(source, device)
        self.attempts = 0
        if offline:
            return self.offline(now)
        if self.policy.pin_required:
            return Move(Happening.CARD_READ)
        return self._check(None, out)

    def pin_entered(self, pin: str, out: list[Command]) -> Move:
        problem = pin_problem(pin)
        if problem is not None:
            return Move(None, problem)
        return self._check(pin, out)

    def _check(self, pin: str | None, out: list[Command]) -> Move:
        self.pin = pin
        out.append(Authenticate(self.card_id, pin))
        return Move(Happening.CHECKING)

    def _resting(self, card_id: str, now: datetime) -> Text | None:
        """Rule 9: a card with too many wrong PINs in a row rests; the patron is told for how long."""
        p = self.policy
        until = pin_rest_until(
            self.cards.recall(card_id), p.max_pin_attempts, p.pin_cooldown, p.pin_cooldown_max
        )
        if until is None or until <= now:
            return None
        return Text.of("pin.resting", minutes=math.ceil((until - now) / timedelta(minutes=1)))

    def _remember(self, change: tuple[str, CardRecord], out: list[Command]) -> CardRecord:
        key, record = change
        out.append(RememberCard(self.card_id, record.blocked, key, record))
        return record

    def loaded(self, account: PatronAccount, now: datetime, out: list[Command]) -> Move:
        if not account.found:
            self.pin = None
            return Move(Happening.CARD_UNKNOWN, Text("identify.card_unknown"))
        if account.pin_ok is False:
            self.pin = None
            self.attempts += 1
            record = self._remember(self.cards.pin_failed(self.card_id, now), out)
            resting = self._resting(self.card_id, now)
            left = self.policy.max_pin_attempts - max(self.attempts, record.pin_failures)
            if resting is not None or left <= 0:
                return Move(Happening.ENDED, resting or Text("pin.too_many_attempts"))
            return Move(Happening.PIN_WRONG, Text.of("pin.wrong", left=left))
        self.account = account
        # Remembered here for this run and in the journal across restarts (rule 10: refused offline,
        # and known to borrow offline for `OfflinePolicy.known_for`).
        self._remember(self.cards.accepted(self.card_id, not account.may_borrow, now), out)
        if not account.may_borrow:
            blocks = "; ".join(account.blocks)
            return Move(Happening.KNOWN, Text.of("menu.blocked", blocks=blocks, ils=account.screen_message))
        holds = Text.of("menu.holds_ready", count=len(account.holds_ready)) if account.holds_ready else None
        return Move(Happening.KNOWN_TO_BORROW if self.intent is Mode.BORROW else Happening.KNOWN, holds)

    def not_reached(self, offline: bool, now: datetime) -> Move:
        self.pin = None
        if offline:
            return self.offline(now)
        happening = Happening.NOT_REACHED if self.intent is None else Happening.NOT_REACHED_TO_BORROW
        return Move(happening, Text("identify.service_unavailable"))

    def offline_refusal(self, now: datetime) -> Text | None:
        """Rule 10: why this card may not borrow offline, or None (in the order a patron can act on)."""
        offline = self.policy.offline
        record = self.cards.recall(self.card_id)
        if not offline.borrowing:
            return Text("menu.offline_no_borrowing")
        if record.blocked:
            return Text("menu.offline_blocked")
        if offline.physical_card and not self.physical:
            return Text("menu.offline_card_typed")
        if not offline.card_format.accepts(self.card_id):
            return Text("menu.offline_card_format")
        seen = record.authenticated_at
        known = record.listed or (seen is not None and now - seen <= offline.known_for)
        if offline.known_card and not known:
            return Text("menu.offline_card_not_known")
        return None

    def offline(self, now: datetime) -> Move:
        """Rule 10: the card alone, no PIN (it cannot be checked); a card the offline policy does not
        vouch for may only return, and the patron is told why."""
        refusal = self.offline_refusal(now)
        self.account = PatronAccount(
            patron_id=self.card_id, found=True, pin_ok=None, may_borrow=refusal is None
        )
        if self.intent is Mode.BORROW and refusal is None:
            return Move(Happening.KNOWN_TO_BORROW)
        return Move(Happening.KNOWN, refusal)
