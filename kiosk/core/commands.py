"""What comes out of the patron session: commands for the station (`kiosk.station`) to carry out.

`Unexpected` is the session's observation: a result it could not take where it stood (a late reply for
an item the session has forgotten, a second answer for the same item). It changes nothing; the station
logs it. Patron input a mode does not take is not observed: it is a listed no-op (`kiosk.core.tables`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from kiosk.core.cards import CardRecord
from kiosk.core.screens import Screen, Text
from kiosk.core.tables import Mode, Stage
from server_api.circulation import Route


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
    """What the station remembers of a card changed (the library system accepted it, said it may not
    borrow, or a PIN was wrong): `record` under `card_key`, the card's pseudonym (`kiosk.core.cards`).
    `card_id` and `blocked` are for a journal that still keeps card numbers; never logged."""

    card_id: str = field(repr=False)
    blocked: bool
    card_key: str = ""
    record: CardRecord = field(default_factory=CardRecord)


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
class EmailReceipt:
    """The receipt by e-mail: the gateway looks up the address of `patron_id`'s card and sends it."""

    patron_id: str
    receipt: PrintReceipt


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


@dataclass(frozen=True)
class Unexpected:
    """A result the session could not take where it stood; nothing changed. For the station's log.

    Names the event, the mode and, for an item, its id and stage (None: the session has no such item);
    never a patron or a PIN."""

    event: str  # the event's type name, e.g. "CheckoutDone"
    mode: Mode
    item_id: str = ""
    stage: Stage | None = None


Command = (
    Show
    | Authenticate
    | Checkout
    | Checkin
    | Renew
    | WriteSecurity
    | PrintReceipt
    | EmailReceipt
    | PrintStaffSlip
    | EndPatronSession
    | Speak
    | RememberCard
    | Unexpected
)
