"""Every circulation action reaches the library system once, however often and wherever its key arrives."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import httpx

from server_api.demo_ils import DEMO_PATRON_ID, DEMO_PATRON_PIN, applied_transactions
from tests.gateway.conftest import Site, free_books, txn

BOOKS = free_books()


def applied(site: Site, item_id: str, operation: str = "checkout") -> int:
    events = applied_transactions(site.ils.db_path)
    return sum(1 for t in events if t.item_id == item_id and t.operation == operation)


def at_once(urls: list[str], token: str, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """POST `body` to every url in `urls` at the same moment, each from its own client."""
    answers: list[dict[str, Any]] = []
    start = threading.Barrier(len(urls))

    def send(url: str) -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
            start.wait(5)
            answers.append(client.post(path, json=body).json()["results"][0])

    threads = [threading.Thread(target=send, args=(url,)) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return answers


def checkout_body(*items: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "patron_id": DEMO_PATRON_ID,
        "pin": DEMO_PATRON_PIN,
        "items": [{"item_id": item, "txn": record} for item, record in items],
    }


def test_a_stack_is_carried_out_item_by_item_and_a_repeat_is_answered_from_the_ledger(site: Site) -> None:
    books = BOOKS[10:13]
    body = checkout_body(*((book, txn()) for book in books))
    with site.client() as kiosk:
        answer = kiosk.post("/v1/checkouts", json=body)
        assert answer.status_code == 200, answer.text
        first = answer.json()["results"]
        again = kiosk.post("/v1/checkouts", json=body).json()["results"]
    assert [r["state"] for r in first] == ["done"] * 3
    assert all(r["outcome"]["ok"] and r["outcome"]["due"] for r in first)
    assert [r["repeat"] for r in first] == [False] * 3
    assert [r["repeat"] for r in again] == [True] * 3
    assert [r["outcome"] for r in again] == [r["outcome"] for r in first]
    assert [applied(site, book) for book in books] == [1, 1, 1]


def test_the_same_key_sent_by_many_clients_at_once_reaches_the_library_system_once(site: Site) -> None:
    book = BOOKS[14]
    answers = at_once([site.url] * 8, site.token(), "/v1/checkouts", checkout_body((book, txn())))
    assert len(answers) == 8
    assert {a["state"] for a in answers} == {"done"}
    assert len({str(a["outcome"]) for a in answers}) == 1
    assert Counter(a["repeat"] for a in answers) == {False: 1, True: 7}
    assert applied(site, book) == 1


def test_two_gateway_processes_receiving_the_same_key_at_once_send_it_once(site: Site) -> None:
    other = site.second_process()
    try:
        token = site.token()
        for book in BOOKS[15:18]:
            answers = at_once([site.url, other.url] * 3, token, "/v1/checkouts", checkout_body((book, txn())))
            assert {a["state"] for a in answers} == {"done"}, answers
            assert Counter(a["repeat"] for a in answers) == {False: 1, True: 5}
            assert applied(site, book) == 1
    finally:
        other.stop()


def test_a_key_used_again_for_another_item_is_refused_and_sends_nothing(site: Site) -> None:
    record = txn()
    with site.client() as kiosk:
        first = kiosk.post("/v1/checkouts", json=checkout_body((BOOKS[18], record))).json()["results"][0]
        reused = kiosk.post("/v1/checkouts", json=checkout_body((BOOKS[19], record))).json()["results"][0]
        checkin = {"items": [{"item_id": BOOKS[18], "txn": record}]}
        as_checkin = kiosk.post("/v1/checkins", json=checkin).json()
    assert first["state"] == "done"
    assert reused["state"] == "key_reused" and reused["outcome"] is None
    assert as_checkin["results"][0]["state"] == "key_reused"
    assert applied(site, BOOKS[19]) == 0


def test_one_key_twice_in_one_stack_is_a_bad_request(site: Site) -> None:
    record = txn()
    with site.client() as kiosk:
        answer = kiosk.post("/v1/checkouts", json=checkout_body((BOOKS[20], record), (BOOKS[21], record)))
    assert answer.status_code == 422
    assert answer.json()["error"] == "duplicate_key"
    assert applied(site, BOOKS[20]) == applied(site, BOOKS[21]) == 0


def test_what_happened_to_a_transaction_is_answered_from_the_ledger(site: Site) -> None:
    record, unknown = txn(), txn()
    with site.client() as kiosk:
        kiosk.post("/v1/checkouts", json=checkout_body((BOOKS[22], record)))
        done = kiosk.get(f"/v1/transactions/{record['id']}").json()
        never = kiosk.get(f"/v1/transactions/{unknown['id']}").json()
        back = kiosk.post("/v1/checkins", json={"items": [{"item_id": BOOKS[22], "txn": txn()}]}).json()
    assert done["known"] and done["state"] == "done" and done["operation"] == "checkout"
    assert done["outcome"]["ok"] and done["outcome"]["item_id"] == BOOKS[22]
    assert never == {**never, "known": False, "state": None}
    assert back["results"][0]["outcome"]["ok"]
    assert applied(site, BOOKS[22], "checkin") == 1


def test_an_offline_action_is_replayed_with_its_own_date_and_due_date_once(site: Site) -> None:
    when = "2026-11-20T10:15:00"
    record = txn(at=when, offline=True, clock_synchronised=False, due_date="2026-12-04T23:59:00")
    with site.client() as kiosk:
        for _ in range(2):
            kiosk.post("/v1/checkouts", json=checkout_body((BOOKS[23], record)))
    events = [t for t in applied_transactions(site.ils.db_path) if t.item_id == BOOKS[23]]
    assert len(events) == 1
    assert events[0].no_block and events[0].transaction_date.isoformat() == when
    assert events[0].nb_due is not None and events[0].nb_due.date().isoformat() == "2026-12-04"
