"""Sip2Circulation against the demo library system over real TCP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from server_api.circulation import (
    Circulation,
    RefusalReason,
    RouteKind,
    SecurityAction,
    Transaction,
)
from server_api.demo_ils import (
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
    OTHER_LIBRARY_ITEM,
    TRANSIT_HOLD_ITEM,
    DemoIls,
    card_records,
    create_database,
    tag_records,
)
from server_api.demo_ils.data import (
    DEMO_EXISTING_LOAN,
    DEMO_HOLD_READY_ITEM,
    ITEMS,
    LIBRARIES,
    NOT_FOR_LOAN_ITEM,
    PATRONS,
)
from server_api.sip2 import Sip2Circulation, Sip2Settings
from server_api.sip2.codec import decode, encode
from server_api.sip2.messages import ItemInformationRequest, LoginRequest, RequestScResend
from tests.demo.kiosks import kiosk

NOW = datetime(2025, 2, 10, 12, 0, 0)


def txn(at: datetime = NOW, **kw: object) -> Transaction:
    return Transaction.new(at, **kw)


@pytest.fixture
async def ils(tmp_path: Path) -> AsyncIterator[DemoIls]:
    async with DemoIls(tmp_path / "ils.sqlite", clock=lambda: NOW) as server:
        yield server


@pytest.fixture
async def circ(ils: DemoIls) -> AsyncIterator[Sip2Circulation]:
    c = kiosk(ils)
    yield c
    await c.close()


def test_demo_data_shape() -> None:
    assert len(ITEMS) >= 100 and len(PATRONS) >= 20
    assert len({lib.municipality for lib in LIBRARIES}) >= 3
    assert any(lib.kind == "bookmobile" for lib in LIBRARIES)
    assert all(len(lib.number) == 7 and lib.number.isdigit() for lib in LIBRARIES)
    assert KIOSK_LIBRARY.number == KIOSK_LOCATION and "Tromsø" in KIOSK_LIBRARY.name
    names = {p.name for p in PATRONS}
    assert {
        "Máret Ánne Sara",
        "Ásllat Gaup",
        "Niillas Somby",
        "Aili Kemi",
        "Ivan Petrov",
        "Ольга Смирнова",
    } <= names
    assert all(len(p.pin) == 4 and p.pin.isdigit() for p in PATRONS)
    records = list(tag_records())
    item_ids = [r[0] for r in records]
    assert len(set(item_ids)) == len(ITEMS)
    assert all(len(i) <= 16 and i.isascii() for i, _, _ in records)
    cards = list(card_records())
    assert {p.card for p in PATRONS} == {card for card, _ in cards}
    assert all(len(card) <= 16 and card.isascii() for card, _ in cards)
    by_id = {it.item_id: it for it in ITEMS}
    assert by_id[DEMO_SET_ITEM].parts == 2
    assert all(by_id[i].parts == 1 and by_id[i].home == KIOSK_LOCATION for i in DEMO_BORROW_ITEMS)
    assert by_id[OTHER_LIBRARY_ITEM].owner != KIOSK_LIBRARY.number


async def test_circulation_protocol_and_patron_account(circ: Sip2Circulation) -> None:
    assert isinstance(circ, Circulation)
    account = await circ.patron(DEMO_PATRON_ID, DEMO_PATRON_PIN, txn())
    assert account.found and account.pin_ok is True and account.may_borrow
    assert account.name == "Máret Ánne Sara"
    assert [loan.item_id for loan in account.loans] == [DEMO_EXISTING_LOAN]
    assert account.loans[0].title == "Markens grøde"
    assert account.loans[0].due == NOW - timedelta(days=5) + timedelta(days=28)
    assert [h.item_id for h in account.holds_ready] == [DEMO_HOLD_READY_ITEM]
    assert account.holds_ready[0].title == "Teskjekjerringa"
    assert account.holds_ready[0].pickup_library == KIOSK_LIBRARY.name
    assert account.fees == "" and account.blocks == ()


async def test_patron_wrong_pin_unknown_blocked_and_fees(circ: Sip2Circulation) -> None:
    wrong = await circ.patron(DEMO_PATRON_ID, "0000", txn())
    assert wrong.found and wrong.pin_ok is False and wrong.loans == ()
    unknown = await circ.patron("999999999999", None, txn())
    assert not unknown.found and "Ukjent låner" in unknown.screen_message
    blocked = await circ.patron(BLOCKED_PATRON_ID, None, txn())
    assert blocked.found and blocked.pin_ok is None and not blocked.may_borrow
    assert "charge privileges denied" in blocked.blocks and "sperret" in blocked.screen_message
    fees = await circ.patron(FEES_PATRON_ID, None, txn())
    assert fees.fees == "250.00" and fees.currency == "NOK"
    assert "excessive outstanding fees" in fees.blocks and not fees.may_borrow


async def test_checkout_demo_items_with_due_dates(circ: Sip2Circulation) -> None:
    for item in DEMO_BORROW_ITEMS:
        out = await circ.checkout(DEMO_PATRON_ID, item, txn(), pin=DEMO_PATRON_PIN)
        assert out.ok and out.reason is None and out.security is SecurityAction.WRITE
        assert out.due == datetime(2025, 3, 10, 23, 59)  # books: 28 days
        assert out.title and "Lånt til 10.03.2025" in out.screen_message
    set_out = await circ.checkout(DEMO_PATRON_ID, DEMO_SET_ITEM, txn(), pin=DEMO_PATRON_PIN)
    assert set_out.ok and set_out.due == datetime(2025, 3, 10, 23, 59)  # audiobook (2 discs), adult
    account = await circ.patron(DEMO_PATRON_ID, DEMO_PATRON_PIN, txn())
    assert {loan.item_id for loan in account.loans} == {DEMO_EXISTING_LOAN, *DEMO_BORROW_ITEMS, DEMO_SET_ITEM}
    status = await circ.item_status(DEMO_BORROW_ITEMS[0])
    assert status.circulation_status == "04" and status.due == datetime(2025, 3, 10, 23, 59)
    # The same patron again: a renewal, not a refusal.
    again = await circ.checkout(DEMO_PATRON_ID, DEMO_BORROW_ITEMS[0], txn(NOW + timedelta(days=2)))
    assert again.ok and again.renewed and again.due == datetime(2025, 3, 12, 23, 59)
    # Someone else: already on loan.
    other = await circ.checkout(CHILD_PATRON_ID, DEMO_BORROW_ITEMS[0], txn())
    assert not other.ok and other.reason is RefusalReason.ALREADY_ON_LOAN
    assert other.security is SecurityAction.LEAVE


async def test_checkout_refusals_carry_reason_and_ils_words(circ: Sip2Circulation) -> None:
    blocked = await circ.checkout(BLOCKED_PATRON_ID, DEMO_BORROW_ITEMS[0], txn())
    assert not blocked.ok and blocked.reason is RefusalReason.PATRON_BLOCKED
    assert blocked.screen_message == "Lånekortet er sperret. Kontakt personalet."
    fees = await circ.checkout(FEES_PATRON_ID, DEMO_BORROW_ITEMS[0], txn())
    assert fees.reason is RefusalReason.PATRON_BLOCKED and "gebyrer på 250,00 kr" in fees.screen_message
    pin = await circ.checkout(DEMO_PATRON_ID, DEMO_BORROW_ITEMS[0], txn(), pin="0000")
    assert not pin.ok and pin.reason is RefusalReason.PIN_INVALID and pin.screen_message == "Feil PIN-kode."
    unknown = await circ.checkout(DEMO_PATRON_ID, "00000000000000", txn())
    assert unknown.reason is RefusalReason.ITEM_NOT_FOUND
    ref = await circ.checkout(DEMO_PATRON_ID, NOT_FOR_LOAN_ITEM, txn())
    assert ref.reason is RefusalReason.ITEM_NOT_FOR_LOAN
    held = await circ.checkout(CHILD_PATRON_ID, DEMO_HOLD_READY_ITEM, txn())
    assert held.reason is RefusalReason.ON_HOLD_FOR_ANOTHER and "reservert" in held.screen_message
    # The patron the hold is for may take it.
    mine = await circ.checkout(DEMO_PATRON_ID, DEMO_HOLD_READY_ITEM, txn(), pin=DEMO_PATRON_PIN)
    assert mine.ok
    account = await circ.patron(DEMO_PATRON_ID, DEMO_PATRON_PIN, txn())
    assert account.holds_ready == ()


async def test_child_has_a_lower_loan_limit(circ: Sip2Circulation) -> None:
    free = [
        it.item_id
        for it in ITEMS
        if it.home == KIOSK_LOCATION
        and it.parts == 1
        and it.media == "book"
        and it.item_id
        not in {
            DEMO_EXISTING_LOAN,
            HOLD_SHELF_ITEM,
            TRANSIT_HOLD_ITEM,
            DEMO_HOLD_READY_ITEM,
            NOT_FOR_LOAN_ITEM,
        }
    ]
    for item in free[:5]:
        assert (await circ.checkout(CHILD_PATRON_ID, item, txn())).ok
    sixth = await circ.checkout(CHILD_PATRON_ID, free[5], txn())
    assert not sixth.ok and sixth.reason is RefusalReason.LIMIT_REACHED and "(5)" in sixth.screen_message


async def test_checkin_routes_hold_shelf_transit_and_reshelve(circ: Sip2Circulation) -> None:
    hold = await circ.checkin(HOLD_SHELF_ITEM, txn())
    assert hold.ok and hold.route.kind is RouteKind.HOLD_SHELF and hold.route.alert_type == "01"
    assert hold.route.destination_id == KIOSK_LOCATION
    assert hold.route.hold_patron_id == "219000000002" and hold.route.hold_patron_name == "Niillas Somby"
    assert hold.security is SecurityAction.WRITE
    assert (await circ.item_status(HOLD_SHELF_ITEM)).circulation_status == "08"
    # Now it waits for Niillas: nobody else may borrow it.
    assert (
        await circ.checkout(DEMO_PATRON_ID, HOLD_SHELF_ITEM, txn())
    ).reason is RefusalReason.ON_HOLD_FOR_ANOTHER

    home = await circ.checkin(OTHER_LIBRARY_ITEM, txn())
    assert home.route.kind is RouteKind.TRANSIT and home.route.alert_type == "04"
    assert home.route.destination_id == "2201200" and home.route.destination_name == "Alta bibliotek"
    assert "Innlevert etter forfall" in home.screen_message  # it was overdue
    status = await circ.item_status(OTHER_LIBRARY_ITEM)
    assert status.circulation_status == "10" and status.owner == "2201200"

    elsewhere = await circ.checkin(TRANSIT_HOLD_ITEM, txn())
    assert elsewhere.route.kind is RouteKind.TRANSIT and elsewhere.route.alert_type == "02"
    assert elsewhere.route.destination_name == "Harstad bibliotek"
    assert elsewhere.route.hold_patron_name == "Sigrid Hansen"

    await circ.checkout(DEMO_PATRON_ID, DEMO_BORROW_ITEMS[1], txn())
    back = await circ.checkin(DEMO_BORROW_ITEMS[1], txn())
    assert back.ok and back.route.kind is RouteKind.RESHELVE
    assert (await circ.item_status(DEMO_BORROW_ITEMS[1])).circulation_status == "03"

    unknown = await circ.checkin("00000000000000", txn())
    assert not unknown.ok and unknown.route.kind is RouteKind.STAFF
    assert unknown.reason is RefusalReason.ITEM_NOT_FOUND and unknown.security is SecurityAction.LEAVE


async def test_destination_name_falls_back_to_empty_without_table(ils: DemoIls) -> None:
    c = Sip2Circulation(
        Sip2Settings(
            "127.0.0.1", ils.port, *KIOSK_LOGIN, location=KIOSK_LOCATION, institution=KIOSK_INSTITUTION
        )
    )
    try:
        out = await c.checkin(OTHER_LIBRARY_ITEM, txn())
        assert out.route.destination_id == "2201200" and out.route.destination_name == ""
        assert "Alta bibliotek" in out.print_line  # the ILS's slip text still says it
        hold = await c.checkin(HOLD_SHELF_ITEM, txn())
        assert hold.route.destination_name == KIOSK_LIBRARY.name  # from the 98 (AM) of our own login
    finally:
        await c.close()


async def test_renew_rules(circ: Sip2Circulation) -> None:
    ok = await circ.renew(DEMO_PATRON_ID, DEMO_EXISTING_LOAN, txn())
    assert ok.ok and ok.due == datetime(2025, 3, 10, 23, 59)
    held = await circ.renew("219000000004", HOLD_SHELF_ITEM, txn())  # Ivan's loan; Niillas waits for it
    assert (
        not held.ok and held.reason is RefusalReason.ON_HOLD_FOR_ANOTHER and "fornyes" in held.screen_message
    )
    not_mine = await circ.renew(DEMO_PATRON_ID, HOLD_SHELF_ITEM, txn())
    assert not not_mine.ok and not_mine.reason is RefusalReason.NOT_ON_LOAN
    for _ in range(2):
        assert (await circ.renew(DEMO_PATRON_ID, DEMO_EXISTING_LOAN, txn())).ok
    limit = await circ.renew(DEMO_PATRON_ID, DEMO_EXISTING_LOAN, txn())
    assert not limit.ok and limit.reason is RefusalReason.LIMIT_REACHED


async def test_offline_replay_is_recorded_with_given_dates(ils: DemoIls, circ: Sip2Circulation) -> None:
    when = NOW - timedelta(hours=5)
    given_due = datetime(2025, 3, 1, 20, 0)
    # Blocked patrons' offline loans are recorded too: the items already left the building.
    out = await circ.checkout(
        BLOCKED_PATRON_ID, DEMO_BORROW_ITEMS[2], txn(when, offline=True, due_date=given_due)
    )
    assert out.ok and out.due == given_due
    returned = NOW - timedelta(hours=1)
    back = await circ.checkin(DEMO_EXISTING_LOAN, txn(returned, offline=True))
    assert back.ok
    with sqlite3.connect(ils.db_path) as db:
        loan = db.execute(
            "SELECT loaned_at, due_at FROM loans WHERE item_id = ?", (DEMO_BORROW_ITEMS[2],)
        ).fetchone()
        assert loan == ("2025-02-10 07:00:00", "2025-03-01 20:00:00")
        events = db.execute("SELECT kind, at, no_block, nb_due FROM events ORDER BY id").fetchall()
    assert events == [
        ("checkout", "2025-02-10 07:00:00", 1, "2025-03-01 20:00:00"),
        ("checkin", "2025-02-10 11:00:00", 1, None),
    ]


async def test_end_session_and_state_survives_restart(tmp_path: Path) -> None:
    db = create_database(tmp_path / "persist.sqlite", now=NOW)
    async with DemoIls(db, clock=lambda: NOW) as ils:
        c = kiosk(ils)
        assert (await c.checkout(DEMO_PATRON_ID, DEMO_BORROW_ITEMS[0], txn())).ok
        await c.end_session(DEMO_PATRON_ID)
        await c.close()
    async with DemoIls(db, clock=lambda: NOW) as ils:
        c = kiosk(ils)
        status = await c.item_status(DEMO_BORROW_ITEMS[0])
        await c.close()
    assert status.circulation_status == "04" and status.due == datetime(2025, 3, 10, 23, 59)


async def _raw_exchange(port: int, *frames: bytes) -> list[bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    replies = []
    try:
        for frame in frames:
            writer.write(frame)
            await writer.drain()
            replies.append(await asyncio.wait_for(reader.readuntil(b"\r"), timeout=3))
    finally:
        writer.close()
    return replies


async def test_ils_answers_96_to_bad_checksum_and_resends_on_97(ils: DemoIls) -> None:
    login = encode(LoginRequest(login_user_id=KIOSK_LOGIN[0], login_password=KIOSK_LOGIN[1]), seq=0)
    item = encode(ItemInformationRequest(transaction_date=NOW, item_identifier=OTHER_LIBRARY_ITEM), seq=1)
    corrupted = item[:-2] + (b"0" if item[-2:-1] != b"0" else b"1") + b"\r"
    replies = await _raw_exchange(ils.port, login, corrupted, item, b"97AZFEF5\r")
    assert replies[0].startswith(b"941AY0AZ")
    assert isinstance(decode(replies[1], strict=True), RequestScResend)
    assert replies[2].startswith(b"1804") and b"AY1AZ" in replies[2]
    assert replies[3] == replies[2]


async def test_ils_without_login_hangs_up_and_answers_in_kind(ils: DemoIls) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", ils.port)
    writer.write(encode(ItemInformationRequest(transaction_date=NOW, item_identifier="1"), seq=0))
    await writer.drain()
    assert await asyncio.wait_for(reader.read(100), timeout=3) == b""  # closed, no answer
    writer.close()
    # Without error detection in the request, none in the answer.
    login = encode(
        LoginRequest(login_user_id=KIOSK_LOGIN[0], login_password=KIOSK_LOGIN[1]),
        seq=None,
        error_detection=False,
    )
    assert await _raw_exchange(ils.port, login) == [b"941\r"]
    bad = encode(
        LoginRequest(login_user_id=KIOSK_LOGIN[0], login_password="nope"), seq=None, error_detection=False
    )
    assert await _raw_exchange(ils.port, bad) == [b"940\r"]
