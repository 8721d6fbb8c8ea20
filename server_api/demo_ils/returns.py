"""Checkin (09) with routing, item information (17) and end of session (35) of the demo library system."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from server_api.sip2.messages import (
    CheckinRequest,
    CheckinResponse,
    EndPatronSessionRequest,
    EndSessionResponse,
    ItemInformationRequest,
    ItemInformationResponse,
)

from .base import (
    IlsBase,
    Session,
    from_iso,
    sip_due,
)
from .data import MEDIA_TYPES, iso


class ReturnRules(IlsBase):
    """The demo's rules for checkin."""

    def checkin(self, msg: CheckinRequest, session: Session) -> CheckinResponse:
        now = self.now()
        returned = msg.return_date or msg.transaction_date or now
        here = session.branch
        item = self.item_row(msg.item_identifier)
        if item is None:
            return CheckinResponse(
                ok=False,
                resensitize="N",
                alert=True,
                transaction_date=now,
                institution_id=here,
                item_identifier=msg.item_identifier,
                permanent_location="",
                alert_type="99",
                screen_message=("Ukjent eksemplar. Lever det i skranken.",),
            )
        loan = self.loan_row(item["item_id"])
        messages: list[str] = []
        if loan is not None:
            self.db.execute("DELETE FROM loans WHERE item_id = ?", (item["item_id"],))
            due = datetime.fromisoformat(loan["due_at"])
            if returned > due:
                messages.append("Innlevert etter forfall.")
        self._event(
            "checkin", item["item_id"], loan["patron"] if loan else None, here, returned, msg.no_block
        )

        base = {
            "ok": True,
            "resensitize": "Y",
            "magnetic_media": "Y" if item["media"] in ("cd", "audiobook") else "N",
            "transaction_date": now,
            "institution_id": here,
            "item_identifier": item["item_id"],
            "permanent_location": item["home"],
            "title_identifier": item["title"],
            "patron_identifier": loan["patron"] if loan else None,
            "media_type": MEDIA_TYPES[item["media"]][0],
            "collection_code": item["media"],
        }
        holds = self.open_holds(item["item_id"])
        if holds and holds[0]["pickup"] == here:
            return self._to_hold_shelf(base, messages, item, holds[0], returned, here)
        if holds:
            return self._transit(base, messages, item, holds[0]["pickup"], "02", holds[0])
        if item["home"] != here:
            return self._transit(base, messages, item, item["home"], "04", None)
        self.db.execute(
            "UPDATE items SET status = 'available', location = ?, transit_to = '' WHERE item_id = ?",
            (here, item["item_id"]),
        )
        return CheckinResponse(
            **base, alert=False, screen_message=(*messages, "Takk! Eksemplaret er levert.")
        )

    def _to_hold_shelf(
        self,
        base: dict[str, Any],
        messages: list[str],
        item: sqlite3.Row,
        hold: sqlite3.Row,
        returned: datetime,
        here: str,
    ) -> CheckinResponse:
        self.db.execute(
            "UPDATE holds SET status = 'ready', ready_at = ? WHERE id = ?", (iso(returned), hold["id"])
        )
        self.db.execute(
            "UPDATE items SET status = 'hold_shelf', location = ?, transit_to = '' WHERE item_id = ?",
            (here, item["item_id"]),
        )
        return CheckinResponse(
            **base,
            alert=True,
            sort_bin="HENTEHYLLE",
            destination_location=here,
            alert_type="01",
            hold_patron_id=hold["patron"],
            hold_patron_name=hold["patron_name"],
            screen_message=(*messages, "Takk! Eksemplaret er reservert og legges på hentehylla."),
            print_line=(f"Hentehylle: {hold['patron_name']} ({hold['patron']})",),
        )

    def _transit(
        self,
        base: dict[str, object],
        messages: list[str],
        item: sqlite3.Row,
        to: str,
        cv: str,
        hold: sqlite3.Row | None,
    ) -> CheckinResponse:
        self.db.execute(
            "UPDATE items SET status = 'transit', transit_to = ? WHERE item_id = ?", (to, item["item_id"])
        )
        name = self.library_name(to)
        return CheckinResponse(
            **base,  # type: ignore[arg-type]
            alert=True,
            sort_bin="TRANSPORT",
            destination_location=to,
            alert_type=cv,
            hold_patron_id=hold["patron"] if hold else None,
            hold_patron_name=hold["patron_name"] if hold else None,
            screen_message=(*messages, "Takk! Eksemplaret er levert."),
            print_line=(f"Sendes til: {name} ({to})",),
        )

    # -- items, end of session ------------------------------------------------------------------------

    def item_information(self, msg: ItemInformationRequest, session: Session) -> ItemInformationResponse:
        now = self.now()
        item = self.item_row(msg.item_identifier)
        if item is None:
            return ItemInformationResponse(
                circulation_status="01",
                transaction_date=now,
                item_identifier=msg.item_identifier,
                title_identifier="",
                screen_message=("Ukjent eksemplar.",),
            )
        loan = self.loan_row(item["item_id"])
        holds = self.open_holds(item["item_id"])
        status = {"available": "03", "loan": "04", "hold_shelf": "08", "transit": "10", "lost": "12"}[
            item["status"]
        ]
        if not item["for_loan"] and status == "03":
            status = "01"
        ready = next((h for h in holds if h["status"] == "ready"), None)
        return ItemInformationResponse(
            circulation_status=status,
            security_marker="02",  # "tattle-tape"-class security; our tags use AFI
            fee_type="01",
            transaction_date=now,
            hold_queue_length=str(sum(1 for h in holds if h["status"] == "waiting")),
            due_date=sip_due(from_iso(loan["due_at"])) if loan else None,
            hold_pickup_date=sip_due(from_iso(ready["ready_at"])) if ready else None,
            item_identifier=item["item_id"],
            title_identifier=item["title"],
            owner=item["owner"],
            media_type=MEDIA_TYPES[item["media"]][0],
            permanent_location=item["home"],
            current_location=item["transit_to"] or item["location"],
            item_properties=f"{item['parts']} deler" if item["parts"] > 1 else None,
        )

    def end_session(self, msg: EndPatronSessionRequest, session: Session) -> EndSessionResponse:
        return EndSessionResponse(
            end_session=True,
            transaction_date=self.now(),
            institution_id=session.branch,
            patron_identifier=msg.patron_identifier,
            screen_message=("Takk for besøket!",),
        )
