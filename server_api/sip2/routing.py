"""Where a returned item goes, read from the checkin response (10) through the connection's vendor profile.

The profile names the field for each role: destination (CT), alert type (CV), hold patron id (CY) and
name (DA); a role the system does not send is ignored even when the field is present. Library codes
compare in one form (`drivers.tags.same_library`: `2190000`, `02190000`, `NO-2190000` are one). Alert type
01 -> hold shelf here; 02/03/04 -> transit to the destination; a destination naming another place than
this kiosk's location/institution -> transit; 02/03/04 without a destination, or an alert without a
route -> staff; else reshelve. The destination's *name* comes from `Sip2Settings.library_names` (code ->
name); for the library we are logged in to, the ACS's own name from the 98 (AM) when the table lacks it.

Who a hold is for goes to the staff slip only (`Route.hold_patron_*`), and the hold patron id only when
the profile says it is a card number (`cy_is="card"`). The texts that reach the patron (AF/AG of the 10)
have the hold patron's name and id blanked, in case an ILS puts them there.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from drivers.tags import same_library
from server_api.circulation import Route, RouteKind

from .client import Sip2Settings
from .messages import AcsStatus, CheckinResponse, Message, layout
from .profiles import VendorProfile
from .shown import Cleaning

# Library codes without a country prefix are Norwegian library numbers (Base Bibliotek): 02190000 = 2190000.
_COUNTRY = "NO"


class Routing:
    def __init__(
        self, settings: Sip2Settings, profile: VendorProfile, acs_status: Callable[[], AcsStatus | None]
    ) -> None:
        self.settings, self.profile, self._acs_status = settings, profile, acs_status

    def library_name(self, code: str) -> str:
        if not code:
            return ""
        name = self.settings.library_names.get(code) or next(
            (
                name
                for known, name in self.settings.library_names.items()
                if same_library(known, code, _COUNTRY)
            ),
            "",
        )
        if name:
            return name
        status = self._acs_status()
        if status is None or not status.library_name:
            return ""
        if code == status.institution_id or self.is_here(code):
            # The library we are logged in to (FOLIO: "here" is a service point).
            return Cleaning().text(status.library_name)
        return ""

    def is_here(self, code: str) -> bool:
        return any(
            same_library(code, c, _COUNTRY) for c in (self.settings.location, self.settings.institution) if c
        )

    def field(self, reply: CheckinResponse, role: str) -> str:
        """The value of a routing role (destination, alert_type, hold_patron_id, hold_patron_name) in the
        field the connection's profile names for it; "" when the profile says the system does not send it."""
        code: str = getattr(self.profile, f"{role}_field")
        return Cleaning().text(field_value(reply, code), where=code) if code else ""  # it reaches a slip

    def hidden(self, reply: CheckinResponse) -> tuple[str, ...]:
        """What the returning patron must not see: who the item is held for."""
        return (self.field(reply, "hold_patron_name"), self.field(reply, "hold_patron_id"))

    def route(self, reply: CheckinResponse) -> Route:
        """Where a returned item goes, from the 10's alert flag and the routing fields its profile names."""
        cv = self.field(reply, "alert_type")
        ct = self.field(reply, "destination")
        cy = self.field(reply, "hold_patron_id")
        common = {
            "hold_patron_id": cy if self.profile.hold_patron_id_is_card else "",
            "hold_patron_name": self.field(reply, "hold_patron_name"),
            "alert_type": cv,
        }
        if cv == "01":
            here = ct or self.settings.location or self.settings.institution
            return Route(
                RouteKind.HOLD_SHELF, destination_id=here, destination_name=self.library_name(here), **common
            )
        if cv in ("02", "03", "04") or (ct and not self.is_here(ct)):
            if not ct:
                return Route(RouteKind.STAFF, **common)  # "send elsewhere" without saying where
            return Route(
                RouteKind.TRANSIT, destination_id=ct, destination_name=self.library_name(ct), **common
            )
        if reply.alert:
            return Route(RouteKind.STAFF, destination_id=ct, **common)
        return Route(RouteKind.RESHELVE)


def field_value(message: Message, code: str) -> str:
    """The value of variable field `code` in `message`, known or extension ("" when absent); repeated
    fields are joined with spaces."""
    for spec in layout(type(message))[1]:
        if spec.code == code:
            value = getattr(message, spec.name)
            if isinstance(value, tuple):
                return " ".join(v for v in value if v)
            return value or ""
    return " ".join(v for k, v in message.extra if k == code and v)


def blank(text: str, hidden: tuple[str, ...]) -> str:
    for value in hidden:
        if len(value) >= 2:  # a one-letter "name" would blank half the text
            text = re.sub(re.escape(value), "***", text, flags=re.IGNORECASE)
    return text


__all__ = ["Routing", "blank", "field_value"]
