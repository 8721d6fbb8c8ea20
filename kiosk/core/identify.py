"""Who is at the station: the identification flow (rules 9 and 10).

`Identity` holds the card, the PIN (only until the session ends, never logged), the wrong attempts, the
account and the cards seen blocked. Its methods decide; they answer with a `Move` (what happened, for
`kiosk.core.tables.HAPPENINGS`, and what to tell the patron), which the session applies.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    def __init__(self, policy: SessionPolicy, known_blocked: set[str]) -> None:
        self.policy = policy
        self.card_id = ""
        self.intent: Mode | None = None  # what the patron asked for before identifying
        self.account: PatronAccount | None = None
        self.pin: str | None = None  # held only until the session ends, never logged
        self.attempts = 0
        self.known_blocked = known_blocked  # remembered across sessions (and restarts, via the journal)

    def forget(self) -> None:
        self.card_id, self.intent, self.account, self.pin, self.attempts = "", None, None, None, 0

    def card(self, card_id: str, offline: bool, out: list[Command]) -> Move:
        problem = card_problem(card_id.strip())
        if problem is not None:
            return Move(None, problem)
        self.card_id = card_id.strip()
        self.attempts = 0
        if offline:
            return self.offline()
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

    def loaded(self, account: PatronAccount, out: list[Command]) -> Move:
        if not account.found:
            self.pin = None
            return Move(Happening.CARD_UNKNOWN, Text("identify.card_unknown"))
        if account.pin_ok is False:
            self.pin = None
            self.attempts += 1
            left = self.policy.max_pin_attempts - self.attempts
            if left <= 0:
                return Move(Happening.ENDED, Text("pin.too_many_attempts"))
            return Move(Happening.PIN_WRONG, Text.of("pin.wrong", left=left))
        self.account = account
        # Remembered here for this run and in the journal across restarts (rule 10: refused offline).
        if account.may_borrow:
            self.known_blocked.discard(self.card_id)
        else:
            self.known_blocked.add(self.card_id)
        out.append(RememberCard(self.card_id, blocked=not account.may_borrow))
        if not account.may_borrow:
            blocks = "; ".join(account.blocks)
            return Move(Happening.KNOWN, Text.of("menu.blocked", blocks=blocks, ils=account.screen_message))
        holds = Text.of("menu.holds_ready", count=len(account.holds_ready)) if account.holds_ready else None
        return Move(Happening.KNOWN_TO_BORROW if self.intent is Mode.BORROW else Happening.KNOWN, holds)

    def not_reached(self, offline: bool) -> Move:
        self.pin = None
        if offline:
            return self.offline()
        happening = Happening.NOT_REACHED if self.intent is None else Happening.NOT_REACHED_TO_BORROW
        return Move(happening, Text("identify.service_unavailable"))

    def offline(self) -> Move:
        """Rule 10: the card alone, no PIN (it cannot be checked); cards seen blocked may only return."""
        blocked = self.card_id in self.known_blocked
        borrowing = self.policy.offline.borrowing
        self.account = PatronAccount(
            patron_id=self.card_id, found=True, pin_ok=None, may_borrow=borrowing and not blocked
        )
        if self.intent is Mode.BORROW and self.account.may_borrow:
            return Move(Happening.KNOWN_TO_BORROW)
        if blocked:
            return Move(Happening.KNOWN, Text("menu.offline_blocked"))
        return Move(Happening.KNOWN, None if borrowing else Text("menu.offline_no_borrowing"))


def account_lines(account: PatronAccount | None) -> tuple[Text, ...]:
    """The account screen: loans with due dates, holds ready, fees, blocks."""
    if account is None:
        return ()
    lines = [Text.of("account.loans", count=len(account.loans))]
    lines += [
        Text.of(
            "account.loan",
            title=loan.title or loan.item_id,
            date=loan.due.date().isoformat() if loan.due else "",
        )
        for loan in account.loans
    ]
    lines += [Text.of("account.hold_ready", title=h.title or h.item_id) for h in account.holds_ready]
    if account.fees:
        lines.append(Text.of("account.fees", amount=account.fees, currency=account.currency))
    lines += [Text.of("account.block", block=block) for block in account.blocks]
    return tuple(lines)
