"""Holds (15) of the demo library system."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from server_api.sip2.messages import (
    HoldRequest,
    HoldResponse,
)

from .base import (
    IlsBase,
    Session,
)
from .data import iso


class HoldRules(IlsBase):
    """The demo's rules for holds."""

    def _hold_target(self, msg: HoldRequest) -> sqlite3.Row | None:
        """The item a hold is for: AB, else the first copy of the title AJ (preferring one on loan)."""
        if msg.item_identifier:
            return self.item_row(msg.item_identifier)
        if msg.title_identifier:
            return self._one(
                "SELECT * FROM items WHERE title = ? AND for_loan = 1 ORDER BY status = 'available', item_id",
                msg.title_identifier,
            )
        return None

    def hold(self, msg: HoldRequest, session: Session) -> HoldResponse:
        now = self.now()
        patron = self.patron_row(msg.patron_identifier)
        item = self._hold_target(msg)
        pickup = msg.pickup_location or session.branch

        def answer(ok: bool, text: str, **fields: object) -> HoldResponse:
            return HoldResponse(
                ok=ok,
                transaction_date=now,
                institution_id=session.branch,
                patron_identifier=msg.patron_identifier,
                item_identifier=item["item_id"] if item else msg.item_identifier,
                title_identifier=item["title"] if item else msg.title_identifier,
                screen_message=(text,),
                **fields,  # type: ignore[arg-type]
            )

        if patron is None:
            return answer(False, "Ukjent låner. Kontakt personalet.")
        if msg.patron_password is not None and msg.patron_password != patron["pin"]:
            return answer(False, "Feil PIN-kode.")
        if item is None:
            return answer(False, "Ukjent eksemplar eller tittel.")
        if msg.hold_mode not in ("+", "-", "*"):
            return answer(False, f"Ukjent reserveringsmåte {msg.hold_mode!r}.")
        return self._change(msg, session, patron, item, pickup, answer)

    def _change(
        self,
        msg: HoldRequest,
        session: Session,
        patron: sqlite3.Row,
        item: sqlite3.Row,
        pickup: str,
        answer: Callable[..., HoldResponse],
    ) -> HoldResponse:
        """Cancel ('-'), change the pickup of ('*') or place ('+') the patron's hold on the item."""
        at = msg.transaction_date or self.now()
        mine = self._one(
            "SELECT * FROM holds WHERE item_id = ? AND patron = ? AND status IN ('waiting', 'ready')",
            item["item_id"],
            patron["card"],
        )
        if msg.hold_mode == "-":
            if mine is None:
                return answer(False, "Du har ingen reservering på dette eksemplaret.")
            self.db.execute("UPDATE holds SET status = 'cancelled' WHERE id = ?", (mine["id"],))
            self._event("hold_cancel", item["item_id"], patron["card"], session.branch, at, False)
            return answer(True, "Reserveringen er slettet.")
        if self._one("SELECT 1 FROM libraries WHERE number = ?", pickup) is None:
            return answer(False, f"Ukjent hentested {pickup}.")
        if msg.hold_mode == "*":
            if mine is None:
                return answer(False, "Du har ingen reservering på dette eksemplaret.")
            self.db.execute("UPDATE holds SET pickup = ? WHERE id = ?", (pickup, mine["id"]))
            self._event("hold_change", item["item_id"], patron["card"], session.branch, at, False)
            return answer(True, f"Hentested endret til {self.library_name(pickup)}.", pickup_location=pickup)
        return self._place(msg, session, patron, item, mine, pickup, answer)

    def _place(
        self,
        msg: HoldRequest,
        session: Session,
        patron: sqlite3.Row,
        item: sqlite3.Row,
        mine: sqlite3.Row | None,
        pickup: str,
        answer: Callable[..., HoldResponse],
    ) -> HoldResponse:
        """Place a new hold (mode '+')."""
        at = msg.transaction_date or self.now()
        if patron["blocked"]:
            return answer(False, f"{patron['blocked']}. Kan ikke reservere.")
        if not item["for_loan"]:
            return answer(False, "Eksemplaret er ikke til utlån og kan ikke reserveres.")
        if mine is not None:
            return answer(False, "Du har allerede reservert dette eksemplaret.")
        loan = self.loan_row(item["item_id"])
        if loan is not None and loan["patron"] == patron["card"]:
            return answer(False, "Du har allerede lånt dette eksemplaret.")
        self.db.execute(
            "INSERT INTO holds (item_id, patron, pickup, placed_at, status) VALUES (?,?,?,?, 'waiting')",
            (item["item_id"], patron["card"], pickup, iso(at)),
        )
        self._event("hold", item["item_id"], patron["card"], session.branch, at, False)
        position = len([h for h in self.open_holds(item["item_id"]) if h["status"] == "waiting"])
        available = item["status"] == "available" and loan is None
        return answer(
            True,
            f"Reservert. Du er nummer {position} i køen. Hentested: {self.library_name(pickup)}.",
            available=available,
            queue_position=str(position),
            pickup_location=pickup,
        )
