"""The patron session: a pure state machine.

Events go in (`PatronSession.handle(event)`), commands come out. No I/O, no clock reads: time arrives
inside every event, transaction ids are assigned by the shell (`kiosk.station`). This is where the rules
of the station live; the modes and item stages they move through are tables (`kiosk.core.tables`), the
identification flow is `kiosk.core.identify` and the stack's flows are `kiosk.core.stack`.

Rules
-----
1. Modes and how they change: `kiosk.core.tables.PRESSES` (buttons) and `HAPPENINGS` (the rest); what each
   screen offers: `kiosk.core.tables.SCREENS`. A change not in the tables raises `IllegalTransition`.
2. A stack is handled item by item, concurrently: every complete item on the pad gets its own
   `Checkout`/`Checkin`; the patron never waits for one slow item before the next is sent.
3. A multi-part item (a CD box with two discs) is lent or returned only when all its parts are on the
   pad; until then its row says which part is missing.
4. Security follows the library system: after a loan or return the session asks for the AFI to be
   written (on loan 0xC2 / in library 0x07) unless the ILS said "leave it" (desensitize N). An item is
   only "done" when the write was verified. A failed write is never silent: the row asks the patron to
   put the item back, and the write is retried when it reappears. After a loan the policy
   (`SessionPolicy.security_failure`) also decides: FLAG keeps the loan (the station tells staff),
   UNDO checks the item back in so the library system agrees with the tag (the row then says not borrowed).
5. A refused return leaves the AFI as it was and sends the patron to staff.
6. The returning patron never learns who a hold is for; routing for staff goes on a staff slip.
7. Every mode but WELCOME times out when idle, with a warning first, but never while an item is in
   flight: the session waits for the library system before it forgets the patron.
8. Items left on the pad when a session ends are not taken by the next patron: they are ignored until
   they have been lifted off the pad.
9. Wrong PINs are counted per card across sessions (`kiosk.core.cards`): after `max_pin_attempts` in a row
   the card rests for `pin_cooldown`, doubled with each further wrong PIN (up to `pin_cooldown_max`), and
   the patron is told for how long; a resting card's PIN never reaches the library system. The right PIN
   clears the count. A PIN is ASCII digits, at most `kiosk.core.limits.PIN_MAX_DIGITS`.
10. Offline (the station says the library system cannot be reached, `OfflineChanged`): returns are always
    accepted; borrowing only if the offline policy allows it and vouches for the card: by default it was
    read from the pad or a scanner (not typed), its number passes the library's `CardFormat`, this
    station saw it accepted online within `known_for` (or it is on the central list), and it was not seen
    blocked; otherwise the patron may return and is told why not borrow. Loans stay within the limits per
    session and per patron (the latter counted across sessions by the journal), with the offline due date;
    no PIN is asked (it cannot be checked, and PINs are never stored); renewals wait for the network. An
    action that certainly did not reach the library system when the station went offline is redone
    offline; one whose fate is unknown is never redone here.
11. A receipt is only offered when the printer can print (`PrinterChanged`): otherwise the receipt screen
    says so before the patron chooses, and offers only "no receipt". A receipt by e-mail is offered online
    where the library sends them and the library system has the patron's address; the screen shows the
    address masked (`masked_email`). A receipt that could not go out is said on the goodbye screen.
12. Nothing is dropped silently: input a mode does not take is a listed no-op (`tables.NO_OPS`, stale
    presses); a result the session cannot take where it stands comes out as an `Unexpected` command.
13. An identified patron's screens are in the language the library system keeps for them (SIP2's
    language field, `kiosk.core.patron_language`) when the station offers it, unless the patron chose a
    language in this visit; the session's end goes back to the station's language.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import assert_never

from kiosk.core.account import account_lines, loan_rows, with_outcome
from kiosk.core.cards import CardBook, CardSource, card_pseudonym
from kiosk.core.choices import email_address_shown, offered_actions, receipt_instruction
from kiosk.core.commands import Command, EmailReceipt, EndPatronSession, Show, Unexpected
from kiosk.core.events import (
    RESULTS,
    CardPresented,
    CheckinDone,
    CheckoutDone,
    CirculationFailed,
    Event,
    LanguageChosen,
    OfflineChanged,
    Operation,
    PadTag,
    PatronLoaded,
    PinEntered,
    Pressed,
    PrinterChanged,
    ReceiptPrinted,
    RenewDone,
    SecurityWritten,
    TagKind,
    TagsChanged,
    Tick,
)
from kiosk.core.identify import Identity, Move
from kiosk.core.patron_language import patron_language
from kiosk.core.policy import SessionPolicy
from kiosk.core.screens import Action, Screen, Text
from kiosk.core.stack import ItemProgress, Lending, Stack
from kiosk.core.tables import NO_OP_PRESSES, NO_OPS, PATRON_RESULT_MODES, SCREENS, Happening, Mode, next_mode
from server_api.circulation import CheckinOutcome, CheckoutOutcome, PatronAccount, RenewOutcome


def _offered(screen: Screen, action: Action, item_id: str) -> bool:
    """Is `action` on the screen; a row's own button (renew this loan) only on that row."""
    if item_id:
        return any(row.item_id == item_id and action in row.actions for row in screen.rows)
    return action in screen.actions


