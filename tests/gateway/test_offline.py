"""What kiosks fetch for offline work, PIN failures counted across every kiosk, heartbeats, statistics,
/metrics and rate limits."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

import httpx

from server_api.demo_ils import BLOCKED_PATRON_ID, DEMO_PATRON_ID
from server_api.demo_ils.data import PATRONS
from tests.gateway.conftest import HARSTAD, TROMSO, Site, add_staff, txn

PIN_TEST_CARD = PATRONS[6]  # Per Arne Olsen: used by no other test
KNOWN_CARD = PATRONS[2].card


def lookup(kiosk: object, card: str, pin: str | None) -> dict[str, object]:
    answer = kiosk.post("/v1/patrons", json={"patron_id": card, "pin": pin, "txn": txn()})  # type: ignore[attr-defined]
    assert answer.status_code == 200, answer.text
    result: dict[str, object] = answer.json()
    return result


def digest(data: dict[str, object], card: str) -> str:
    hashing = data["hashing"]
    assert isinstance(hashing, dict)
    key = base64.b64decode(hashing["key"])
    return hmac.new(key, card.encode(), hashlib.sha256).hexdigest()[: hashing["hex_digits"]]


def test_offline_data_carries_policy_card_rules_and_hashed_cards_never_a_card_number(site: Site) -> None:
    with site.client(library=TROMSO) as tromso, site.client(library=HARSTAD) as harstad:
        lookup(tromso, KNOWN_CARD, None)
        lookup(tromso, BLOCKED_PATRON_ID, None)  # a Harstad card, blocked, seen at a Tromsø kiosk
        answer = tromso.get("/v1/offline-data")
        theirs = harstad.get("/v1/offline-data").json()
    data = answer.json()
    assert (
        data["library"] == TROMSO
        and data["policy"]["borrowing"] is True
        and data["policy"]["loan_days"] == 14
    )
    assert any(KNOWN_CARD.startswith(p.strip("^")[:4]) for p in data["card_rules"]["patterns"])
    assert digest(data, KNOWN_CARD) in data["known"] and digest(data, KNOWN_CARD) not in data["blocked"]
    assert digest(data, BLOCKED_PATRON_ID) in data["blocked"]
    assert digest(theirs, BLOCKED_PATRON_ID) in theirs["blocked"]  # one card, valid (and blocked) everywhere
    assert theirs["hashing"]["key"] != data["hashing"]["key"]  # each library has its own key
    assert KNOWN_CARD not in answer.text and BLOCKED_PATRON_ID not in answer.text


def test_wrong_pins_are_counted_per_card_across_kiosks_and_cool_the_card_down(site: Site) -> None:
    card = PIN_TEST_CARD.card
    with site.client(site.token(TROMSO, "A")) as first, site.client(site.token(HARSTAD, "B")) as second:
        answers = [lookup(kiosk, card, "0000") for kiosk in (first, second, first, second, first)]
        after_right_pin = lookup(second, card, PIN_TEST_CARD.pin)
        other_card = lookup(first, PATRONS[3].card, PATRONS[3].pin)
    assert [a["account"]["pin_ok"] for a in answers] == [False] * 5  # type: ignore[index]
    assert answers[-1]["cooldown_seconds"] == 15 * 60
    assert after_right_pin["account"]["pin_ok"] is False  # type: ignore[index]
    assert 0 < after_right_pin["cooldown_seconds"] <= 15 * 60  # type: ignore[operator]
    assert "Too many wrong PINs" in after_right_pin["account"]["screen_message"]  # type: ignore[index]
    assert other_card["account"]["pin_ok"] is True and other_card["cooldown_seconds"] == 0  # type: ignore[index]


def test_a_right_pin_before_the_limit_clears_the_count(site: Site) -> None:
    card = PATRONS[5]
    with site.client() as kiosk:
        for _ in range(3):
            lookup(kiosk, card.card, "0000")
        assert lookup(kiosk, card.card, card.pin)["account"]["pin_ok"] is True  # type: ignore[index]
        for _ in range(4):
            last = lookup(kiosk, card.card, "0000")
    assert last["cooldown_seconds"] == 0


def test_heartbeats_reach_metrics_and_staff_and_statistics_hold_no_patron(site: Site) -> None:
    token = site.token(TROMSO, "Heartbeat kiosk")
    oldest = (datetime.now() - timedelta(minutes=30)).isoformat()
    beat = {
        "sent_at": datetime.now().isoformat(),
        "online": False,
        "reader": "ok",
        "printer": "paper_out",
        "journal_depth": 7,
        "oldest_pending_at": oldest,
        "conflicts": 2,
        "clock_synchronised": False,
        "version": "0.1.0",
        "sip2_rtt_ms": 42.5,
    }
    hour = datetime.now().replace(minute=0, second=0, microsecond=0).isoformat()
    with site.client(token) as kiosk:
        assert kiosk.post("/v1/heartbeats", json=beat).status_code == 204
        assert kiosk.post("/v1/heartbeats", json={**beat, "journal_depth": -1}).status_code == 422
        earlier = (datetime.now() - timedelta(days=3)).replace(minute=0, second=0, microsecond=0).isoformat()
        newer = {**beat, "battery": "full", "hours": [{"hour": earlier, "offline_minutes": 1, "queue_ms": 3}]}
        assert kiosk.post("/v1/heartbeats", json=newer).status_code == 204  # a kiosk updated first
        stats = {"hour": hour, "offline_minutes": 12.5, "languages": {"se": 3, "nb": 1}}
        assert kiosk.post("/v1/statistics", json=stats).status_code == 204
        item = {"item_id": "no-such-item", "txn": txn()}
        kiosk.post("/v1/checkouts", json={"patron_id": DEMO_PATRON_ID, "items": [item]})
        metrics = kiosk.get("/metrics").text
    device = token.split(".")[1]
    labels = f'{{device="{device}",kiosk="Heartbeat kiosk",library="{TROMSO}"}}'
    assert f"kiosk_journal_depth{labels} 7.0" in metrics
    assert f"kiosk_online{labels} 0.0" in metrics and f"kiosk_conflicts{labels} 2.0" in metrics
    assert f"kiosk_sip2_rtt_seconds{labels} 0.0425" in metrics
    assert "gateway_http_requests_total" in metrics and DEMO_PATRON_ID not in metrics
    staff = add_staff(site, "stats-reader", TROMSO)
    rows = httpx.get(f"{site.url}/v1/admin/statistics", auth=staff).json()
    mine = {(r["metric"], r["label"]): r["value"] for r in rows if r["device_id"] == device}
    assert mine[("language", "se")] == 3 and mine[("offline_minutes", "")] == 12.5
    assert mine[("refusals", "item_not_found")] == 1
    assert DEMO_PATRON_ID not in str(rows)
    devices = httpx.get(f"{site.url}/v1/admin/devices", auth=staff).json()
    assert next(d for d in devices if d["id"] == device)["heartbeat"]["printer"] == "paper_out"


def test_one_card_looked_up_too_often_is_rate_limited(site: Site) -> None:
    card = PATRONS[4].card
    with site.client() as kiosk:
        codes = [
            kiosk.post("/v1/patrons", json={"patron_id": card, "pin": None, "txn": txn()}).status_code
            for _ in range(21)
        ]
    assert codes[:20] == [200] * 20 and codes[20] == 429
