"""Checkout (11), renew (29) and renew all (65) of the demo library system."""

from __future__ import annotations

import sqlite3

from server_api.sip2.messages import (
    CheckoutRequest,
    CheckoutResponse,
    RenewAllRequest,
    RenewAllResponse,
    RenewRequest,
    RenewResponse,
)

from .base import (
    IlsBase,
    Session,
    from_iso,
    sip_due,
)
from .data import FEE_LIMIT, LOAN_LIMITS, MAX_RENEWALS, MEDIA_TYPES, iso


class LoanRules(IlsBase):
    """The demo's rules for checkout / renew."""

    def checkout(self, msg: CheckoutRequest, session: Session) -> CheckoutResponse:
        now = self.now()
        patron = self.patron_row(msg.patron_identifier)
        item = self.item_row(msg.item_identifier)

        def refuse(text: str, **extra: str) -> CheckoutResponse:
            return CheckoutResponse(
                ok=False,
                desensitize="N",
                transaction_date=now,
                institution_id=session.branch,
                patron_identifier=msg.patron_identifier,
                item_identifier=msg.item_identifier,
                title_identifier=item["title"] if item else "",
                screen_message=(text,),
                extra=tuple(extra.items()),
            )

        if patron is None:
            return refuse("Ukjent låner. Kontakt personalet.")
        if msg.patron_password is not None and msg.patron_password != patron["pin"]:
            return refuse("Feil PIN-kode.", CQ="N")
        if item is None:
            return refuse("Ukjent eksemplar. Lever det i skranken.")
        if item["status"] == "lost":
            # Even an offline replay is refused: a lost item needs a person (the loss was paid,
            # the record may be closed); the station turns this into a conflict for staff.
            return refuse("Eksemplaret er registrert som tapt. Kontakt personalet.")
        loan = self.loan_row(item["item_id"])
        holds = [h for h in self.open_holds(item["item_id"]) if h["patron"] != patron["card"]]
        if loan is not None and loan["patron"] == patron["card"]:
            if msg.no_block or msg.sc_renewal_policy:
                renewed = self._renew(msg, session, patron, item, loan, holds, as_checkout=True)
                assert isinstance(renewed, CheckoutResponse)
                return renewed
            return refuse("Du har allerede lånt dette eksemplaret.")
        problem = "" if msg.no_block else self._checkout_problem(patron, item, loan, holds)
        if problem:
            return refuse(problem)
        return self._lend(msg, session, patron, item, loan)

    def _checkout_problem(
        self, patron: sqlite3.Row, item: sqlite3.Row, loan: sqlite3.Row | None, holds: list[sqlite3.Row]
    ) -> str:
        """Why an online checkout is refused ("" = it is not)."""
        if patron["blocked"]:
            return f"{patron['blocked']}. Kontakt personalet."
        if float(patron["fees"]) > FEE_LIMIT:
            return (
                f"Du har utestående gebyrer på {patron['fees'].replace('.', ',')} kr."
                " Lånekortet er sperret for utlån. Kontakt personalet."
            )
        if not item["for_loan"]:
            return "Eksemplaret er ikke til utlån."
        if loan is not None:
            return "Eksemplaret er allerede utlånt til en annen låner. Lever det i skranken."
        if holds:
            return "Eksemplaret er reservert for en annen låner."
        limit = LOAN_LIMITS[patron["category"]]
        if self.loan_count(patron["card"]) >= limit:
            return f"Du har nådd maks antall lån ({limit})."
        return ""

    def _lend(
        self,
        msg: CheckoutRequest,
        session: Session,
        patron: sqlite3.Row,
        item: sqlite3.Row,
        loan: sqlite3.Row | None,
    ) -> CheckoutResponse:
        """Record the loan (an offline replay: as it happened then, with the due date given then)."""
        at = msg.transaction_date or self.now()
        if loan is not None:
            self.db.execute("DELETE FROM loans WHERE item_id = ?", (item["item_id"],))
        due = msg.nb_due_date if msg.no_block and msg.nb_due_date else at + self.loan_period(item, patron)
        due = due.replace(hour=23, minute=59, second=0) if not msg.no_block else due
        self.db.execute(
            "INSERT INTO loans (item_id, patron, branch, loaned_at, due_at) VALUES (?,?,?,?,?)",
            (item["item_id"], patron["card"], session.branch, iso(at), iso(due)),
        )
        self.db.execute(
            "UPDATE items SET status = 'loan', location = ?, transit_to = '' WHERE item_id = ?",
            (session.branch, item["item_id"]),
        )
        # Borrowing what one had on hold fills the hold.
        self.db.execute(
            "UPDATE holds SET status = 'filled'"
            " WHERE item_id = ? AND patron = ? AND status IN ('waiting', 'ready')",
            (item["item_id"], patron["card"]),
        )
        self._event(
            "checkout", item["item_id"], patron["card"], session.branch, at, msg.no_block, msg.nb_due_date
        )
        code, _, _, _ = MEDIA_TYPES[item["media"]]
        parts = f"{item['parts']} deler" if item["parts"] > 1 else ""
        return CheckoutResponse(
            ok=True,
            renewal_ok=False,
            magnetic_media="Y" if item["media"] in ("cd", "audiobook") else "N",
            desensitize="Y",
            transaction_date=self.now(),
            institution_id=session.branch,
            patron_identifier=patron["card"],
            item_identifier=item["item_id"],
            title_identifier=item["title"],
            due_date=sip_due(due),
            media_type=code,
            item_properties=parts or None,
            screen_message=(f"Lånt til {due:%d.%m.%Y}.",),
            print_line=(f"{item['title']} – innlevering {due:%d.%m.%Y}",),
        )

    def _renew(
        self,
        msg: CheckoutRequest | RenewRequest,
        session: Session,
        patron: sqlite3.Row,
        item: sqlite3.Row,
        loan: sqlite3.Row,
        holds: list[sqlite3.Row],
        *,
        as_checkout: bool,
    ) -> CheckoutResponse | RenewResponse:
        now = self.now()
        at = msg.transaction_date or now
        cls = CheckoutResponse if as_checkout else RenewResponse
        common = {
            "transaction_date": now,
            "institution_id": session.branch,
            "patron_identifier": patron["card"],
            "item_identifier": item["item_id"],
            "title_identifier": item["title"],
        }
        if not msg.no_block:
            problem = ""
            if holds:
                problem = "Kan ikke fornyes: eksemplaret er reservert for en annen låner."
            elif loan["renewals"] >= MAX_RENEWALS:
                problem = f"Kan ikke fornyes: maks antall fornyelser ({MAX_RENEWALS}) er nådd."
            elif patron["blocked"]:
                problem = f"Kan ikke fornyes: {patron['blocked'].lower()}."
            if problem:
                return cls(
                    ok=False,
                    desensitize="N",
                    due_date=sip_due(from_iso(loan["due_at"])),
                    screen_message=(problem,),
                    **common,
                )
        due = msg.nb_due_date if msg.no_block and msg.nb_due_date else None
        if due is None:
            due = (at + self.loan_period(item, patron)).replace(hour=23, minute=59, second=0)
        self.db.execute(
            "UPDATE loans SET due_at = ?, renewals = renewals + 1 WHERE item_id = ?",
            (iso(due), item["item_id"]),
        )
        self._event(
            "renew", item["item_id"], patron["card"], session.branch, at, msg.no_block, msg.nb_due_date
        )
        return cls(
            ok=True,
            renewal_ok=True,
            magnetic_media="N",
            desensitize="Y",
            due_date=sip_due(due),
            screen_message=(f"Fornyet til {due:%d.%m.%Y}.",),
            **common,
        )

    def renew(self, msg: RenewRequest, session: Session) -> RenewResponse:
        now = self.now()
        patron = self.patron_row(msg.patron_identifier)
        item = self.item_row(msg.item_identifier or "")
        loan = self.loan_row(item["item_id"]) if item else None

        def refuse(text: str) -> RenewResponse:
            return RenewResponse(
                ok=False,
                desensitize="N",
                transaction_date=now,
                institution_id=session.branch,
                patron_identifier=msg.patron_identifier,
                item_identifier=msg.item_identifier or "",
                title_identifier=item["title"] if item else "",
                screen_message=(text,),
            )

        if patron is None:
            return refuse("Ukjent låner. Kontakt personalet.")
        if msg.patron_password is not None and msg.patron_password != patron["pin"]:
            return refuse("Feil PIN-kode.")
        if item is None:
            return refuse("Ukjent eksemplar.")
        if loan is None or loan["patron"] != patron["card"]:
            return refuse("Kan ikke fornyes: eksemplaret er ikke utlånt til deg.")
        holds = [h for h in self.open_holds(item["item_id"]) if h["patron"] != patron["card"]]
        result = self._renew(msg, session, patron, item, loan, holds, as_checkout=False)
        assert isinstance(result, RenewResponse)
        return result

    def renew_all(self, msg: RenewAllRequest, session: Session) -> RenewAllResponse:
        now = self.now()
        patron = self.patron_row(msg.patron_identifier)

        def refuse(text: str) -> RenewAllResponse:
            return RenewAllResponse(
                ok=False, transaction_date=now, institution_id=session.branch, screen_message=(text,)
            )

        if patron is None:
            return refuse("Ukjent låner. Kontakt personalet.")
        if msg.patron_password is not None and msg.patron_password != patron["pin"]:
            return refuse("Feil PIN-kode.")
        renewed: list[str] = []
        refused: list[str] = []
        loans = self.db.execute(
            "SELECT * FROM loans WHERE patron = ? ORDER BY due_at, item_id", (patron["card"],)
        ).fetchall()
        for loan in loans:
            item = self.item_row(loan["item_id"])
            assert item is not None
            holds = [h for h in self.open_holds(item["item_id"]) if h["patron"] != patron["card"]]
            one = RenewRequest(
                transaction_date=msg.transaction_date or now,
                institution_id=msg.institution_id,
                patron_identifier=patron["card"],
                item_identifier=item["item_id"],
            )
            result = self._renew(one, session, patron, item, loan, holds, as_checkout=False)
            (renewed if result.ok else refused).append(item["item_id"])
        lines = (
            [f"{len(renewed)} fornyet, {len(refused)} kunne ikke fornyes."]
            if loans
            else ["Du har ingen lån."]
        )
        return RenewAllResponse(
            ok=True,
            renewed_count=len(renewed),
            unrenewed_count=len(refused),
            transaction_date=now,
            institution_id=session.branch,
            renewed_items=tuple(renewed),
            unrenewed_items=tuple(refused),
            screen_message=tuple(lines),
        )
