"""The patron session: a pure state machine.

Events go in (`PatronSession.handle(event)`), commands come out. No I/O, no clock reads: time arrives
inside every event, transaction ids are assigned by the shell (`kiosk.station`). This is where the rules
of the station live.

Rules
-----
1. Modes and how they change (the table `_MODE_ACTIONS` lists the buttons of each mode):

       WELCOME --Borrow-----------------> IDENTIFY --card--> PIN --pin--> AUTHENTICATING --ok--> BORROW
       WELCOME --card on pad / scanned--> PIN --pin--> AUTHENTICATING --ok--> MENU
       WELCOME --Return-----------------> RETURN          (no card needed to return)
       MENU    --Borrow/Return/Account--> BORROW / RETURN / ACCOUNT
       BORROW, RETURN, ACCOUNT --Finish--> RECEIPT (if anything was done) --> GOODBYE --> WELCOME

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
9. Wrong PINs: after `max_pin_attempts` the patron is sent to staff (the ILS may block the card too).
10. Offline (the station says the library system cannot be reached): returns are always accepted;
    borrowing only if the offline policy allows it, within its limits per session and per patron (the
    latter counted across sessions by the journal), with the offline due date; cards the station has
    seen blocked are refused; no PIN is asked (it cannot be checked, and PINs are never stored);
    renewals wait for the network. An action that certainly did not reach the library system when the
    station went offline is redone offline; one whose fate is unknown is never redone here.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kiosk.core.screens import Action, ItemRow, RowState, Screen, ScreenName, Text
from server_api.circulation import (
    CheckinOutcome,
    CheckoutOutcome,
    PatronAccount,
    RenewOutcome,
    Route,
    RouteKind,
    SecurityAction,
)

AFI_ON_LOAN = 0xC2
AFI_IN_LIBRARY = 0x07


# ---------------------------------------------------------------- what the pad holds


class TagKind(enum.StrEnum):
    ITEM = "item"
    PATRON_CARD = "patron_card"
    UNREADABLE = "unreadable"  # blank, foreign or corrupt: the patron is sent to staff


@dataclass(frozen=True)
class PadTag:
    """One decoded tag on the pad (decoding is the station's job, via drivers.tags)."""

    uid: bytes
    kind: TagKind
    item_id: str = ""  # item id, or card number for a patron card
    part_number: int = 1
    parts_in_item: int = 1
    owner_library: str = ""
    afi: int = AFI_IN_LIBRARY
    problem: str = ""  # for UNREADABLE: what was wrong, for staff


# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class Tick:
    now: datetime


@dataclass(frozen=True)
class Pressed:
    action: Action
    now: datetime


@dataclass(frozen=True)
class LanguageChosen:
    language: str
    now: datetime


@dataclass(frozen=True)
class CardPresented:
    card_id: str
    now: datetime


@dataclass(frozen=True)
class PinEntered:
    pin: str
    now: datetime

    def __repr__(self) -> str:  # a PIN must never reach a log through repr()
        return f"PinEntered(pin=<{len(self.pin)} digits>, now={self.now!r})"


@dataclass(frozen=True)
class TagsChanged:
    tags: tuple[PadTag, ...]  # everything on the pad now
    now: datetime


@dataclass(frozen=True)
class PatronLoaded:
    account: PatronAccount
    now: datetime


@dataclass(frozen=True)
class CheckoutDone:
    outcome: CheckoutOutcome
    now: datetime


@dataclass(frozen=True)
class CheckinDone:
    outcome: CheckinOutcome
    now: datetime


@dataclass(frozen=True)
class RenewDone:
    outcome: RenewOutcome
    now: datetime


class Operation(enum.StrEnum):
    PATRON = "patron"
    CHECKOUT = "checkout"
    CHECKIN = "checkin"
    RENEW = "renew"


@dataclass(frozen=True)
class CirculationFailed:
    """The service could not be reached or did not answer."""

    operation: Operation
    item_id: str
    detail: str
    now: datetime
    sent: bool = True  # False: certainly never reached the library system (safe to redo offline)


@dataclass(frozen=True)
class SecurityWritten:
    item_id: str
    ok: bool
    now: datetime
    detail: str = ""


@dataclass(frozen=True)
class ReceiptPrinted:
    ok: bool
    now: datetime
    detail: str = ""


Event = (
    Tick
    | Pressed
    | LanguageChosen
    | CardPresented
    | PinEntered
    | TagsChanged
    | PatronLoaded
    | CheckoutDone
    | CheckinDone
    | RenewDone
    | CirculationFailed
    | SecurityWritten
    | ReceiptPrinted
)


_RESULTS = (PatronLoaded, CheckoutDone, CheckinDone, RenewDone, CirculationFailed, SecurityWritten)


# ---------------------------------------------------------------- commands


@dataclass(frozen=True)
class Show:
    screen: Screen


@dataclass(frozen=True)
class Authenticate:
    card_id: str
    pin: str | None

    def __repr__(self) -> str:
        return f"Authenticate(card_id={self.card_id!r}, pin={'<hidden>' if self.pin else None})"


@dataclass(frozen=True)
class Checkout:
    patron_id: str
    item_id: str
    pin: str | None = field(default=None, repr=False)
    offline: bool = False  # accepted by the station under the offline policy, replayed later
    due: datetime | None = None  # the due date given offline


@dataclass(frozen=True)
class Checkin:
    item_id: str
    offline: bool = False


@dataclass(frozen=True)
class RememberCard:
    """The library system said this card may (not) borrow: remembered for offline use."""

    card_id: str
    blocked: bool


@dataclass(frozen=True)
class Renew:
    patron_id: str
    item_id: str


@dataclass(frozen=True)
class WriteSecurity:
    item_id: str
    uids: tuple[bytes, ...]
    afi: int


@dataclass(frozen=True)
class PrintReceipt:
    language: str
    heading: Text
    lines: tuple[Text, ...]  # no patron name: a receipt left behind must not say whose loans these are


@dataclass(frozen=True)
class PrintStaffSlip:
    """For staff at the return: where the item goes and, for a hold, whom it is for."""

    item_id: str
    title: str
    route: Route


@dataclass(frozen=True)
class EndPatronSession:
    patron_id: str


@dataclass(frozen=True)
class Speak:
    text: Text
    language: str


Command = (
    Show
    | Authenticate
    | Checkout
    | Checkin
    | Renew
    | WriteSecurity
    | PrintReceipt
    | PrintStaffSlip
    | EndPatronSession
    | Speak
    | RememberCard
)


# ---------------------------------------------------------------- policy


@dataclass(frozen=True)
class OfflinePolicy:
    borrowing: bool = True
    max_items_per_session: int = 5
    max_items_per_patron: int = 10  # offline loans not yet confirmed by the library system
    loan_days: int = 14  # offline due date: this many days ahead, at 23:59


class SecurityFailurePolicy(enum.StrEnum):
    """What happens to a loan whose security (AFI) could not be set (rule 4). Never silent either way."""

    FLAG = "flag"  # the loan stands, staff are told; the write is retried when the item is back on the pad
    UNDO = "undo"  # the loan is undone (checked back in): the item stays in the library, as its tag says


@dataclass(frozen=True)
class SessionPolicy:
    language: str = "nb"
    idle_timeout: timedelta = timedelta(seconds=60)
    idle_warning: timedelta = timedelta(seconds=20)  # shown this long before the timeout
    goodbye_time: timedelta = timedelta(seconds=5)
    max_pin_attempts: int = 3
    pin_required: bool = True
    print_staff_slips: bool = True
    offline: OfflinePolicy = field(default_factory=OfflinePolicy)
    security_failure: SecurityFailurePolicy = field(default_factory=lambda: SecurityFailurePolicy.FLAG)


# ---------------------------------------------------------------- the machine


class Mode(enum.StrEnum):
    WELCOME = "welcome"
    IDENTIFY = "identify"
    PIN = "pin"
    AUTHENTICATING = "authenticating"
    MENU = "menu"
    BORROW = "borrow"
    RETURN = "return"
    ACCOUNT = "account"
    RECEIPT = "receipt"
    GOODBYE = "goodbye"


class Stage(enum.StrEnum):
    """Where one item of the stack is."""

    WAITING_FOR_PARTS = "waiting_for_parts"
    CIRCULATING = "circulating"  # checkout/checkin/renew sent
    SECURING = "securing"  # AFI write asked for
    SECURITY_FAILED = "security_failed"  # put it back: the write will be retried
    UNDOING = "undoing"  # security failed after a loan, policy UNDO: the loan is being checked back in
    DONE = "done"
    REFUSED = "refused"
    FAILED = "failed"  # service unreachable or no reply
    UNREADABLE = "unreadable"


_IN_FLIGHT = {Stage.CIRCULATING, Stage.SECURING, Stage.UNDOING}

_MODE_ACTIONS: dict[Mode, tuple[Action, ...]] = {
    Mode.WELCOME: (Action.BORROW, Action.RETURN),
    Mode.IDENTIFY: (Action.CANCEL,),
    Mode.PIN: (Action.CANCEL,),
    Mode.AUTHENTICATING: (),
    Mode.MENU: (Action.BORROW, Action.RETURN, Action.ACCOUNT, Action.FINISH),
    Mode.BORROW: (Action.RETURN, Action.FINISH),
    Mode.RETURN: (Action.BORROW, Action.FINISH),
    Mode.ACCOUNT: (Action.RENEW_ALL, Action.BACK, Action.FINISH),
    Mode.RECEIPT: (Action.PRINT_RECEIPT, Action.NO_RECEIPT),
    Mode.GOODBYE: (),
}

_MODE_SCREEN: dict[Mode, ScreenName] = {
    Mode.WELCOME: ScreenName.WELCOME,
    Mode.IDENTIFY: ScreenName.IDENTIFY,
    Mode.PIN: ScreenName.PIN,
    Mode.AUTHENTICATING: ScreenName.BUSY,
    Mode.MENU: ScreenName.MENU,
    Mode.BORROW: ScreenName.BORROW,
    Mode.RETURN: ScreenName.RETURN,
    Mode.ACCOUNT: ScreenName.ACCOUNT,
    Mode.RECEIPT: ScreenName.RECEIPT,
    Mode.GOODBYE: ScreenName.GOODBYE,
}

# What to do on each screen, shown when there is no more urgent message.
_INSTRUCTIONS: dict[Mode, Text] = {
    Mode.WELCOME: Text("welcome.instruction"),
    Mode.IDENTIFY: Text("identify.instruction"),
    Mode.PIN: Text("pin.instruction"),
    Mode.AUTHENTICATING: Text("busy.instruction"),
    Mode.MENU: Text("menu.instruction"),
    Mode.BORROW: Text("borrow.instruction"),
    Mode.RETURN: Text("return.instruction"),
    Mode.RECEIPT: Text("receipt.instruction"),
    Mode.GOODBYE: Text("goodbye.instruction"),
}

_PATRON_MODES = {Mode.MENU, Mode.BORROW, Mode.ACCOUNT}  # modes that need an identified patron


@dataclass
class ItemProgress:
    """One item (all its parts) as handled in this session."""

    item_id: str
    operation: Operation
    uids: tuple[bytes, ...] = ()
    stage: Stage = Stage.CIRCULATING
    title: str = ""
    due: datetime | None = None
    text: Text = field(default_factory=lambda: Text("row.working"))
    route: Route | None = None
    security_afi: int | None = None
    offline: bool = False
    not_sent: bool = False  # failed before reaching the library system: may be redone offline

    def row(self) -> ItemRow:
        state = {
            Stage.DONE: RowState.DONE,
            Stage.REFUSED: RowState.REFUSED,
            Stage.CIRCULATING: RowState.WORKING,
            Stage.SECURING: RowState.WORKING,
        }.get(self.stage, RowState.ATTENTION)
        return ItemRow(self.item_id, self.title, state, self.text, self.due)


def _group(tags: Iterable[PadTag]) -> dict[str, list[PadTag]]:
    items: dict[str, list[PadTag]] = {}
    for tag in tags:
        if tag.kind is TagKind.ITEM:
            items.setdefault(tag.item_id, []).append(tag)
    return items


def _missing_parts(parts: list[PadTag]) -> list[int]:
    expected = max(tag.parts_in_item for tag in parts)
    present = {tag.part_number for tag in parts}
    return [n for n in range(1, expected + 1) if n not in present]


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
    ) -> None:
        self.policy = policy
        self.mode = Mode.WELCOME
        self.language = policy.language
        self.offline = offline
        self.last_activity = now
        self.mode_entered = now
        self.idle_warning = False
        self.message: Text | None = None
        self.card_id = ""
        self.intent: Mode | None = None  # what the patron asked for before identifying
        self.account: PatronAccount | None = None
        self.pin: str | None = None  # held only until the session ends, never logged
        self.pin_attempts = 0
        self.items: dict[str, ItemProgress] = {}
        self.pad: tuple[PadTag, ...] = ()
        self.stale_uids: set[bytes] = set()  # on the pad when the last session ended (rule 8)
        self.known_blocked: set[str] = set(known_blocked or ())
        self.offline_loans: dict[str, int] = dict(offline_loans or {})  # per patron, unconfirmed
        self.now = now
        self._shown: Screen | None = None

    # ------------------------------------------------------------ public

    def handle(self, event: Event) -> list[Command]:
        """Feed one event; get the commands it causes (a `Show` whenever the screen changed)."""
        commands: list[Command] = []
        self.now = event.now
        if isinstance(event, _RESULTS):
            # New information on the screen restarts the patron's reading time: a slow reply must not
            # be followed by an instant timeout.
            self._touch(event.now)
        handler = getattr(self, f"_on_{type(event).__name__}")
        handler(event, commands)
        screen = self.screen()
        if screen != self._shown:
            self._shown = screen
            commands.append(Show(screen))
        return commands

    def screen(self) -> Screen:
        name = _MODE_SCREEN[self.mode]
        rows: tuple[ItemRow, ...] = ()
        if self.mode in (Mode.BORROW, Mode.RETURN, Mode.ACCOUNT, Mode.RECEIPT):
            rows = tuple(item.row() for item in self.items.values())
        actions = _MODE_ACTIONS[self.mode]
        if self.mode in (Mode.MENU, Mode.RETURN) and not (self.account and self.account.may_borrow):
            # Borrowing needs an identified patron who may borrow; returning needs neither.
            actions = tuple(a for a in actions if a is not Action.BORROW)
        return Screen(
            name=name,
            language=self.language,
            heading=Text(f"{name.value}.heading"),
            message=self.message or _INSTRUCTIONS.get(self.mode),
            rows=rows,
            actions=actions,
            patron_name=self.account.name if self.account and self.mode in _PATRON_MODES else "",
            offline=self.offline,
            idle_warning=self.idle_warning,
            details=self._details() if self.mode is Mode.ACCOUNT else (),
        )

    @property
    def busy(self) -> bool:
        """Something was sent and has not come back: the session must not end yet."""
        return self.mode is Mode.AUTHENTICATING or any(i.stage in _IN_FLIGHT for i in self.items.values())

    # ------------------------------------------------------------ patron input

    def _touch(self, now: datetime) -> None:
        self.last_activity = now
        self.idle_warning = False

    def _on_Pressed(self, event: Pressed, out: list[Command]) -> None:
        self._touch(event.now)
        action = event.action
        if action is Action.MORE_TIME:
            return
        if action not in self.screen().actions:
            return  # a stale press from a screen that is gone
        self.message = None
        if action is Action.CANCEL:
            self._end(event.now, out)
        elif action is Action.BORROW:
            if self.account is None:
                self.intent = Mode.BORROW
                self._enter(Mode.IDENTIFY, event.now)
            else:
                self._enter(Mode.BORROW, event.now)
                self._consider_pad(out)
        elif action is Action.RETURN:
            self._enter(Mode.RETURN, event.now)
            self._consider_pad(out)
        elif action is Action.ACCOUNT:
            self._enter(Mode.ACCOUNT, event.now)
        elif action is Action.BACK:
            self._enter(Mode.MENU, event.now)
        elif action is Action.RENEW_ALL:
            self._renew_all(out)
        elif action is Action.FINISH:
            self._finish(event.now, out)
        elif action is Action.PRINT_RECEIPT:
            out.append(self._receipt())
            self._enter(Mode.GOODBYE, event.now)
            self.message = Text("goodbye.receipt_printed")
        elif action is Action.NO_RECEIPT:
            self._enter(Mode.GOODBYE, event.now)

    def _on_LanguageChosen(self, event: LanguageChosen, out: list[Command]) -> None:
        self._touch(event.now)
        self.language = event.language

    def _on_CardPresented(self, event: CardPresented, out: list[Command]) -> None:
        self._touch(event.now)
        if self.mode not in (Mode.WELCOME, Mode.IDENTIFY):
            return  # a card on the pad during a session is ignored; it is the same patron's or a mistake
        self.card_id = event.card_id.strip()
        self.message = None
        self.pin_attempts = 0
        if self.offline:
            self._identify_offline(event.now, out)
        elif self.policy.pin_required:
            self._enter(Mode.PIN, event.now)
        else:
            self._authenticate(None, event.now, out)

    def _on_PinEntered(self, event: PinEntered, out: list[Command]) -> None:
        self._touch(event.now)
        if self.mode is not Mode.PIN:
            return
        if not event.pin.isdigit():
            self.message = Text("pin.digits_only")
            return
        self._authenticate(event.pin, event.now, out)

    def _authenticate(self, pin: str | None, now: datetime, out: list[Command]) -> None:
        self.pin = pin
        self._enter(Mode.AUTHENTICATING, now)
        out.append(Authenticate(self.card_id, pin))

    def _on_TagsChanged(self, event: TagsChanged, out: list[Command]) -> None:
        on_pad = {tag.uid for tag in event.tags}
        self.stale_uids &= on_pad  # lifted off once: no longer stale
        new = [tag for tag in event.tags if tag.uid not in {t.uid for t in self.pad}]
        self.pad = event.tags
        if new:
            self._touch(event.now)
        if self.mode in (Mode.WELCOME, Mode.IDENTIFY):
            cards = [t for t in new if t.kind is TagKind.PATRON_CARD and t.uid not in self.stale_uids]
            if cards:
                self._on_CardPresented(CardPresented(cards[0].item_id, event.now), out)
                return
            if self.mode is Mode.WELCOME and any(t.kind is TagKind.ITEM for t in new):
                self.message = Text("welcome.items_on_pad")
            return
        self._consider_pad(out)

    # ------------------------------------------------------------ the stack

    def _consider_pad(self, out: list[Command]) -> None:
        """Start work on every complete item on the pad that this session has not handled yet."""
        if self.mode not in (Mode.BORROW, Mode.RETURN):
            return
        operation = Operation.CHECKOUT if self.mode is Mode.BORROW else Operation.CHECKIN
        fresh = [t for t in self.pad if t.uid not in self.stale_uids]
        # Rule 8 from the patron's side: items the pad never saw leave (lifted and put back in a
        # blink, or left by the previous patron) are ignored until lifted; say so instead of nothing.
        stale_items = any(t.kind is TagKind.ITEM and t.uid in self.stale_uids for t in self.pad)
        if stale_items and self.message is None:
            self.message = Text("pad.lift_and_replace")
        elif not stale_items and self.message == Text("pad.lift_and_replace"):
            self.message = None
        for tag in fresh:
            if tag.kind is TagKind.UNREADABLE:
                key = f"unreadable:{tag.uid.hex()}"
                if key not in self.items:
                    self.items[key] = ItemProgress(
                        item_id="",
                        operation=operation,
                        uids=(tag.uid,),
                        stage=Stage.UNREADABLE,
                        text=Text("row.unreadable"),
                    )
        for item_id, parts in _group(fresh).items():
            progress = self.items.get(item_id)
            if progress is not None and progress.stage is Stage.SECURITY_FAILED:
                # Back on the pad: try the security write again (rule 4).
                progress.stage = Stage.SECURING
                progress.text = Text("row.securing")
                assert progress.security_afi is not None
                out.append(WriteSecurity(item_id, tuple(t.uid for t in parts), progress.security_afi))
                continue
            if progress is not None and progress.stage is not Stage.WAITING_FOR_PARTS:
                continue
            missing = _missing_parts(parts)
            uids = tuple(sorted(t.uid for t in parts))
            if missing:
                expected = max(t.parts_in_item for t in parts)
                self.items[item_id] = ItemProgress(
                    item_id=item_id,
                    operation=operation,
                    uids=uids,
                    stage=Stage.WAITING_FOR_PARTS,
                    text=Text.of("row.missing_part", missing=", ".join(map(str, missing)), parts=expected),
                )
                continue
            progress = ItemProgress(item_id=item_id, operation=operation, uids=uids)
            self.items[item_id] = progress
            if self.offline:
                self._redo_offline(progress, out)
            elif operation is Operation.CHECKOUT:
                assert self.account is not None
                out.append(Checkout(self.account.patron_id, item_id, self.pin))
            else:
                out.append(Checkin(item_id))

    def _on_CheckoutDone(self, event: CheckoutDone, out: list[Command]) -> None:
        outcome = event.outcome
        item = self.items.get(outcome.item_id)
        if item is None or item.stage is not Stage.CIRCULATING:
            return
        item.title = outcome.title or item.title
        if not outcome.ok:
            item.stage = Stage.REFUSED
            item.text = Text.of(f"refusal.{outcome.reason or 'other'}", ils=outcome.screen_message)
            return
        item.due = outcome.due
        if item.offline and self.account is not None:
            patron = self.account.patron_id
            self.offline_loans[patron] = self.offline_loans.get(patron, 0) + 1
        self._secure(item, outcome.security, AFI_ON_LOAN, out)

    def _on_CheckinDone(self, event: CheckinDone, out: list[Command]) -> None:
        outcome = event.outcome
        item = self.items.get(outcome.item_id)
        if item is not None and item.stage is Stage.UNDOING:
            # Rule 4, policy UNDO: the loan is gone (not borrowed); if the ILS refused, it stays flagged.
            item.stage = Stage.REFUSED if outcome.ok else Stage.SECURITY_FAILED
            item.text = Text.of("refusal.other", ils="") if outcome.ok else Text("row.security_failed")
            return
        if item is None or item.stage is not Stage.CIRCULATING:
            return
        item.title = outcome.title or item.title
        if not outcome.ok:
            # Rule 5: the AFI stays as it was; a person must look at it.
            item.stage = Stage.REFUSED
            item.text = Text.of("return.refused", ils=outcome.screen_message)
            return
        item.route = outcome.route
        if self.policy.print_staff_slips and outcome.route.kind in (RouteKind.HOLD_SHELF, RouteKind.TRANSIT):
            out.append(PrintStaffSlip(item.item_id, item.title, outcome.route))
        self._secure(item, outcome.security, AFI_IN_LIBRARY, out)

    def _secure(self, item: ItemProgress, action: SecurityAction, afi: int, out: list[Command]) -> None:
        if action is SecurityAction.LEAVE:
            self._done(item)
            return
        item.stage = Stage.SECURING
        item.security_afi = afi
        item.text = Text("row.securing")
        out.append(WriteSecurity(item.item_id, item.uids, afi))

    def _on_SecurityWritten(self, event: SecurityWritten, out: list[Command]) -> None:
        item = self.items.get(event.item_id)
        if item is None or item.stage is not Stage.SECURING:
            return
        if event.ok:
            self._done(item)
        else:
            item.stage = Stage.SECURITY_FAILED
            item.text = Text("row.security_failed")
            undo = self.policy.security_failure is SecurityFailurePolicy.UNDO
            if item.operation is Operation.CHECKOUT and undo:
                item.stage = Stage.UNDOING
                out.append(Checkin(item.item_id))

    def _done(self, item: ItemProgress) -> None:
        item.stage = Stage.DONE
        if item.operation is Operation.CHECKIN:
            if item.offline:
                item.text = Text("route.offline")  # the library system routes it after the sync
                return
            route = item.route or Route(RouteKind.RESHELVE)
            # Patron-facing routing names a library at most, never a person (rule 6).
            item.text = Text.of(f"route.{route.kind.value}", library=route.destination_name)
        elif item.operation is Operation.RENEW:
            item.text = Text.of("row.renewed", date=item.due.date().isoformat() if item.due else "")
        else:
            item.text = Text.of("row.borrowed", date=item.due.date().isoformat() if item.due else "")

    def _on_RenewDone(self, event: RenewDone, out: list[Command]) -> None:
        outcome = event.outcome
        item = self.items.get(outcome.item_id)
        if item is None or item.stage is not Stage.CIRCULATING:
            return
        item.title = outcome.title or item.title
        if outcome.ok:
            item.due = outcome.due
            self._done(item)
        else:
            item.stage = Stage.REFUSED
            item.text = Text.of("renew.refused", ils=outcome.screen_message)

    def _on_ReceiptPrinted(self, event: ReceiptPrinted, out: list[Command]) -> None:
        if not event.ok and self.mode is Mode.GOODBYE:
            self.message = Text("goodbye.receipt_failed")

    def _on_CirculationFailed(self, event: CirculationFailed, out: list[Command]) -> None:
        if event.operation is Operation.PATRON:
            if self.mode is Mode.AUTHENTICATING:
                self.pin = None
                if self.offline:
                    self._identify_offline(event.now, out)
                    return
                self._enter(Mode.WELCOME if self.intent is None else Mode.IDENTIFY, event.now)
                self.message = Text("identify.service_unavailable")
            return
        item = self.items.get(event.item_id)
        if item is not None and item.stage is Stage.UNDOING:
            item.stage = Stage.SECURITY_FAILED  # the undo did not get through: the loan stays, flagged
            return
        if item is None or item.stage is not Stage.CIRCULATING:
            return
        item.stage = Stage.FAILED
        item.not_sent = not event.sent
        item.text = Text("row.service_error")
        if self.offline and item.not_sent:
            self._redo_offline(item, out)

    # ------------------------------------------------------------ offline (rule 10)

    def _identify_offline(self, now: datetime, out: list[Command]) -> None:
        blocked = self.card_id in self.known_blocked
        self.account = PatronAccount(
            patron_id=self.card_id,
            found=True,
            pin_ok=None,
            may_borrow=self.policy.offline.borrowing and not blocked,
        )
        if self.intent is Mode.BORROW and self.account.may_borrow:
            self._enter(Mode.BORROW, now)
            self._consider_pad(out)
        else:
            self._enter(Mode.MENU, now)
        if blocked:
            self.message = Text("menu.offline_blocked")
        elif not self.policy.offline.borrowing:
            self.message = Text("menu.offline_no_borrowing")

    def _offline_due(self) -> datetime:
        day = self.now + timedelta(days=self.policy.offline.loan_days)
        return day.replace(hour=23, minute=59, second=0, microsecond=0)

    def _offline_checkout_refusal(self) -> Text | None:
        assert self.account is not None
        limits = self.policy.offline
        in_session = sum(
            1
            for i in self.items.values()
            if i.offline
            and i.operation is Operation.CHECKOUT
            and i.stage not in (Stage.REFUSED, Stage.FAILED)
        )
        earlier = self.offline_loans.get(self.account.patron_id, 0)
        if not limits.borrowing or not self.account.may_borrow:
            return Text("refusal.offline_no_borrowing")
        if in_session >= limits.max_items_per_session or earlier + in_session >= limits.max_items_per_patron:
            return Text("refusal.offline_limit")
        return None

    def _redo_offline(self, item: ItemProgress, out: list[Command]) -> None:
        """Rule 10: handle an item under the offline policy (only if it never reached the ILS)."""
        item.not_sent = False
        if item.operation is Operation.RENEW:
            item.stage = Stage.REFUSED
            item.text = Text("renew.offline")
            return
        if item.operation is Operation.CHECKIN:
            item.stage, item.offline, item.text = Stage.CIRCULATING, True, Text("row.working")
            out.append(Checkin(item.item_id, offline=True))
            return
        refusal = self._offline_checkout_refusal()
        if refusal is not None:
            item.stage, item.text = Stage.REFUSED, refusal
            return
        assert self.account is not None
        item.stage, item.offline, item.text = Stage.CIRCULATING, True, Text("row.working")
        out.append(
            Checkout(self.account.patron_id, item.item_id, None, offline=True, due=self._offline_due())
        )

    def _renew_all(self, out: list[Command]) -> None:
        assert self.account is not None
        for loan in self.account.loans:
            existing = self.items.get(loan.item_id)
            if existing is not None and existing.stage in _IN_FLIGHT:
                continue
            progress = ItemProgress(
                item_id=loan.item_id, operation=Operation.RENEW, title=loan.title, due=loan.due
            )
            self.items[loan.item_id] = progress
            if self.offline:
                self._redo_offline(progress, out)
                continue
            out.append(Renew(self.account.patron_id, loan.item_id))

    # ------------------------------------------------------------ identification

    def _on_PatronLoaded(self, event: PatronLoaded, out: list[Command]) -> None:
        if self.mode is not Mode.AUTHENTICATING:
            return
        account = event.account
        if not account.found:
            self.pin = None
            self._enter(Mode.IDENTIFY, event.now)
            self.message = Text("identify.card_unknown")
            return
        if account.pin_ok is False:
            self.pin = None
            self.pin_attempts += 1
            left = self.policy.max_pin_attempts - self.pin_attempts
            if left <= 0:
                self._end(event.now, out)
                self.message = Text("pin.too_many_attempts")
            else:
                self._enter(Mode.PIN, event.now)
                self.message = Text.of("pin.wrong", left=left)
            return
        self.account = account
        # Remembered here for this run and in the journal across restarts (rule 10: refused offline).
        if account.may_borrow:
            self.known_blocked.discard(self.card_id)
        else:
            self.known_blocked.add(self.card_id)
        out.append(RememberCard(self.card_id, blocked=not account.may_borrow))
        if not account.may_borrow:
            self._enter(Mode.MENU, event.now)
            self.message = Text.of(
                "menu.blocked", blocks="; ".join(account.blocks), ils=account.screen_message
            )
            return
        if self.intent is Mode.BORROW:
            self._enter(Mode.BORROW, event.now)
            self._consider_pad(out)
        else:
            self._enter(Mode.MENU, event.now)
        if account.holds_ready:
            self.message = Text.of("menu.holds_ready", count=len(account.holds_ready))

    def _details(self) -> tuple[Text, ...]:
        account = self.account
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

    # ------------------------------------------------------------ ending

    def _finish(self, now: datetime, out: list[Command]) -> None:
        if any(i.stage is Stage.DONE for i in self.items.values()):
            self._enter(Mode.RECEIPT, now)
        else:
            self._enter(Mode.GOODBYE, now)

    def _receipt(self) -> PrintReceipt:
        lines = []
        for item in self.items.values():
            if item.stage is not Stage.DONE:
                continue
            date = item.due.date().isoformat() if item.due else ""
            key = {
                Operation.CHECKOUT: "receipt.borrowed",
                Operation.CHECKIN: "receipt.returned",
                Operation.RENEW: "receipt.renewed",
            }[item.operation]
            lines.append(Text.of(key, title=item.title or item.item_id, item=item.item_id, date=date))
        return PrintReceipt(
            language=self.language,
            heading=Text("receipt.print_heading"),
            lines=tuple(lines),
        )

    def _on_Tick(self, event: Tick, out: list[Command]) -> None:
        now = event.now
        if self.mode is Mode.GOODBYE:
            if now - self.mode_entered >= self.policy.goodbye_time:
                self._end(now, out)
            return
        if self.mode is Mode.WELCOME or self.busy:
            return
        idle = now - self.last_activity
        if idle >= self.policy.idle_timeout:
            self._end(now, out)
            self.message = Text("welcome.timed_out")
        elif idle >= self.policy.idle_timeout - self.policy.idle_warning:
            self.idle_warning = True

    def _end(self, now: datetime, out: list[Command]) -> None:
        """Forget the patron (rule 7, privacy) and go back to the welcome screen."""
        if self.account is not None:
            out.append(EndPatronSession(self.account.patron_id))
        self.stale_uids = {tag.uid for tag in self.pad}
        self.account = None
        self.pin = None
        self.card_id = ""
        self.intent = None
        self.items = {}
        self.pin_attempts = 0
        self.language = self.policy.language
        self._enter(Mode.WELCOME, now)
        self.last_activity = now

    def _enter(self, mode: Mode, now: datetime) -> None:
        self.mode = mode
        self.mode_entered = now
        self.idle_warning = False
        self.message = None

    def set_offline(self, offline: bool) -> list[Command]:
        """The station's view of the service; shown discreetly."""
        self.offline = offline
        commands: list[Command] = []
        if offline:
            for item in self.items.values():
                if item.stage is Stage.FAILED and item.not_sent:
                    self._redo_offline(item, commands)
        screen = self.screen()
        if screen != self._shown:
            self._shown = screen
            commands.append(Show(screen))
        return commands


__all__ = [
    "AFI_IN_LIBRARY",
    "AFI_ON_LOAN",
    "Command",
    "Event",
    "PadTag",
    "PatronSession",
    "SessionPolicy",
    "TagKind",
]
