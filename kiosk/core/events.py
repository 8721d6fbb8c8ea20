"""What goes into the patron session: what the pad holds, and the events the station feeds it.

Every event carries `now`: the session reads no clock. Patron input (`Pressed`, `CardPresented`,
`PinEntered`, `LanguageChosen`, `TagsChanged`) comes from the UI and the pad; results (`PatronLoaded`,
`CheckoutDone`, ...) answer a command the session gave; `Tick` and `OfflineChanged` come from the shell.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from kiosk.core.cards import CardSource
from kiosk.core.screens import Action
from server_api.circulation import CheckinOutcome, CheckoutOutcome, PatronAccount, RenewOutcome

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


class Operation(enum.StrEnum):
    """What was asked of the library system. The journal records the last three (a patron look-up is
    never journalled)."""

    PATRON = "patron"
    CHECKOUT = "checkout"
    CHECKIN = "checkin"
    RENEW = "renew"


# ---------------------------------------------------------------- from the shell and the patron


@dataclass(frozen=True)
class Tick:
    now: datetime


@dataclass(frozen=True)
class OfflineChanged:
    """The station's view of the library system changed (its failure budget ran out, or a probe got an
    answer). Shown discreetly; going offline redoes what certainly never reached the library system."""

    offline: bool
    now: datetime


@dataclass(frozen=True)
class Pressed:
    action: Action
    now: datetime
    item_id: str = ""  # for a row's own button (`ItemRow.actions`): which row


@dataclass(frozen=True)
class LanguageChosen:
    language: str
    now: datetime


@dataclass(frozen=True)
class CardPresented:
    """A card number from outside the pad. `source` says how it arrived (`kiosk.core.cards`): anything
    the UI received as keys is typing (`KEYPAD`), the default; a wedge scanner names its input `device`."""

    card_id: str
    now: datetime
    source: CardSource = CardSource.KEYPAD
    device: str = ""


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


# ---------------------------------------------------------------- results of commands


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
    emailed: bool = False  # the receipt went (or did not go) by e-mail, not to the printer


@dataclass(frozen=True)
class PrinterChanged:
    """The receipt printer can print again, or no longer can (paper out, cover open, no answer): the
    station polls it between sessions and learns it from every print."""

    can_print: bool
    now: datetime
    status: str = ""  # the printer's status word (paper_out, ...), for the log


Event = (
    Tick
    | OfflineChanged
    | PrinterChanged
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

# Answers from the library system or the pad: new information on the screen restarts the patron's
# reading time (a slow reply must not be followed by an instant timeout).
RESULTS = (PatronLoaded, CheckoutDone, CheckinDone, RenewDone, CirculationFailed, SecurityWritten)
