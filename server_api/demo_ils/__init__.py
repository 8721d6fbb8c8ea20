"""A small consortium library system (Troms og Finnmark) that speaks SIP2 over TCP, backed by SQLite.
It is the demo's default peer and the test peer; it is not the product."""

from .data import (
    BLOCKED_PATRON_ID,
    CHILD_PATRON_ID,
    DEMO_BORROW_ITEMS,
    DEMO_PATRON_ID,
    DEMO_PATRON_PIN,
    DEMO_SET_ITEM,
    FEES_PATRON_ID,
    HOLD_SHELF_ITEM,
    KIOSK_INSTITUTION,
    KIOSK_LIBRARY,
    KIOSK_LOCATION,
    KIOSK_LOGIN,
    LIBRARY_NAMES,
    OTHER_LIBRARY_ITEM,
    TRANSIT_HOLD_ITEM,
    card_records,
    create_database,
    tag_records,
)
from .server import AppliedTransaction, DemoIls, applied_transactions, serve_forever

__all__ = [
    "BLOCKED_PATRON_ID",
    "CHILD_PATRON_ID",
    "DEMO_BORROW_ITEMS",
    "DEMO_PATRON_ID",
    "DEMO_PATRON_PIN",
    "DEMO_SET_ITEM",
    "FEES_PATRON_ID",
    "HOLD_SHELF_ITEM",
    "KIOSK_INSTITUTION",
    "KIOSK_LIBRARY",
    "KIOSK_LOCATION",
    "KIOSK_LOGIN",
    "LIBRARY_NAMES",
    "OTHER_LIBRARY_ITEM",
    "TRANSIT_HOLD_ITEM",
    "AppliedTransaction",
    "DemoIls",
    "applied_transactions",
    "card_records",
    "create_database",
    "serve_forever",
    "tag_records",
]
