"""The stack on the pad: one `ItemProgress` per item, moved through `kiosk.core.tables.ITEM_STEPS`.

Borrowing (checkout, then the security write; rule 4's FLAG or UNDO when the write fails), returning
(checkin, staff slip, security; rules 5 and 6), renewing, and the offline policy for each (rule 10).
A result for an item that is not in a stage that takes it comes out as `Unexpected`, never dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kiosk.core.commands import (
    Checkin,
    Checkout,
    Command,
    PrintReceipt,
    PrintStaffSlip,
    Renew,
    Unexpected,
    WriteSecurity,
)
from kiosk.core.events import (
    AFI_IN_LIBRARY,
    AFI_ON_LOAN,
    CheckinDone,
    CheckoutDone,
    CirculationFailed,
    Operation,
    PadTag,
    RenewDone,
    SecurityWritten,
    TagKind,
)
from kiosk.core.policy import SecurityFailurePolicy, SessionPolicy
from kiosk.core.screens import ItemRow, RowState, Text
from kiosk.core.tables import IN_FLIGHT, RESULT_STAGES, ItemStep, Mode, Stage, next_stage
from server_api.circulation import PatronAccount, Route, RouteKind, SecurityAction

ItemResult = CheckoutDone | CheckinDone | RenewDone | SecurityWritten | CirculationFailed

_ROW_STATES = {
    Stage.DONE: RowState.DONE,
    Stage.REFUSED: RowState.REFUSED,
    Stage.CIRCULATING: RowState.WORKING,
    Stage.SECURING: RowState.WORKING,
}
_RECEIPT_KEYS = {
    Operation.CHECKOUT: "receipt.borrowed",
    Operation.CHECKIN: "receipt.returned",
    Operation.RENEW: "receipt.renewed",
}


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
        return ItemRow(
            self.item_id, self.title, _ROW_STATES.get(self.stage, RowState.ATTENTION), self.text, self.due
        )

    def move(self, step: ItemStep) -> None:
        self.stage = next_stage(self.stage, step)


@dataclass(frozen=True)
class Lending:
    """What the stack needs to know of the session around it when an event arrives."""

    mode: Mode
    offline: bool
    now: datetime
    patron: PatronAccount | None
    pin: str | None  # None offline, or when the policy asks for no PIN


def done_text(item: ItemProgress) -> Text:
    if item.operation is Operation.CHECKIN:
        if item.offline:
            return Text("route.offline")  # the library system routes it after the sync
        route = item.route or Route(RouteKind.RESHELVE)
        # Patron-facing routing names a library at most, never a person (rule 6).
        return Text.of(f"route.{route.kind.value}", library=route.destination_name)
    date = item.due.date().isoformat() if item.due else ""
    return Text.of("row.renewed" if item.operation is Operation.RENEW else "row.borrowed", date=date)


def renewal_key(item_id: str) -> str:
    """A renewal's place in the stack: apart from the pad's items, so an item renewed on the account
    screen can still be placed on the pad to be borrowed or returned."""
    return f"renew:{item_id}"


def _key(event: ItemResult, item_id: str) -> str:
    renewing = isinstance(event, RenewDone) or (
        isinstance(event, CirculationFailed) and event.operation is Operation.RENEW
    )
    return renewal_key(item_id) if renewing else item_id


def group_items(tags: Iterable[PadTag]) -> dict[str, list[PadTag]]:
    items: dict[str, list[PadTag]] = {}
    for tag in tags:
        if tag.kind is TagKind.ITEM:
            items.setdefault(tag.item_id, []).append(tag)
    return items


def missing_parts(parts: list[PadTag]) -> list[int]:
    expected = max(tag.parts_in_item for tag in parts)
    present = {tag.part_number for tag in parts}
    return [n for n in range(1, expected + 1) if n not in present]


def offline_due(now: datetime, loan_days: int) -> datetime:
    day = now + timedelta(days=loan_days)
    return day.replace(hour=23, minute=59, second=0, microsecond=0)


class Stack:
    def __init__(self, policy: SessionPolicy, offline_loans: dict[str, int]) -> None:
        self.policy = policy
        self.items: dict[str, ItemProgress] = {}
        self.offline_loans = offline_loans  # per patron, not yet confirmed by the library system

    @property
    def busy(self) -> bool:
        return any(item.stage in IN_FLIGHT for item in self.items.values())

    def any_done(self) -> bool:
        return any(item.stage is Stage.DONE for item in self.items.values())

    def rows(self, operations: frozenset[Operation] = frozenset(Operation)) -> tuple[ItemRow, ...]:
        return tuple(item.row() for item in self.items.values() if item.operation in operations)

    def take(self, fresh: list[PadTag], operation: Operation, ctx: Lending, out: list[Command]) -> None:
        """Start work on every complete item among `fresh` that this session has not handled yet."""
        for tag in fresh:
            key = f"unreadable:{tag.uid.hex()}"
            if tag.kind is TagKind.UNREADABLE and key not in self.items:
                self.items[key] = ItemProgress(
                    "", operation, (tag.uid,), stage=Stage.UNREADABLE, text=Text("row.unreadable")
                )
        for item_id, parts in group_items(fresh).items():
            progress = self.items.get(item_id)
            if progress is not None and progress.stage is Stage.SECURITY_FAILED:
                # Back on the pad: try the security write again (rule 4).
                progress.move(ItemStep.BACK_ON_PAD)
                progress.text = Text("row.securing")
                assert progress.security_afi is not None
                out.append(WriteSecurity(item_id, tuple(t.uid for t in parts), progress.security_afi))
                continue
            if progress is not None and progress.stage is not Stage.WAITING_FOR_PARTS:
                continue  # handled once per session: never lent or returned twice
            missing = missing_parts(parts)
            progress = ItemProgress(
                item_id, operation, tuple(sorted(t.uid for t in parts)), Stage.WAITING_FOR_PARTS
            )
            self.items[item_id] = progress  # afresh: the operation follows the screen the patron is on
            if missing:
                expected = max(t.parts_in_item for t in parts)
                progress.text = Text.of(
                    "row.missing_part", missing=", ".join(map(str, missing)), parts=expected
                )
                continue
            progress.move(ItemStep.ALL_PARTS)
            if ctx.offline:
                self._redo_offline(progress, ctx, out)
            elif operation is Operation.CHECKOUT:
                assert ctx.patron is not None
                out.append(Checkout(ctx.patron.patron_id, item_id, ctx.pin))
            else:
                out.append(Checkin(item_id))

    def _expect(
        self, event: ItemResult, item_id: str, ctx: Lending, out: list[Command]
    ) -> ItemProgress | None:
        """The item if its stage takes this result; otherwise the result is observed (`Unexpected`)."""
        item = self.items.get(_key(event, item_id))
        if item is not None and item.stage in RESULT_STAGES[type(event)]:
            return item
        out.append(Unexpected(type(event).__name__, ctx.mode, item_id, item.stage if item else None))
        return None

    def checkout_done(self, event: CheckoutDone, ctx: Lending, out: list[Command]) -> None:
        outcome = event.outcome
        item = self._expect(event, outcome.item_id, ctx, out)
        if item is None:
            return
        item.title = outcome.title or item.title
        if not outcome.ok:
            item.move(ItemStep.REFUSED)
            item.text = Text.of(f"refusal.{outcome.reason or 'other'}", ils=outcome.screen_message)
            return
        item.due = outcome.due
        if item.offline and ctx.patron is not None:
            patron = ctx.patron.patron_id
            self.offline_loans[patron] = self.offline_loans.get(patron, 0) + 1
        self._secure(item, outcome.security, AFI_ON_LOAN, out)

    def checkin_done(self, event: CheckinDone, ctx: Lending, out: list[Command]) -> None:
        outcome = event.outcome
        item = self._expect(event, outcome.item_id, ctx, out)
        if item is None:
            return
        if item.stage is Stage.UNDOING:
            # Rule 4, policy UNDO: the loan is gone (not borrowed); if the ILS refused, it stays flagged.
            item.move(ItemStep.UNDONE if outcome.ok else ItemStep.UNDO_REFUSED)
            item.text = Text.of("refusal.other", ils="") if outcome.ok else Text("row.security_failed")
            return
        item.title = outcome.title or item.title
        if not outcome.ok:
            # Rule 5: the AFI stays as it was; a person must look at it.
            item.move(ItemStep.REFUSED)
            item.text = Text.of("return.refused", ils=outcome.screen_message)
            return
        item.route = outcome.route
        if self.policy.print_staff_slips and outcome.route.kind in (RouteKind.HOLD_SHELF, RouteKind.TRANSIT):
            out.append(PrintStaffSlip(item.item_id, item.title, outcome.route))
        self._secure(item, outcome.security, AFI_IN_LIBRARY, out)

    def _secure(self, item: ItemProgress, action: SecurityAction, afi: int, out: list[Command]) -> None:
        if action is SecurityAction.LEAVE:
            item.move(ItemStep.ACCEPTED_NOTHING_TO_WRITE)
            item.text = done_text(item)
            return
        item.move(ItemStep.ACCEPTED)
        item.security_afi = afi
        item.text = Text("row.securing")
        out.append(WriteSecurity(item.item_id, item.uids, afi))

    def security_written(self, event: SecurityWritten, ctx: Lending, out: list[Command]) -> None:
        item = self._expect(event, event.item_id, ctx, out)
        if item is None:
            return
        if event.ok:
            item.move(ItemStep.WRITTEN)
            item.text = done_text(item)
            return
        item.move(ItemStep.NOT_WRITTEN)
        item.text = Text("row.security_failed")
        if (
            item.operation is Operation.CHECKOUT
            and self.policy.security_failure is SecurityFailurePolicy.UNDO
        ):
            item.move(ItemStep.UNDO)
            out.append(Checkin(item.item_id))

    def renew_done(self, event: RenewDone, ctx: Lending, out: list[Command]) -> None:
        outcome = event.outcome
        item = self._expect(event, outcome.item_id, ctx, out)
        if item is None:
            return
        item.title = outcome.title or item.title
        if outcome.ok:
            item.due = outcome.due
            item.move(ItemStep.RENEWED)
            item.text = done_text(item)
        else:
            item.move(ItemStep.REFUSED)
            item.text = Text.of("renew.refused", ils=outcome.screen_message)

    def failed(self, event: CirculationFailed, ctx: Lending, out: list[Command]) -> None:
        item = self._expect(event, event.item_id, ctx, out)
        if item is None:
            return
        if item.stage is Stage.UNDOING:
            item.move(ItemStep.UNDO_FAILED)  # the undo did not get through: the loan stays, flagged
            return
        item.move(ItemStep.FAILED)
        item.not_sent = not event.sent
        item.text = Text("row.service_error")
        if ctx.offline and item.not_sent:
            self._redo_offline(item, ctx, out)

    def went_offline(self, ctx: Lending, out: list[Command]) -> None:
        """Rule 10: what certainly never reached the library system is redone offline."""
        for item in self.items.values():
            if item.stage is Stage.FAILED and item.not_sent:
                self._redo_offline(item, ctx, out)

    def renew(self, ctx: Lending, out: list[Command], only: str = "") -> None:
        """Renew every loan of the patron's (Renew all), or `only` that one (its row's own button)."""
        assert ctx.patron is not None
        for loan in ctx.patron.loans:
            existing = self.items.get(renewal_key(loan.item_id))
            if (only and loan.item_id != only) or (existing is not None and existing.stage in IN_FLIGHT):
                continue
            progress = ItemProgress(loan.item_id, Operation.RENEW, title=loan.title, due=loan.due)
            self.items[renewal_key(loan.item_id)] = progress
            if ctx.offline:
                self._redo_offline(progress, ctx, out)
                continue
            out.append(Renew(ctx.patron.patron_id, loan.item_id))

    def _offline_refusal(self, ctx: Lending) -> Text | None:
        assert ctx.patron is not None
        limits = self.policy.offline
        in_session = sum(
            1
            for i in self.items.values()
            if i.offline
            and i.operation is Operation.CHECKOUT
            and i.stage not in (Stage.REFUSED, Stage.FAILED)
        )
        earlier = self.offline_loans.get(ctx.patron.patron_id, 0)
        if not limits.borrowing or not ctx.patron.may_borrow:
            return Text("refusal.offline_no_borrowing")
        if in_session >= limits.max_items_per_session or earlier + in_session >= limits.max_items_per_patron:
            return Text("refusal.offline_limit")
        return None

    def _redo_offline(self, item: ItemProgress, ctx: Lending, out: list[Command]) -> None:
        """Rule 10: handle an item under the offline policy (only if it never reached the ILS)."""
        item.not_sent = False
        if item.operation is Operation.RENEW:
            item.move(ItemStep.REFUSED_OFFLINE)
            item.text = Text("renew.offline")  # renewals wait for the network
            return
        refusal = self._offline_refusal(ctx) if item.operation is Operation.CHECKOUT else None
        if refusal is not None:
            item.move(ItemStep.REFUSED_OFFLINE)
            item.text = refusal
            return
        item.move(ItemStep.TAKEN_OFFLINE)
        item.offline, item.text = True, Text("row.working")
        if item.operation is Operation.CHECKIN:
            out.append(Checkin(item.item_id, offline=True))
            return
        assert ctx.patron is not None
        due = offline_due(ctx.now, self.policy.offline.loan_days)
        out.append(Checkout(ctx.patron.patron_id, item.item_id, None, offline=True, due=due))

    def receipt(self, language: str) -> PrintReceipt:
        lines = tuple(
            Text.of(
                _RECEIPT_KEYS[item.operation],
                title=item.title or item.item_id,
                item=item.item_id,
                date=item.due.date().isoformat() if item.due else "",
            )
            for item in self.items.values()
            if item.stage is Stage.DONE
        )
        return PrintReceipt(language=language, heading=Text("receipt.print_heading"), lines=lines)
