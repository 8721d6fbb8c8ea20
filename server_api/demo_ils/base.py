"""The demo library system's shared state and lookups (the rules are in patrons, loans, holds and returns)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from server_api.sip2.codec import format_date

from .data import FEE_LIMIT, LOAN_LIMITS, MEDIA_TYPES, iso

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


def from_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def sip_due(dt: datetime | None) -> str:
    # AH is free text; we send the SIP2 date form, which most kiosks parse.
    return format_date(dt) if dt else ""


class IlsBase:
    """The database, the clock and the lookups every rule uses."""

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
