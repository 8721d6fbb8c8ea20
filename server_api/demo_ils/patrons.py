"""Patron status (23) and patron information (63) of the demo library system."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from server_api.sip2.messages import (
    PatronInformationRequest,
    PatronInformationResponse,
    PatronStatusRequest,
    PatronStatusResponse,
    patron_status_string,
)

from .base import (
    CHARGE_DENIED,
    CURRENCY,
    HOLD_DENIED,
    RENEWAL_DENIED,
    IlsBase,
    Session,
)
from .data import FEE_LIMIT, LOAN_LIMITS

# E-mail addresses (SIP2 BE) of some demo patrons, for e-mail receipts; the others have none.
PATRON_EMAILS = {
    "219000000001": "maret.anne.sara@example.org",
    "219000000002": "niillas.somby@example.org",
    "219010000002": "kari.nordmann@example.org",
}


class PatronRules(IlsBase):
    """The demo's rules for patrons."""

    def _pin_check(self, patron: sqlite3.Row | None, pin: str | None) -> str | None:
        if patron is None or pin is None:
            return None
        return "Y" if pin == patron["pin"] else "N"

    def patron_status(self, msg: PatronStatusRequest, session: Session) -> PatronStatusResponse:
        patron = self.patron_row(msg.patron_identifier)
        if patron is None:
            return PatronStatusResponse(
                patron_status=patron_status_string({CHARGE_DENIED, RENEWAL_DENIED, HOLD_DENIED}),
                transaction_date=self.now(),
                institution_id=session.branch,
                patron_identifier=msg.patron_identifier,
                valid_patron="N",
                screen_message=("Ukjent låner. Kontakt personalet.",),
            )
        return PatronStatusResponse(
            patron_status=patron_status_string(self._status_flags(patron)),
            language=patron["language"],
            transaction_date=self.now(),
            institution_id=session.branch,
            patron_identifier=patron["card"],
            personal_name=patron["name"],
            valid_patron="Y",
            valid_patron_password=self._pin_check(patron, msg.patron_password or None),
            currency_type=CURRENCY,
            fee_amount=patron["fees"],
            screen_message=self._patron_messages(patron),
        )

    def _patron_messages(self, patron: sqlite3.Row) -> tuple[str, ...]:
        lines = []
        if patron["blocked"]:
            lines.append(f"{patron['blocked']}. Kontakt personalet.")
        if float(patron["fees"]) > FEE_LIMIT:
            lines.append(
                f"Du har utestående gebyrer på {patron['fees'].replace('.', ',')} kr. Kontakt personalet."
            )
        return tuple(lines)

    def patron_information(
        self, msg: PatronInformationRequest, session: Session
    ) -> PatronInformationResponse:
        now = self.now()
        patron = self.patron_row(msg.patron_identifier)
        if patron is None:
            return PatronInformationResponse(
                patron_status=patron_status_string({CHARGE_DENIED, RENEWAL_DENIED, HOLD_DENIED}),
                transaction_date=now,
                institution_id=session.branch,
                patron_identifier=msg.patron_identifier,
                valid_patron="N",
                screen_message=("Ukjent låner. Kontakt personalet.",),
            )
        card = patron["card"]
        pin_ok = self._pin_check(patron, msg.patron_password)
        loans = list(
            self.db.execute("SELECT * FROM loans WHERE patron = ? ORDER BY due_at, item_id", (card,))
        )
        overdue = [r for r in loans if datetime.fromisoformat(r["due_at"]) < now]
        ready, waiting = self._holds_of(card, "ready"), self._holds_of(card, "waiting")
        # Lists are only sent when the summary asks for them (and never to a wrong PIN).
        summary = msg.summary.ljust(10)
        show = pin_ok != "N"
        start, end = (_position(msg.start_item, 1) or 1) - 1, _position(msg.end_item, None)

        def wanted(pos: int, rows: list[sqlite3.Row]) -> tuple[str, ...]:
            listed = tuple(r["item_id"] for r in rows) if show and summary[pos] == "Y" else ()
            return listed[start:end]

        return PatronInformationResponse(
            patron_status=patron_status_string(self._status_flags(patron)),
            language=patron["language"],
            transaction_date=now,
            hold_items_count=len(ready),
            overdue_items_count=len(overdue),
            charged_items_count=len(loans),
            fine_items_count=1 if float(patron["fees"]) > 0 else 0,
            recall_items_count=0,
            unavailable_holds_count=len(waiting),
            institution_id=session.branch,
            patron_identifier=card,
            personal_name=patron["name"],
            charged_items_limit=f"{LOAN_LIMITS[patron['category']]:04d}",
            valid_patron="Y",
            valid_patron_password=pin_ok,
            currency_type=CURRENCY,
            fee_amount=patron["fees"],
            fee_limit=f"{FEE_LIMIT:.2f}",
            hold_items=wanted(0, ready),
            overdue_items=wanted(1, overdue),
            charged_items=wanted(2, loans),
            unavailable_hold_items=wanted(5, waiting),
            email_address=PATRON_EMAILS.get(card) if show else None,
            screen_message=("Feil PIN-kode.",) if pin_ok == "N" else self._patron_messages(patron),
        )

    def _holds_of(self, card: str, status: str) -> list[sqlite3.Row]:
        return list(
            self.db.execute(
                "SELECT item_id FROM holds WHERE patron = ? AND status = ? ORDER BY id", (card, status)
            )
        )


def _position(text: str | None, default: int | None) -> int | None:
    """BP/BQ (1-based item positions): digits only, and few of them."""
    value = (text or "").strip()
    return int(value) if value.isdigit() and len(value) <= 9 else default
