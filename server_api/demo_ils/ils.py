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

from collections.abc import Callable

from server_api.sip2.messages import (
    AcsStatus,
    CheckinRequest,
    CheckoutRequest,
    EndPatronSessionRequest,
    HoldRequest,
    ItemInformationRequest,
    LoginRequest,
    LoginResponse,
    Message,
    PatronInformationRequest,
    PatronStatusRequest,
    RenewAllRequest,
    RenewRequest,
    ScStatus,
)

from .base import (
    SUPPORTED_MESSAGES,
    NotLoggedIn,
    Session,
)
from .holds import HoldRules
from .loans import LoanRules
from .patrons import PatronRules
from .returns import ReturnRules


class DemoLibrarySystem(PatronRules, LoanRules, HoldRules, ReturnRules):
    """The rules above, over one SQLite database."""

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


__all__ = ["SUPPORTED_MESSAGES", "DemoLibrarySystem", "NotLoggedIn", "Session"]
