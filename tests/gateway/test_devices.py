"""Enrollment, revocation, tenancy (a device of library A never acts for library B), staff, audit log."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from server_api.console.accounts import add_account
from server_api.demo_ils import DEMO_PATRON_ID
from server_api.demo_ils.data import NOT_FOR_LOAN_ITEM
from server_api.gateway.config import load
from server_api.gateway.storage import open_engine
from tests.gateway.conftest import ALTA, HARSTAD, STAFF_PASSWORD, TROMSO, Site, add_staff, txn
from tests.gateway.servers import enrollment_code


def body_for(endpoint: str, library: str) -> tuple[str, str, dict[str, Any] | None]:
    item = {"item_id": NOT_FOR_LOAN_ITEM, "txn": txn()}
    bodies: dict[str, tuple[str, str, dict[str, Any] | None]] = {
        "checkouts": (
            "POST",
            "/v1/checkouts",
            {"library": library, "patron_id": DEMO_PATRON_ID, "items": [item]},
        ),
        "checkins": ("POST", "/v1/checkins", {"library": library, "items": [item]}),
        "renewals": (
            "POST",
            "/v1/renewals",
            {"library": library, "patron_id": DEMO_PATRON_ID, "items": [item]},
        ),
        "patrons": ("POST", "/v1/patrons", {"library": library, "patron_id": DEMO_PATRON_ID, "txn": txn()}),
        "sessions": ("POST", "/v1/sessions/end", {"library": library, "patron_id": DEMO_PATRON_ID}),
        "offline-data": ("GET", f"/v1/offline-data?library={library}", None),
    }
    return bodies[endpoint]


ENDPOINTS = ["checkouts", "checkins", "renewals", "patrons", "sessions", "offline-data"]


@pytest.fixture(scope="module")
def two_libraries_kiosks(site: Site) -> dict[str, str]:
    """A kiosk of Tromsø and one of Harstad (enrolled once for the matrix: enrolling is not its subject)."""
    return {TROMSO: site.token(TROMSO, "Tromsø 1"), HARSTAD: site.token(HARSTAD, "Harstad 1")}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_tenancy_matrix_a_device_acts_for_its_own_library_only(
    site: Site, two_libraries_kiosks: dict[str, str], endpoint: str
) -> None:
    tokens = two_libraries_kiosks
    seen = {}
    for device_library, token in tokens.items():
        with site.client(token) as kiosk:
            for target in (TROMSO, HARSTAD):
                method, path, body = body_for(endpoint, target)
                seen[device_library, target] = kiosk.request(method, path, json=body).status_code
    allowed = {code for (device, target), code in seen.items() if device == target}
    refused = {code for (device, target), code in seen.items() if device != target}
    assert allowed <= {200, 204} and refused == {403}, seen


def test_a_transaction_of_another_library_is_not_shown(site: Site) -> None:
    record = txn()
    with site.client(library=TROMSO) as tromso, site.client(library=HARSTAD) as harstad:
        item = {"item_id": NOT_FOR_LOAN_ITEM, "txn": record}
        tromso.post("/v1/checkouts", json={"patron_id": DEMO_PATRON_ID, "items": [item]})
        assert tromso.get(f"/v1/transactions/{record['id']}").status_code == 200
        assert harstad.get(f"/v1/transactions/{record['id']}").status_code == 403
        reused = harstad.post("/v1/checkouts", json={"patron_id": DEMO_PATRON_ID, "items": [item]}).json()
    assert reused["results"][0]["state"] == "key_reused" and reused["results"][0]["outcome"] is None


def test_a_code_enrolls_one_device_once_and_a_mistyped_one_nothing(site: Site) -> None:
    code = enrollment_code(site.config, TROMSO, "Tromsø 2")
    typed = code.lower().replace("-", " ")  # staff read it aloud; the kiosk keyboard has no dashes
    first = httpx.post(f"{site.url}/v1/enroll", json={"code": typed})
    again = httpx.post(f"{site.url}/v1/enroll", json={"code": code})
    wrong = httpx.post(f"{site.url}/v1/enroll", json={"code": code[:-1] + ("A" if code[-1] != "A" else "B")})
    assert first.status_code == 200 and first.json()["kiosk_name"] == "Tromsø 2"
    assert again.status_code == 403 and "already used" in again.json()["message"]
    assert wrong.status_code == 403 and again.json()["error"] == "enrollment_refused"


def test_no_token_a_bad_token_and_a_revoked_token_are_refused(site: Site) -> None:
    token = site.token()
    assert httpx.get(f"{site.url}/v1/device").status_code == 401
    bad = httpx.get(f"{site.url}/v1/device", headers={"Authorization": f"Bearer {token[:-2]}xx"})
    assert bad.status_code == 401 and bad.json()["error"] == "bad_token"
    staff = add_staff(site, "tromso-staff", TROMSO)
    device_id = token.split(".")[1]
    with site.client(token) as kiosk:
        assert kiosk.get("/v1/device").status_code == 200
        revoked = httpx.post(f"{site.url}/v1/admin/devices/{device_id}/revoke", auth=staff)
        assert revoked.status_code == 200
        assert kiosk.get("/v1/device").status_code == 401


def test_staff_see_and_change_only_their_own_library(site: Site) -> None:
    harstad_token = site.token(HARSTAD, "Harstad 9")
    site.token(TROMSO, "Tromsø 9")  # the test's own: not one an earlier test happened to leave
    staff = add_staff(site, "tromso-only", TROMSO)
    admin = add_staff(site, "consortium-admin", None, role="admin")
    listed = httpx.get(f"{site.url}/v1/admin/devices", auth=staff).json()
    assert listed and {row["library"] for row in listed} == {TROMSO}
    assert httpx.get(f"{site.url}/v1/admin/devices?library={HARSTAD}", auth=staff).status_code == 403
    harstad_device = harstad_token.split(".")[1]
    assert httpx.post(f"{site.url}/v1/admin/devices/{harstad_device}/revoke", auth=staff).status_code == 404
    code = httpx.post(
        f"{site.url}/v1/admin/enrollment-codes", auth=staff, json={"library": HARSTAD, "kiosk_name": "x"}
    )
    assert code.status_code == 403
    everything = httpx.get(f"{site.url}/v1/admin/devices", auth=admin).json()
    assert {TROMSO, HARSTAD} <= {row["library"] for row in everything}
    assert (
        httpx.get(f"{site.url}/v1/admin/devices", auth=("tromso-only", "wrong password!")).status_code == 401
    )


def test_staff_of_two_libraries_reach_both_and_no_third(site: Site) -> None:
    engine = open_engine(load(site.config).database_url())
    try:
        add_account(
            engine, "two-libraries", STAFF_PASSWORD, role="staff", libraries=[HARSTAD, ALTA], actor="t"
        )
    finally:
        engine.dispose()
    staff = ("two-libraries", STAFF_PASSWORD)
    tokens = {library: site.token(library, f"Two {library}") for library in (TROMSO, HARSTAD, ALTA)}
    listed = httpx.get(f"{site.url}/v1/admin/devices", auth=staff).json()
    assert {row["library"] for row in listed} == {HARSTAD, ALTA}
    alta = httpx.get(f"{site.url}/v1/admin/devices?library={ALTA}", auth=staff).json()
    assert {row["library"] for row in alta} == {ALTA}
    assert httpx.get(f"{site.url}/v1/admin/devices?library={TROMSO}", auth=staff).status_code == 403
    codes = f"{site.url}/v1/admin/enrollment-codes"
    assert httpx.post(codes, auth=staff, json={"kiosk_name": "x"}).status_code == 422  # which of the two?
    assert httpx.post(codes, auth=staff, json={"library": ALTA, "kiosk_name": "x"}).status_code == 200
    assert httpx.post(codes, auth=staff, json={"library": TROMSO, "kiosk_name": "x"}).status_code == 403
    revoke = f"{site.url}/v1/admin/devices/{{}}/revoke"
    assert httpx.post(revoke.format(tokens[TROMSO].split(".")[1]), auth=staff).status_code == 404
    assert httpx.post(revoke.format(tokens[ALTA].split(".")[1]), auth=staff).status_code == 200
    audit = httpx.get(f"{site.url}/v1/admin/audit", auth=staff).json()
    assert audit and {row["library"] for row in audit} <= {HARSTAD, ALTA}
    assert ("two-libraries", "device.revoke", ALTA) in {
        (r["actor"], r["action"], r["library"]) for r in audit
    }


def test_every_staff_change_is_in_the_audit_log_without_secrets(site: Site) -> None:
    staff = add_staff(site, "auditor", TROMSO)
    made = httpx.post(f"{site.url}/v1/admin/enrollment-codes", auth=staff, json={"kiosk_name": "Tromsø 7"})
    assert made.status_code == 200
    code = made.json()["code"]
    enrolled = httpx.post(f"{site.url}/v1/enroll", json={"code": code}).json()
    httpx.post(f"{site.url}/v1/admin/devices/{enrolled['device_id']}/revoke", auth=staff)
    log = httpx.get(f"{site.url}/v1/admin/audit", auth=staff).json()
    actions = [(row["actor"], row["action"]) for row in log]
    assert ("auditor", "enrollment_code.create") in actions
    assert ("auditor", "device.revoke") in actions
    assert (f"device:{enrolled['device_id']}", "device.enroll") in actions
    text = str(log)
    assert code not in text and code.split("-")[1] not in text and enrolled["token"] not in text
    assert STAFF_PASSWORD not in text
