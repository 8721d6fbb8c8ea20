"""A kiosk's SIP2 side against the demo library system on loopback, as the demo ILS tests make it: the
branch's own login, its location as institution, the consortium's library names."""

from __future__ import annotations

from server_api.demo_ils import KIOSK_LOCATION, KIOSK_LOGIN, LIBRARY_NAMES, DemoIls
from server_api.sip2 import Sip2Circulation, Sip2Settings


def kiosk(
    ils: DemoIls,
    login: tuple[str, str] = KIOSK_LOGIN,
    location: str = KIOSK_LOCATION,
    timeout: float = 3.0,
    **kw: object,
) -> Sip2Circulation:
    return Sip2Circulation(
        Sip2Settings(
            "127.0.0.1",
            ils.port,
            *login,
            location=location,
            institution=location,
            library_names=LIBRARY_NAMES,
            timeout=timeout,
            **kw,  # type: ignore[arg-type]
        )
    )
