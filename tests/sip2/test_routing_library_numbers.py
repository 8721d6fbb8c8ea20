"""Return routing compares and names libraries in one form: a library system that sends `01902000` where
the station's table says `1902000` (or `NO-1902000`) still gets the library's name on the slip, and a
destination that is this kiosk's own library written another way is not a transit."""

from __future__ import annotations

from server_api.circulation import RouteKind
from server_api.sip2.client import Sip2Settings
from server_api.sip2.messages import CheckinResponse
from server_api.sip2.profiles import get_profile
from server_api.sip2.routing import Routing


def routing(library_names: dict[str, str]) -> Routing:
    settings = Sip2Settings(
        "127.0.0.1",
        6001,
        "u",
        "pw",
        location="2190000",
        institution="NO-2190000",
        library_names=library_names,
    )
    return Routing(settings, get_profile("koha"), lambda: None)


def checkin(destination: str, alert_type: str = "") -> CheckinResponse:
    return CheckinResponse(
        ok=True,
        alert=bool(alert_type),
        item_identifier="03010000000042",
        destination_location=destination,
        alert_type=alert_type or None,
    )


def test_a_destination_written_with_eight_digits_gets_the_name_the_table_gives_its_number() -> None:
    for key in ("1902000", "NO-1902000", "01902000"):
        route = routing({key: "Harstad bibliotek"}).route(checkin("01902000", "02"))
        assert (route.kind, route.destination_name) == (RouteKind.TRANSIT, "Harstad bibliotek")


def test_this_kiosks_library_written_another_way_is_here_not_a_transit() -> None:
    for here in ("02190000", "NO-2190000", "no-2190000"):
        assert routing({}).route(checkin(here)).kind is RouteKind.RESHELVE
    assert routing({}).route(checkin("02040000")).kind is RouteKind.TRANSIT
