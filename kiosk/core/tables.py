"""The session's state tables, as data (in the manner of h11's `_state.py`).

Two machines: the session's **mode** (which screen the patron is on) and each item's **stage** (where one
item of the stack is). Every change of either is looked up here; a change not listed raises
`IllegalTransition` (a bug in the session, never the patron's or the library system's fault).

What a mode cannot take is never a silent `return`:
- patron input a mode does not take is a *listed no-op* (`NO_OPS`, `STALE_PRESS`, `NO_OP_PRESSES`): a
  stale button press, a card shown during a session, a PIN typed for a screen that is gone;
- a *result* (an answer to a command) that arrives where the session cannot take it (`PATRON_RESULT_MODES`,
  `RESULT_STAGES`) comes out as an `Unexpected` command, which the station logs.

Modes (buttons in `PRESSES`, everything else in `HAPPENINGS`):

    WELCOME --Borrow-----------------> IDENTIFY --card--> PIN --pin--> AUTHENTICATING --ok--> BORROW
    WELCOME --card on pad / scanned--> PIN --pin--> AUTHENTICATING --ok--> MENU
    WELCOME --Return-----------------> RETURN          (no card needed to return)
    MENU    --Borrow/Return/Account--> BORROW / RETURN / ACCOUNT
    BORROW, RETURN, ACCOUNT --Finish--> RECEIPT (--nothing done--> GOODBYE) --> GOODBYE --> WELCOME
    any mode but WELCOME --ended (cancel, idle timeout, too many PINs, goodbye over)--> WELCOME

Item stages (`ITEM_STEPS`); an item is born in one of `FIRST_STAGES`:

    WAITING_FOR_PARTS --all parts--> CIRCULATING --accepted--> SECURING --written--> DONE
    CIRCULATING --accepted, nothing to write / renewed--> DONE;  --refused--> REFUSED;  --failed--> FAILED
    SECURING --not written--> SECURITY_FAILED --back on pad--> SECURING;  --undo (policy UNDO)--> UNDOING
    UNDOING --undone--> REFUSED (not borrowed);  --undo refused / undo failed--> SECURITY_FAILED
    CIRCULATING, FAILED (never sent) --offline--> CIRCULATING (taken offline) or REFUSED (offline policy)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from kiosk.core.events import (
    CardPresented,
    CheckinDone,
    CheckoutDone,
    CirculationFailed,
    Operation,
    PatronLoaded,
    PinEntered,
    ReceiptPrinted,
    RenewDone,
    SecurityWritten,
)
from kiosk.core.screens import Action, ScreenName, Text


class IllegalTransition(Exception):
    """The session tried a change its tables do not list (like h11's LocalProtocolError): a bug."""


# ---------------------------------------------------------------- modes


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


class Happening(enum.StrEnum):
    """What changes the mode, other than a button."""

    CARD_READ = "card_read"  # online, the policy asks for a PIN
    CHECKING = "checking"  # card (and PIN) sent to the library system
    KNOWN = "known"  # identified (or taken offline): the menu
    KNOWN_TO_BORROW = "known_to_borrow"  # identified after pressing Borrow, and may borrow
    CARD_UNKNOWN = "card_unknown"
    PIN_WRONG = "pin_wrong"  # attempts left
    NOT_REACHED = "not_reached"  # the library system did not answer; the card came at the welcome screen
    NOT_REACHED_TO_BORROW = "not_reached_to_borrow"  # ... after pressing Borrow: the identify screen
    NOTHING_TO_PRINT = "nothing_to_print"  # Finish with nothing done: no receipt to offer
    ENDED = "ended"  # cancel, idle timeout, too many PINs, goodbye over: the patron is forgotten


@dataclass(frozen=True)
class ModeScreen:
    """What the patron sees in one mode: the one place that says what each screen offers."""

    screen: ScreenName
    actions: tuple[Action, ...]  # in the order shown
    instruction: Text | None  # shown when there is no more urgent message
    rows: bool = False  # the stack's rows
    row_operations: frozenset[Operation] = frozenset(Operation)  # whose rows: a renewal is not a pad row
    greets_patron: bool = False  # the identified patron's own name
    details: bool = False  # the account: one row per loan (with its renew button), holds, fees, blocks
    borrowers_only: bool = False  # Borrow is offered only to an identified patron who may borrow
    row_actions: tuple[Action, ...] = ()  # buttons of a row (`ItemRow.actions`), pressed with its item id


PAD_OPERATIONS = frozenset({Operation.CHECKOUT, Operation.CHECKIN})

SCREENS: dict[Mode, ModeScreen] = {
    Mode.WELCOME: ModeScreen(ScreenName.WELCOME, (Action.BORROW, Action.RETURN), Text("welcome.instruction")),
    Mode.IDENTIFY: ModeScreen(ScreenName.IDENTIFY, (Action.CANCEL,), Text("identify.instruction")),
    Mode.PIN: ModeScreen(ScreenName.PIN, (Action.CANCEL,), Text("pin.instruction")),
    Mode.AUTHENTICATING: ModeScreen(ScreenName.BUSY, (), Text("busy.instruction")),
    Mode.MENU: ModeScreen(
        ScreenName.MENU,
        (Action.BORROW, Action.RETURN, Action.ACCOUNT, Action.FINISH),
        Text("menu.instruction"),
        greets_patron=True,
        borrowers_only=True,
    ),
    Mode.BORROW: ModeScreen(
        ScreenName.BORROW,
        (Action.RETURN, Action.FINISH),
        Text("borrow.instruction"),
        rows=True,
        row_operations=PAD_OPERATIONS,
        greets_patron=True,
    ),
    Mode.RETURN: ModeScreen(
        ScreenName.RETURN,
        (Action.BORROW, Action.FINISH),
        Text("return.instruction"),
        rows=True,
        row_operations=PAD_OPERATIONS,
        borrowers_only=True,
    ),
    Mode.ACCOUNT: ModeScreen(
        ScreenName.ACCOUNT,
        (Action.RENEW_ALL, Action.BACK, Action.FINISH),
        None,
        rows=True,
        greets_patron=True,
        details=True,
        row_actions=(Action.RENEW,),
    ),
    Mode.RECEIPT: ModeScreen(
        ScreenName.RECEIPT,
        (Action.PRINT_RECEIPT, Action.EMAIL_RECEIPT, Action.NO_RECEIPT),
        Text("receipt.instruction"),
        rows=True,
    ),
    Mode.GOODBYE: ModeScreen(ScreenName.GOODBYE, (), Text("goodbye.instruction")),
}

# (mode, button offered there) -> the next mode. `SCREENS` offers nothing that is not listed here.
PRESSES: dict[tuple[Mode, Action], Mode] = {
    (Mode.WELCOME, Action.BORROW): Mode.IDENTIFY,  # who is borrowing? (the intent is remembered)
    (Mode.WELCOME, Action.RETURN): Mode.RETURN,
    (Mode.IDENTIFY, Action.CANCEL): Mode.WELCOME,
    (Mode.PIN, Action.CANCEL): Mode.WELCOME,
    (Mode.MENU, Action.BORROW): Mode.BORROW,
    (Mode.MENU, Action.RETURN): Mode.RETURN,
    (Mode.MENU, Action.ACCOUNT): Mode.ACCOUNT,
    (Mode.MENU, Action.FINISH): Mode.RECEIPT,
    (Mode.BORROW, Action.RETURN): Mode.RETURN,
    (Mode.BORROW, Action.FINISH): Mode.RECEIPT,
    (Mode.RETURN, Action.BORROW): Mode.BORROW,
    (Mode.RETURN, Action.FINISH): Mode.RECEIPT,
    (Mode.ACCOUNT, Action.RENEW_ALL): Mode.ACCOUNT,  # the renewals appear in the loans' rows
    (Mode.ACCOUNT, Action.RENEW): Mode.ACCOUNT,  # one loan's own button
    (Mode.ACCOUNT, Action.BACK): Mode.MENU,
    (Mode.ACCOUNT, Action.FINISH): Mode.RECEIPT,
    (Mode.RECEIPT, Action.PRINT_RECEIPT): Mode.GOODBYE,
    (Mode.RECEIPT, Action.EMAIL_RECEIPT): Mode.GOODBYE,
    (Mode.RECEIPT, Action.NO_RECEIPT): Mode.GOODBYE,
}

# Presses that change no mode anywhere, and presses of a button the screen does not offer.
NO_OP_PRESSES: dict[Action, str] = {
    Action.MORE_TIME: "answers the idle warning: the touch itself restarts the patron's time",
}
STALE_PRESS = "a button the screen on show does not offer: left over from a screen that is gone"
NOT_OFFERED_LANGUAGE = (
    "a language the station does not offer (SessionPolicy.languages): the screen stays as it is"
)

_NOT_WELCOME = tuple(mode for mode in Mode if mode is not Mode.WELCOME)

HAPPENINGS: dict[tuple[Mode, Happening], Mode] = {
    (Mode.WELCOME, Happening.CARD_READ): Mode.PIN,
    (Mode.IDENTIFY, Happening.CARD_READ): Mode.PIN,
    (Mode.WELCOME, Happening.CHECKING): Mode.AUTHENTICATING,  # no PIN required
    (Mode.IDENTIFY, Happening.CHECKING): Mode.AUTHENTICATING,
    (Mode.PIN, Happening.CHECKING): Mode.AUTHENTICATING,
    (Mode.AUTHENTICATING, Happening.KNOWN): Mode.MENU,
    (Mode.AUTHENTICATING, Happening.KNOWN_TO_BORROW): Mode.BORROW,
    (Mode.WELCOME, Happening.KNOWN): Mode.MENU,  # offline: the card alone (rule 10)
    (Mode.IDENTIFY, Happening.KNOWN): Mode.MENU,
    (Mode.IDENTIFY, Happening.KNOWN_TO_BORROW): Mode.BORROW,
    (Mode.AUTHENTICATING, Happening.CARD_UNKNOWN): Mode.IDENTIFY,
    (Mode.AUTHENTICATING, Happening.PIN_WRONG): Mode.PIN,
    (Mode.AUTHENTICATING, Happening.NOT_REACHED): Mode.WELCOME,
    (Mode.AUTHENTICATING, Happening.NOT_REACHED_TO_BORROW): Mode.IDENTIFY,
    (Mode.RECEIPT, Happening.NOTHING_TO_PRINT): Mode.GOODBYE,
    **{(mode, Happening.ENDED): Mode.WELCOME for mode in _NOT_WELCOME},
}

# Patron input that a mode does not take, and why doing nothing is right there. Input not listed is
# taken in every mode (Tick, OfflineChanged, LanguageChosen, TagsChanged; Pressed: see PRESSES).
_NOT_TAKEN: dict[type, tuple[frozenset[Mode], str]] = {
    CardPresented: (
        frozenset(Mode) - {Mode.WELCOME, Mode.IDENTIFY},
        "a card shown during a session is the same patron's, or a mistake",
    ),
    PinEntered: (frozenset(Mode) - {Mode.PIN}, "a PIN typed for a screen that is gone (OK pressed twice)"),
    ReceiptPrinted: (
        frozenset(Mode) - {Mode.GOODBYE},
        "the patron has left the goodbye screen: the station reports the printer to staff",
    ),
}
NO_OPS: dict[tuple[type, Mode], str] = {
    (kind, mode): reason for kind, (modes, reason) in _NOT_TAKEN.items() for mode in modes
}

# Where a patron look-up's answer is taken; anywhere else it is `Unexpected`.
PATRON_RESULT_MODES: dict[type, frozenset[Mode]] = {
    PatronLoaded: frozenset({Mode.AUTHENTICATING}),
    CirculationFailed: frozenset({Mode.AUTHENTICATING}),  # operation PATRON
}


# ---------------------------------------------------------------- item stages


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


class ItemStep(enum.StrEnum):
    ALL_PARTS = "all_parts"
    ACCEPTED = "accepted"  # lent or returned: the security write is asked for
    ACCEPTED_NOTHING_TO_WRITE = "accepted_nothing_to_write"  # the ILS said leave the security alone
    RENEWED = "renewed"
    REFUSED = "refused"
    FAILED = "failed"
    WRITTEN = "written"
    NOT_WRITTEN = "not_written"
    BACK_ON_PAD = "back_on_pad"  # after a failed write: try again
    UNDO = "undo"
    UNDONE = "undone"
    UNDO_REFUSED = "undo_refused"
    UNDO_FAILED = "undo_failed"
    TAKEN_OFFLINE = "taken_offline"
    REFUSED_OFFLINE = "refused_offline"


# Pad items wait for their parts; a renewal is sent at once; an unreadable tag stays unreadable.
FIRST_STAGES = frozenset({Stage.WAITING_FOR_PARTS, Stage.CIRCULATING, Stage.UNREADABLE})

ITEM_STEPS: dict[tuple[Stage, ItemStep], Stage] = {
    (Stage.WAITING_FOR_PARTS, ItemStep.ALL_PARTS): Stage.CIRCULATING,
    (Stage.CIRCULATING, ItemStep.ACCEPTED): Stage.SECURING,
    (Stage.CIRCULATING, ItemStep.ACCEPTED_NOTHING_TO_WRITE): Stage.DONE,
    (Stage.CIRCULATING, ItemStep.RENEWED): Stage.DONE,
    (Stage.CIRCULATING, ItemStep.REFUSED): Stage.REFUSED,
    (Stage.CIRCULATING, ItemStep.FAILED): Stage.FAILED,
    (Stage.SECURING, ItemStep.WRITTEN): Stage.DONE,
    (Stage.SECURING, ItemStep.NOT_WRITTEN): Stage.SECURITY_FAILED,
    (Stage.SECURITY_FAILED, ItemStep.BACK_ON_PAD): Stage.SECURING,
    (Stage.SECURITY_FAILED, ItemStep.UNDO): Stage.UNDOING,
    (Stage.UNDOING, ItemStep.UNDONE): Stage.REFUSED,  # rule 4, UNDO: not borrowed
    (Stage.UNDOING, ItemStep.UNDO_REFUSED): Stage.SECURITY_FAILED,  # the loan stays, flagged
    (Stage.UNDOING, ItemStep.UNDO_FAILED): Stage.SECURITY_FAILED,
    (Stage.CIRCULATING, ItemStep.TAKEN_OFFLINE): Stage.CIRCULATING,  # a fresh item, sent offline
    (Stage.FAILED, ItemStep.TAKEN_OFFLINE): Stage.CIRCULATING,  # never sent: redone offline (rule 10)
    (Stage.CIRCULATING, ItemStep.REFUSED_OFFLINE): Stage.REFUSED,
    (Stage.FAILED, ItemStep.REFUSED_OFFLINE): Stage.REFUSED,
}

# Which stages take each result about an item; anywhere else (or for an item the session does not
# have) it is `Unexpected`.
RESULT_STAGES: dict[type, frozenset[Stage]] = {
    CheckoutDone: frozenset({Stage.CIRCULATING}),
    CheckinDone: frozenset({Stage.CIRCULATING, Stage.UNDOING}),
    RenewDone: frozenset({Stage.CIRCULATING}),
    SecurityWritten: frozenset({Stage.SECURING}),
    CirculationFailed: frozenset({Stage.CIRCULATING, Stage.UNDOING}),
}

IN_FLIGHT = frozenset({Stage.CIRCULATING, Stage.SECURING, Stage.UNDOING})


def next_mode(mode: Mode, step: Action | Happening) -> Mode:
    """The mode after `step` in `mode`, from `PRESSES` or `HAPPENINGS`; raises `IllegalTransition`."""
    target = PRESSES.get((mode, step)) if isinstance(step, Action) else HAPPENINGS.get((mode, step))
    if target is None:
        raise IllegalTransition(f"mode {mode.value}: {type(step).__name__} {step.value} is not in the table")
    return target


def next_stage(stage: Stage, step: ItemStep) -> Stage:
    """The item stage after `step`, from `ITEM_STEPS`; raises `IllegalTransition`."""
    target = ITEM_STEPS.get((stage, step))
    if target is None:
        raise IllegalTransition(f"item stage {stage.value}: {step.value} is not in the table")
    return target