class PatronSession:
    """The state of the station's screen and of the patron in front of it."""

    def __init__(
        self,
        policy: SessionPolicy,
        now: datetime,
        *,
        offline: bool = False,
        known_blocked: set[str] | None = None,
        offline_loans: dict[str, int] | None = None,
        cards: CardBook | None = None,
    ) -> None:
        """`cards`: the remembered cards under the station's pseudonym; without it, a book under a key
        made for this run (nothing of it outlives the process), holding `known_blocked`."""
        self.policy = policy
        self.mode = Mode.WELCOME
        self.language = policy.language
        self.language_chosen = False  # by the patron in this visit: then the library system's does not win
        self.offline = offline
        self.printer_can_print = True  # until the station says otherwise (rule 11)
        self.last_activity = now
        self.mode_entered = now
        self.idle_warning = False
        self.message: Text | None = None
        if cards is None:
            cards = CardBook.with_blocked(card_pseudonym(secrets.token_bytes(32)), known_blocked or ())
        self.identity = Identity(policy, cards)
        self.stack = Stack(policy, dict(offline_loans or {}))
        self.pad: tuple[PadTag, ...] = ()
        self.stale_uids: set[bytes] = set()  # on the pad when the last session ended (rule 8)
        self.now = now
        self._shown: Screen | None = None

    @property
    def account(self) -> PatronAccount | None:
        return self.identity.account

    @property
    def pin(self) -> str | None:
        return self.identity.pin

    @property
    def items(self) -> dict[str, ItemProgress]:
        return self.stack.items

    # ------------------------------------------------------------ public

    def handle(self, event: Event) -> list[Command]:
        """Feed one event; get the commands it causes (a `Show` whenever the screen changed)."""
        commands: list[Command] = []
        self.now = event.now
        if isinstance(event, RESULTS):
            # New information on the screen restarts the patron's reading time: a slow reply must not
            # be followed by an instant timeout.
            self._touch(event.now)
        self._dispatch(event, commands)
        screen = self.screen()
        if screen != self._shown:
            self._shown = screen
            commands.append(Show(screen))
        return commands

    def screen(self) -> Screen:
        spec = SCREENS[self.mode]
        account = self.identity.account
        email = self.policy.email_receipts
        actions = offered_actions(self.mode, spec, account, self.offline, self.printer_can_print, email)
        instruction = spec.instruction
        details = account_lines(account, self.offline) if spec.details else ()
        if self.mode is Mode.RECEIPT:
            instruction = receipt_instruction(self.stack.items.values())
            if not self.printer_can_print:
                instruction = Text("receipt.printer_unavailable")  # rule 11: told before choosing
            if Action.EMAIL_RECEIPT in actions:
                details = (Text.of("receipt.email_to", address=email_address_shown(account, False, email)),)
        rows = self.stack.rows(spec.row_operations) if spec.rows else ()
        if spec.details:
            rows = loan_rows(account, self.stack.items, self.offline)
        return Screen(
            name=spec.screen,
            language=self.language,
            heading=Text(f"{spec.screen.value}.heading"),
            message=self.message or instruction,
            rows=rows,
            actions=actions,
            patron_name=account.name if account and spec.greets_patron else "",
            offline=self.offline,
            idle_warning=self.idle_warning,
            details=details,
        )

    @property
    def busy(self) -> bool:
        """Something was sent and has not come back: the session must not end yet."""
        return self.mode is Mode.AUTHENTICATING or self.stack.busy

    # ------------------------------------------------------------ dispatch

    def _dispatch(self, event: Event, out: list[Command]) -> None:
        if isinstance(event, Pressed | LanguageChosen | CardPresented | PinEntered):
            self._touch(event.now)
        if (type(event), self.mode) in NO_OPS:
            return  # listed in tables.NO_OPS, with the reason
        match event:
            case Tick():
                self._tick(event.now, out)
            case OfflineChanged():
                self.offline = event.offline
                if event.offline:
                    self.stack.went_offline(self._lending(), out)
            case Pressed():
                self._press(event.action, event.now, out, event.item_id)
            case LanguageChosen() if event.language not in self.policy.languages:
                pass  # tables.NOT_OFFERED_LANGUAGE
            case LanguageChosen():
                self.language, self.language_chosen = event.language, True
            case CardPresented():
                move = self.identity.card(
                    event.card_id, event.source, event.device, self.offline, event.now, out
                )
                self._apply(move, event.now, out)
            case PinEntered():
                self._apply(self.identity.pin_entered(event.pin, out), event.now, out)
            case TagsChanged():
                self._tags(event, out)
            case PatronLoaded():
                self._patron_result(event, out)
            case CirculationFailed() if event.operation is Operation.PATRON:
                self._patron_result(event, out)
            case CirculationFailed():
                self.stack.failed(event, self._lending(), out)
            case CheckoutDone():
                self.stack.checkout_done(event, self._lending(), out)
                self._account_after(event.outcome)
            case CheckinDone():
                self.stack.checkin_done(event, self._lending(), out)
                self._account_after(event.outcome)
            case RenewDone():
                self.stack.renew_done(event, self._lending(), out)
                self._account_after(event.outcome)
            case SecurityWritten():
                self.stack.security_written(event, self._lending(), out)
            case PrinterChanged():
                self.printer_can_print = event.can_print
            case ReceiptPrinted():
                if not event.ok:
                    self.message = Text("goodbye.email_failed" if event.emailed else "goodbye.receipt_failed")
            case _:
                assert_never(event)

    def _account_after(self, outcome: CheckoutOutcome | CheckinOutcome | RenewOutcome) -> None:
        """The loan list follows what the library system answered (a new due date, a new loan)."""
        if outcome.ok and not isinstance(outcome, CheckinOutcome) and not outcome.due:
            return  # accepted without a date: the list keeps what it knew
        self.identity.account = with_outcome(self.identity.account, outcome)

    def _lending(self) -> Lending:
        return Lending(self.mode, self.offline, self.now, self.identity.account, self.identity.pin)

    # ------------------------------------------------------------ modes

    def _touch(self, now: datetime) -> None:
        self.last_activity = now
        self.idle_warning = False

    def _go(self, step: Action | Happening, now: datetime) -> None:
        """Change mode as the tables say (`IllegalTransition` if they do not list the step here)."""
        self.mode = next_mode(self.mode, step)
        self.mode_entered = now
        self.idle_warning = False
        self.message = None

    def _apply(self, move: Move, now: datetime, out: list[Command]) -> None:
        if move.happening is Happening.ENDED:
            self._end(now, out)
        elif move.happening is not None:
            self._go(move.happening, now)
        if move.message is not None:
            self.message = move.message
        if move.happening is Happening.KNOWN_TO_BORROW:
            self._consider_pad(out)

    def _end(self, now: datetime, out: list[Command], via: Action | Happening = Happening.ENDED) -> None:
        """Forget the patron (rule 7, privacy) and go back to the welcome screen."""
        if self.identity.account is not None:
            out.append(EndPatronSession(self.identity.account.patron_id))
        self.stale_uids = {tag.uid for tag in self.pad}
        self.identity.forget()
        self.identity.cards.forget_before(now - self.policy.card_memory)
        self.stack.items = {}
        self.language, self.language_chosen = self.policy.language, False
        self._go(via, now)
        self.last_activity = now

    def _press(self, action: Action, now: datetime, out: list[Command], item_id: str = "") -> None:
        if action in NO_OP_PRESSES or not _offered(self.screen(), action, item_id):
            return  # tables.NO_OP_PRESSES, or tables.STALE_PRESS: a press from a screen that is gone
        self.message = None
        if action is Action.CANCEL:
            self._end(now, out, via=action)
            return
        if action is Action.BORROW and self.mode is Mode.WELCOME:
            self.identity.intent = Mode.BORROW
        if action is Action.PRINT_RECEIPT:
            out.append(self.stack.receipt(self.language))
        elif action is Action.EMAIL_RECEIPT and self.identity.account is not None:
            out.append(EmailReceipt(self.identity.account.patron_id, self.stack.receipt(self.language)))
        self._go(action, now)
        if action in (Action.RENEW_ALL, Action.RENEW):
            self.stack.renew(self._lending(), out, only=item_id)
        elif action is Action.PRINT_RECEIPT:
            self.message = Text("goodbye.receipt_printed")
        elif action is Action.EMAIL_RECEIPT:
            self.message = Text("goodbye.receipt_emailed")
        elif action is Action.FINISH and not self.stack.any_done():
            self._go(Happening.NOTHING_TO_PRINT, now)
        else:
            self._consider_pad(out)

    def _tick(self, now: datetime, out: list[Command]) -> None:
        if self.mode is Mode.GOODBYE:
            if now - self.mode_entered >= self.policy.goodbye_time:
                self._end(now, out)
            return
        if self.mode is Mode.WELCOME and now - self.last_activity >= self.policy.goodbye_time:
            self.message = None  # nothing of the last patron stays up for the next ("session ended")
        if self.mode is Mode.WELCOME and now - self.last_activity >= self.policy.idle_timeout:
            # a language chosen by someone who walked away is not the next patron's (rule 13)
            self.language, self.language_chosen = self.policy.language, False
        if self.mode is Mode.WELCOME or self.busy:
            return  # nothing to time out, or waiting for the library system (rule 7)
        idle = now - self.last_activity
        if idle >= self.policy.idle_timeout:
            self._end(now, out)
            self.message = Text("welcome.timed_out")
        elif idle >= self.policy.idle_timeout - self.policy.idle_warning:
            self.idle_warning = True

    def _patron_result(self, event: PatronLoaded | CirculationFailed, out: list[Command]) -> None:
        if self.mode not in PATRON_RESULT_MODES[type(event)]:
            out.append(Unexpected(type(event).__name__, self.mode))
            return
        if isinstance(event, PatronLoaded):
            self._apply(self.identity.loaded(event.account, event.now, out), event.now, out)
            known = self.identity.account
            if known is not None and not self.language_chosen:  # rule 13: the patron's own language
                self.language = patron_language(known.language, self.policy.languages) or self.language
        else:
            self._apply(self.identity.not_reached(self.offline, event.now), event.now, out)

    # ------------------------------------------------------------ the pad

    def _tags(self, event: TagsChanged, out: list[Command]) -> None:
        self.stale_uids &= {tag.uid for tag in event.tags}  # lifted off once: no longer stale
        new = [tag for tag in event.tags if tag.uid not in {t.uid for t in self.pad}]
        self.pad = event.tags
        if new:
            self._touch(event.now)
        if self.mode in (Mode.WELCOME, Mode.IDENTIFY):
            cards = [t for t in new if t.kind is TagKind.PATRON_CARD and t.uid not in self.stale_uids]
            if cards:
                move = self.identity.card(cards[0].item_id, CardSource.PAD, "", self.offline, event.now, out)
                self._apply(move, event.now, out)
            elif self.mode is Mode.WELCOME and any(t.kind is TagKind.ITEM for t in new):
                self.message = Text("welcome.items_on_pad")
            return
        self._consider_pad(out)

    def _consider_pad(self, out: list[Command]) -> None:
        """Start work on every complete item on the pad that this session has not handled yet."""
        if self.mode not in (Mode.BORROW, Mode.RETURN):
            return
        operation = Operation.CHECKOUT if self.mode is Mode.BORROW else Operation.CHECKIN
        # Rule 8 from the patron's side: items the pad never saw leave (lifted and put back in a
        # blink, or left by the previous patron) are ignored until lifted; say so instead of nothing.
        stale_items = any(t.kind is TagKind.ITEM and t.uid in self.stale_uids for t in self.pad)
        if stale_items and self.message is None:
            self.message = Text("pad.lift_and_replace")
        elif not stale_items and self.message == Text("pad.lift_and_replace"):
            self.message = None
        fresh = [t for t in self.pad if t.uid not in self.stale_uids]
        self.stack.take(fresh, operation, self._lending(), out)
