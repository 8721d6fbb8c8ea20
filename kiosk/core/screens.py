"""What the patron sees, as data.

The session decides *what* is on the screen; `ui/` only decides how it looks. Text is carried as
message keys with parameters (`Text`), translated by `kiosk.i18n` in the patron's language, so the same
screen can be spoken, printed or rendered in any language without the UI knowing a rule.

Privacy: nothing here may name another patron (a hold's owner goes on the staff slip, never on screen).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class ScreenName(enum.StrEnum):
    WELCOME = "welcome"
    IDENTIFY = "identify"  # waiting for a card (scan or place on pad)
    PIN = "pin"
    BUSY = "busy"  # talking to the library system
    MENU = "menu"  # identified: borrow / return / account / finish
    BORROW = "borrow"
    RETURN = "return"
    ACCOUNT = "account"
    RECEIPT = "receipt"  # print a receipt or not
    GOODBYE = "goodbye"
    OUT_OF_ORDER = "out_of_order"
    STARTING = "starting"  # the window is open, the station not yet started: nothing is accepted


class Action(enum.StrEnum):
    """Buttons the patron can press. The UI shows those listed in `Screen.actions`, in that order."""

    BORROW = "borrow"
    RETURN = "return"
    ACCOUNT = "account"
    RENEW_ALL = "renew_all"
    RENEW = "renew"  # one loan: a row's own button (`ItemRow.actions`), pressed with the row's item id
    FINISH = "finish"
    CANCEL = "cancel"
    PRINT_RECEIPT = "print_receipt"
    EMAIL_RECEIPT = "email_receipt"  # through the gateway, to the address the library system has
    NO_RECEIPT = "no_receipt"
    MORE_TIME = "more_time"  # answer to the idle warning
    BACK = "back"


@dataclass(frozen=True)
class Text:
    """A message key and its parameters, e.g. Text("row.due", {"date": "2026-12-13"})."""

    key: str
    params: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, key: str, **params: object) -> Text:
        return cls(key, tuple((k, str(v)) for k, v in sorted(params.items())))

    def kwargs(self) -> dict[str, str]:
        return dict(self.params)


class RowState(enum.StrEnum):
    WORKING = "working"  # sent, waiting for the library system or the security write
    DONE = "done"  # borrowed / returned / renewed, security set
    REFUSED = "refused"  # the library system said no; the row says why
    ATTENTION = "attention"  # something the patron must act on (put back, missing part, see staff)
    ON_LOAN = "on_loan"  # the account screen: a loan, nothing done to it in this session


@dataclass(frozen=True)
class ItemRow:
    item_id: str
    title: str
    state: RowState
    text: Text  # what happened, in words ("Due 13 December", "Put it on the hold shelf trolley", ...)
    due: datetime | None = None
    actions: tuple[Action, ...] = ()  # the row's own buttons (renew this loan), pressed with `item_id`


@dataclass(frozen=True)
class Screen:
    name: ScreenName
    language: str
    heading: Text
    message: Text | None = None  # instruction or error under the heading
    rows: tuple[ItemRow, ...] = ()
    actions: tuple[Action, ...] = ()
    patron_name: str = ""  # the identified patron's own name, shown as a greeting
    offline: bool = False
    idle_warning: bool = False  # "Do you need more time?" overlay
    details: tuple[Text, ...] = field(default=())  # account screen lines, blocks, fees


# ---------------------------------------------------------------- before the station has started

# The window opens while the station starts (the journal checked, what the last run left recovered): the
# patron sees "One moment" in the station's language, with no button; what is touched, typed or placed
# reaches no session until the station's own screen (welcome) replaces it (ui.starting).


def starting_screen(language: str) -> Screen:
    """Shown from the window's first frame until the station has started."""
    return Screen(name=ScreenName.STARTING, language=language, heading=Text("busy.heading"))


def not_started_screen(language: str) -> Screen:
    """The station could not start: out of order, ask the staff (the service restarts it; the log says
    why, `kiosk doctor` what to do)."""
    return Screen(
        name=ScreenName.OUT_OF_ORDER,
        language=language,
        heading=Text("out_of_order.heading"),
        message=Text("out_of_order.instruction"),
    )
