"""What a screen offers and asks, as it stands: the buttons of `kiosk.core.tables.SCREENS` less those that
cannot work here (Borrow for a patron who may not borrow, Renew all offline or with nothing on loan, a
receipt the printer cannot print, an e-mail receipt with no address to go to), and an instruction that
matches what happened (after a return with rows for the hold or transit box, never "take what lies on
the pad")."""

from __future__ import annotations

from collections.abc import Iterable

from kiosk.core.events import Operation
from kiosk.core.screens import Action, Text
from kiosk.core.stack import ItemProgress
from kiosk.core.tables import Mode, ModeScreen, Stage
from server_api.circulation import PatronAccount, masked_email


def offered_actions(
    mode: Mode,
    spec: ModeScreen,
    account: PatronAccount | None,
    offline: bool,
    printer_can_print: bool,
    email_receipts: bool = False,
) -> tuple[Action, ...]:
    hidden: set[Action] = set()
    if spec.borrowers_only and not (account and account.may_borrow):
        hidden.add(
            Action.BORROW
        )  # borrowing needs an identified patron who may borrow; returning needs neither
    if mode is Mode.ACCOUNT and (offline or account is None or not account.loans):
        hidden.add(Action.RENEW_ALL)  # renewals wait for the network (rule 10); nothing to renew
    if mode is Mode.RECEIPT and not printer_can_print:
        hidden.add(Action.PRINT_RECEIPT)  # rule 11: no button that cannot work
    if mode is Mode.RECEIPT and not email_address_shown(account, offline, email_receipts):
        hidden.add(Action.EMAIL_RECEIPT)  # rule 11: only with an address, online, where the library sends
    return tuple(a for a in spec.actions if a not in hidden)


def email_address_shown(account: PatronAccount | None, offline: bool, email_receipts: bool) -> str:
    """The masked address an e-mail receipt would go to ("": none is offered). Offline there is none: the
    gateway sends it, and a receipt queued until the network is back would arrive when the patron no
    longer waits for it, and would keep the visit on the kiosk meanwhile."""
    if not email_receipts or offline or account is None:
        return ""
    return masked_email(account.email)


def receipt_instruction(items: Iterable[ItemProgress]) -> Text:
    """What to do with the items, from what this session did with them."""
    done = {(i.operation, i.stage is Stage.DONE) for i in items if i.stage is not Stage.UNREADABLE}
    lent = (Operation.CHECKOUT, True) in done
    returned = any(op is Operation.CHECKIN for op, _ in done)
    if lent and returned:
        return Text("receipt.after_loans_and_returns")
    if returned:
        return Text("receipt.after_returns")  # each row says where its item goes
    if (Operation.CHECKOUT, False) in done:
        return Text("receipt.after_loans_not_all")
    if lent:
        return Text("receipt.instruction")  # take what lies on the pad: all of it is lent to you
    return Text("receipt.after_renewals")
