"""The account screen: one row per loan (overdue marked, its own renew button), the holds ready and where
to pick them up, fees (or that there are none), blocks; and the account kept up to date from the
outcomes of this session, so the loan list shows what the library system answered (new due dates after
a renewal, a new loan, a returned one gone).
"""

from __future__ import annotations

from dataclasses import replace

from kiosk.core.screens import ItemRow, RowState, Text
from kiosk.core.stack import ItemProgress, renewal_key
from kiosk.core.tables import IN_FLIGHT, SCREENS, Mode, Stage
from server_api.circulation import CheckinOutcome, CheckoutOutcome, Loan, PatronAccount, RenewOutcome

Outcome = CheckoutOutcome | CheckinOutcome | RenewOutcome


def _date(loan: Loan) -> str:
    return loan.due.date().isoformat() if loan.due else ""


def _loan_row(loan: Loan, renewal: ItemProgress | None, offline: bool) -> ItemRow:
    """A loan as it stands: the renewal's row once one was asked for, else its due date."""
    may_renew = not offline and (renewal is None or renewal.stage is Stage.FAILED)
    actions = SCREENS[Mode.ACCOUNT].row_actions if may_renew else ()
    if renewal is not None and renewal.stage is not Stage.FAILED:
        row = renewal.row()
        due = loan.due if renewal.stage in IN_FLIGHT or renewal.due is None else renewal.due
        return replace(row, title=row.title or loan.title, due=due, actions=actions)
    if loan.overdue:
        state, text = RowState.ATTENTION, Text.of("account.overdue", date=_date(loan))
    else:
        state, text = RowState.ON_LOAN, Text.of("account.due", date=_date(loan))
    if renewal is not None:  # the renewal did not get through: say so, and offer it again
        state, text = RowState.ATTENTION, renewal.text
    return ItemRow(loan.item_id, loan.title, state, text, loan.due, actions)


def loan_rows(
    account: PatronAccount | None, items: dict[str, ItemProgress], offline: bool
) -> tuple[ItemRow, ...]:
    if account is None:
        return ()
    return tuple(_loan_row(loan, items.get(renewal_key(loan.item_id)), offline) for loan in account.loans)


def account_lines(account: PatronAccount | None, offline: bool = False) -> tuple[Text, ...]:
    """The account screen's lines above the loans: how many, holds ready (and where), fees, blocks."""
    if account is None:
        return ()
    if offline:
        # Rule 10: the station cannot see the account offline; say what can and cannot be done.
        return (Text("account.offline"),)
    lines = [Text.of("account.loans", count=len(account.loans))]
    lines += [
        Text.of("account.hold_ready_at", title=h.title or h.item_id, library=h.pickup_library)
        if h.pickup_library
        else Text.of("account.hold_ready", title=h.title or h.item_id)
        for h in account.holds_ready
    ]
    if account.fees and _owes(account.fees):
        lines.append(Text.of("account.fees", amount=account.fees, currency=account.currency))
    else:
        lines.append(Text("account.no_fees"))
    lines += [Text.of("account.block", block=block) for block in account.blocks]
    return tuple(lines)


def _owes(fees: str) -> bool:
    try:
        return float(fees.replace(",", ".")) != 0
    except ValueError:
        return True  # not a number we can read: show it as the library system wrote it


def with_outcome(account: PatronAccount | None, outcome: Outcome) -> PatronAccount | None:
    """The account after an accepted loan, return or renewal of this session."""
    if account is None or not outcome.ok:
        return account
    others = tuple(loan for loan in account.loans if loan.item_id != outcome.item_id)
    if isinstance(outcome, CheckinOutcome):
        return replace(account, loans=others)
    old = next((loan for loan in account.loans if loan.item_id == outcome.item_id), None)
    loan = Loan(outcome.item_id, outcome.title or (old.title if old else ""), outcome.due)
    if old is not None:  # renewed: in its place in the list
        return replace(account, loans=tuple(loan if x is old else x for x in account.loans))
    return replace(account, loans=(*account.loans, loan))
