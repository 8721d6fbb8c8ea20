"""The demo library system's rules: SIP2 request in, SIP2 response out, state in SQLite. No network.

Rules (kept small, but the ones a kiosk meets in real life):
- A connection acts for the branch it logged in as (93); unknown accounts get 94 ok=0.
- Checkout (11): patron must exist; a PIN (AD) if sent must match (else CQ=N); blocked card, fees above
  the limit and the loan limit (lower for children) refuse; an item held for someone else refuses; an
  item already on loan to the same patron is renewed; loan period depends on media type and patron
  category. ``no block = Y`` (offline replay) skips the checks and records the loan with the given
  transaction date and due date.
- Checkin (09): items not on loan are accepted too (as real systems do). Routing: the first waiting hold
  decides (pickup here -> CV 01 hold shelf, with CY/DA; pickup elsewhere -> CV 02 to that library);
  otherwise an item whose home is elsewhere goes home (CV 04); otherwise it is reshelved (no CV).
  CT is always the destination's library number.
- Renew (29): not when someone else holds the item, and at most MAX_RENEWALS times.
- Renew all (65): tries each of the patron's loans under the renew rules; 66 lists renewed (BM) and
  refused (BN) items; ok=1 when the patron is valid (even if nothing could be renewed).
- Hold (15): ``+`` places a hold on an item (AB) or on any copy of a title (AJ) for pickup at BS (default:
  the login's branch); refused for unknown or blocked patrons, wrong PIN, items the patron already has on
  loan or on hold, and items not for loan. ``-`` cancels the patron's open hold, ``*`` changes its pickup
  library. 16 gives the queue position (BR) and whether the item is on the shelf now (available).
- Every applied checkout, checkin, renewal and hold change is written to ``events`` with its transaction
  date (`applied_transactions` reads it): the log a duplicate-detection test counts.
- All screen messages (AF) are in Norwegian bokmål, like a Norwegian ILS.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from server_api.sip2.codec import format_date
from server_api.sip2.messages import (
    AcsStatus,
    CheckinRequest,
    CheckinResponse,
    CheckoutRequest,
    CheckoutResponse,
    EndPatronSessionRequest,
    EndSessionResponse,
    HoldRequest,
    HoldResponse,
    ItemInformationRequest,
    ItemInformationResponse,
    LoginRequest,
    LoginResponse,
    Message,
    PatronInformationRequest,
    PatronInformationResponse,
    PatronStatusRequest,
    PatronStatusResponse,
    RenewAllRequest,
    RenewAllResponse,
    RenewRequest,
    RenewResponse,
    ScStatus,
    patron_status_string,
)

from .data import FEE_LIMIT, LOAN_LIMITS, MAX_RENEWALS, MEDIA_TYPES, iso

# BX order: patron status, checkout, checkin, block patron, SC/ACS status, resend, login, patron info,
# end session, fee paid, item info, item status update, patron enable, hold, renew, renew all.
SUPPORTED_MESSAGES = "YYYNYYYYYNYNNYYY"
CURRENCY = "NOK"

# Patron status flag positions (see messages.PATRON_STATUS_FLAGS).
CHARGE_DENIED, RENEWAL_DENIED, HOLD_DENIED = 0, 1, 3
TOO_MANY_CHARGED, EXCESSIVE_FEES = 5, 11


class NotLoggedIn(Exception):
    """A request other than 93/99 arrived on a connection that has not logged in."""


@dataclass
class Session:
    """What the ILS knows about one SIP2 connection."""

    branch: str = ""  # the logged-in account's branch; "" = not logged in
    user: str = ""


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _sip_due(dt: datetime | None) -> str:
    # AH is free text; we send the SIP2 date form, which most kiosks parse.
    return format_date(dt) if dt else ""


class DemoLibrarySystem:
    def __init__(self, conn: sqlite3.Connection, *, clock: Callable[[], datetime] = datetime.now) -> None:
        self.db = conn
        self.db.row_factory = sqlite3.Row
        self.clock = clock

    def now(self) -> datetime:
        return self.clock().replace(microsecond=0)

    # -- lookups --------------------------------------------------------------------------------------

    def _one(self, sql: str, *args: object) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.db.execute(sql, args).fetchone()
        return row

    def patron_row(self, card: str) -> sqlite3.Row | None:
        return self._one("SELECT * FROM patrons WHERE card = ?", card)

    def item_row(self, item_id: str) -> sqlite3.Row | None:
        return self._one("SELECT * FROM items WHERE item_id = ?", item_id)

    def loan_row(self, item_id: str) -> sqlite3.Row | None:
        return self._one("SELECT * FROM loans WHERE item_id = ?", item_id)

    def open_holds(self, item_id: str) -> list[sqlite3.Row]:
        return list(
            self.db.execute(
                "SELECT holds.*, patrons.name AS patron_name"
                " FROM holds JOIN patrons ON patrons.card = holds.patron"
                " WHERE item_id = ? AND status IN ('waiting', 'ready')"
                " ORDER BY status = 'ready' DESC, placed_at, id",
                (item_id,),
            )
        )

    def library_name(self, number: str) -> str:
        row = self._one("SELECT name FROM libraries WHERE number = ?", number)
        return str(row["name"]) if row else number

    def loan_count(self, card: str) -> int:
        row = self._one("SELECT count(*) AS n FROM loans WHERE patron = ?", card)
        return int(row["n"]) if row else 0

    def _event(
        self,
        kind: str,
        item_id: str,
        patron: str | None,
        branch: str,
        at: datetime,
        nb: bool,
        nb_due: datetime | None = None,
    ) -> None:
        self.db.execute(
            "INSERT INTO events (kind, item_id, patron, branch, at, recorded_at, no_block, nb_due)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (
                kind,
                item_id,
                patron,
                branch,
                iso(at),
                iso(self.now()),
                int(nb),
                iso(nb_due) if nb_due else None,
            ),
        )

    def loan_period(self, item: sqlite3.Row, patron: sqlite3.Row) -> timedelta:
        _, _, adult_days, child_days = MEDIA_TYPES[item["media"]]
        return timedelta(days=child_days if patron["category"] == "child" else adult_days)

    def _status_flags(self, patron: sqlite3.Row) -> set[int]:
        flags: set[int] = set()
        if patron["blocked"]:
            flags |= {CHARGE_DENIED, RENEWAL_DENIED, HOLD_DENIED}
        if float(patron["fees"]) > FEE_LIMIT:
            flags |= {CHARGE_DENIED, EXCESSIVE_FEES}
        if self.loan_count(patron["card"]) >= LOAN_LIMITS[patron["category"]]:
            flags |= {CHARGE_DENIED, TOO_MANY_CHARGED}
        return flags

    # -- dispatch -------------------------------------------------------------------------------------

    def handle(self, message: Message, session: Session) -> Message:
        if isinstance(message, LoginRequest):
            return self.login(message, session)
        if isinstance(message, ScStatus):
            return self.status(session)
        if not session.branch:
            raise NotLoggedIn(message.CODE)
        handlers: dict[type[Message], Callable[[Message, Session], Message]] = {
            PatronStatusRequest: self.patron_status,  # type: ignore[dict-item]
            PatronInformationRequest: self.patron_information,  # type: ignore[dict-item]
            CheckoutRequest: self.checkout,  # type: ignore[dict-item]
            CheckinRequest: self.checkin,  # type: ignore[dict-item]
            RenewRequest: self.renew,  # type: ignore[dict-item]
            ItemInformationRequest: self.item_information,  # type: ignore[dict-item]
            EndPatronSessionRequest: self.end_session,  # type: ignore[dict-item]
            RenewAllRequest: self.renew_all,  # type: ignore[dict-item]
            HoldRequest: self.hold,  # type: ignore[dict-item]
        }
        handler = handlers.get(type(message))
        if handler is None:
            raise NotImplementedError(message.CODE)
        with self.db:  # one SQLite transaction per request: a crash never leaves half a loan
            return handler(message, session)

    def login(self, msg: LoginRequest, session: Session) -> LoginResponse:
        row = self._one(
            "SELECT * FROM accounts WHERE user = ? AND password = ?", msg.login_user_id, msg.login_password
        )
        if row is None:
            return LoginResponse(ok=False)
        session.branch, session.user = row["branch"], row["user"]
        return LoginResponse(ok=True)

    def status(self, session: Session) -> AcsStatus:
        branch = session.branch
        return AcsStatus(
            online_status=True,
            checkin_ok=True,
            checkout_ok=True,
            acs_renewal_policy=True,
            status_update_ok=False,
            offline_ok=True,
            timeout_period=50,
            retries_allowed=3,
            date_time_sync=self.now(),
            institution_id=branch,
            library_name=self.library_name(branch) if branch else "Demo-konsortiet i Troms og Finnmark",
            supported_messages=SUPPORTED_MESSAGES,
            terminal_location=branch or None,
        )

    # -- patrons --------------------------------------------------------------------------------------

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
        ready = list(
            self.db.execute(
                "SELECT item_id FROM holds WHERE patron = ? AND status = 'ready' ORDER BY id", (card,)
            )
        )
        waiting = list(
            self.db.execute(
                "SELECT item_id FROM holds WHERE patron = ? AND status = 'waiting' ORDER BY id", (card,)
            )
        )
        # Lists are only sent when the summary asks for them (and never to a wrong PIN).
        summary = msg.summary.ljust(10)
        show = pin_ok != "N"

        def wanted(pos: int, rows: list[sqlite3.Row]) -> tuple[str, ...]:
            return tuple(r["item_id"] for r in rows) if show and summary[pos] == "Y" else ()

        start = int(msg.start_item) - 1 if msg.start_item and msg.start_item.isdigit() else 0
        end = int(msg.end_item) if msg.end_item and msg.end_item.isdigit() else None
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
            hold_items=wanted(0, ready)[start:end],
            overdue_items=wanted(1, overdue)[start:end],
            charged_items=wanted(2, loans)[start:end],
            unavailable_hold_items=wanted(5, waiting)[start:end],
            screen_message=("Feil PIN-kode.",) if pin_ok == "N" else self._patron_messages(patron),
        )

    # -- checkout / renew -----------------------------------------------------------------------------

    def checkout(self, msg: CheckoutRequest, session: Session) -> CheckoutResponse:
        now = self.now()
        at = msg.transaction_date or now
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

        if not msg.no_block:
            if patron["blocked"]:
                return refuse(f"{patron['blocked']}. Kontakt personalet.")
            if float(patron["fees"]) > FEE_LIMIT:
                return refuse(
                    f"Du har utestående gebyrer på {patron['fees'].replace('.', ',')} kr."
                    " Lånekortet er sperret for utlån. Kontakt personalet."
                )
            if not item["for_loan"]:
                return refuse("Eksemplaret er ikke til utlån.")
            if loan is not None:
                return refuse("Eksemplaret er allerede utlånt til en annen låner. Lever det i skranken.")
            if holds:
                return refuse("Eksemplaret er reservert for en annen låner.")
            limit = LOAN_LIMITS[patron["category"]]
            if self.loan_count(patron["card"]) >= limit:
                return refuse(f"Du har nådd maks antall lån ({limit}).")

        # Offline replay: the patron already walked out with it; record what happened then.
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
            transaction_date=now,
            institution_id=session.branch,
            patron_identifier=patron["card"],
            item_identifier=item["item_id"],
            title_identifier=item["title"],
            due_date=_sip_due(due),
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
                    due_date=_sip_due(_dt(loan["due_at"])),
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
            due_date=_sip_due(due),
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

    # -- holds ----------------------------------------------------------------------------------------

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
        at = msg.transaction_date or now
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

    # -- checkin --------------------------------------------------------------------------------------

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
        if holds:
            hold = holds[0]
            if hold["pickup"] == here:
                self.db.execute(
                    "UPDATE holds SET status = 'ready', ready_at = ? WHERE id = ?",
                    (iso(returned), hold["id"]),
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
            return self._transit(base, messages, item, hold["pickup"], "02", hold)
        if item["home"] != here:
            return self._transit(base, messages, item, item["home"], "04", None)
        self.db.execute(
            "UPDATE items SET status = 'available', location = ?, transit_to = '' WHERE item_id = ?",
            (here, item["item_id"]),
        )
        return CheckinResponse(
            **base, alert=False, screen_message=(*messages, "Takk! Eksemplaret er levert.")
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
            due_date=_sip_due(_dt(loan["due_at"])) if loan else None,
            hold_pickup_date=_sip_due(_dt(ready["ready_at"])) if ready else None,
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
