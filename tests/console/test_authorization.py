"""Every console route × every role × own/other library → the status the rules promise; and a page of one
library is never rendered for staff of another (tenancy is in the queries, so no URL reaches it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from server_api.console.accounts import viewer_of
from server_api.console.operations import queue_command
from server_api.console.tables import config_versions, tasks
from tests.console.conftest import HARSTAD, PASSWORD, TROMSO, ConsoleSite, Staff, unique

# Written out by hand (not taken from the code under test): who may do what.
MAY: dict[str, set[str]] = {
    "fleet": {"admin", "staff", "technician"},
    "configure": {"admin", "staff", "technician"},
    "credentials": {"admin", "staff"},
    "technician": {"admin", "technician"},
    "tasks": {"admin", "staff"},
    "statistics": {"admin", "staff"},
    "accounts": {"admin"},
    "audit": {"admin"},
}
# The people of the matrix: role, and which of the two libraries they see.
PEOPLE = {
    "ada": ("admin", {TROMSO, HARSTAD}),
    "tove": ("staff", {TROMSO}),
    "tor": ("technician", {TROMSO}),
    "teo": ("technician", {TROMSO, HARSTAD}),  # a technician of no library in particular: all of them
    "hanna": ("staff", {HARSTAD}),
}
KIOSK_OF = {TROMSO: "Tromsø 1", HARSTAD: "Harstad 1"}


@dataclass(frozen=True)
class Route:
    name: str
    permission: str
    per_library: bool  # the URL names a library's kiosk, library or task
    method: str
    success: int
    call: Callable[[Staff, ConsoleSite, str], object]


def _task_id(site: ConsoleSite, library: str) -> str:
    key = unique("task")
    with site.kiosk(KIOSK_OF[library]) as kiosk:
        body = [{"key": key, "kind": "conflict", "item_id": "0300001", "summary": "x", "ils_message": "y"}]
        kiosk.post("/v1/console/tasks", json=body).raise_for_status()
    engine = site.engine()
    with engine.connect() as db:
        found = db.execute(select(tasks.c.id).where(tasks.c.kiosk_key == key)).scalar_one()
    engine.dispose()
    return str(found)


_MADE: dict[tuple[str, str], str] = {}


def _command_output(site: ConsoleSite, library: str) -> str:
    """A finished fetch_logs command of the library's kiosk: the URL of its output (made once)."""
    if (site.url, library) in _MADE:
        return _MADE[site.url, library]
    engine = site.engine()
    viewer = viewer_of(engine, "ada")
    assert viewer is not None
    command = queue_command(engine, viewer, site.ids[KIOSK_OF[library]], library, "fetch_logs")
    engine.dispose()
    with site.kiosk(KIOSK_OF[library]) as kiosk:
        kiosk.post(f"/v1/console/commands/{command}", json={"ok": True, "output": "log"}).raise_for_status()
    _MADE[site.url, library] = f"{kp(site, library)}/commands/{command}/output"
    return _MADE[site.url, library]


def _a_version(site: ConsoleSite, library: str) -> dict[str, str]:
    """The form that rolls the library's settings back to a version of theirs: the newest, saved here by
    the consortium's admin when no test has saved one yet (the tests share one site, in any order)."""

    def newest() -> Any:
        engine = site.engine()
        with engine.connect() as db:
            found = db.execute(
                select(config_versions.c.id)
                .where(config_versions.c.library == library, config_versions.c.device_id == "")
                .order_by(config_versions.c.id.desc())
            ).first()
        engine.dispose()
        return found

    found = newest()
    if found is None:
        saved = site.staff("ada").post(f"{lp(library)}/config", {"session.goodbye_time": "8"})
        assert saved.status_code == 303, saved.text[-500:]
        found = newest()
    assert found is not None
    return {"version_id": str(found.id)}


def kp(site: ConsoleSite, library: str) -> str:
    return f"/console/kiosks/{site.ids[KIOSK_OF[library]]}"


def lp(library: str) -> str:
    return f"/console/libraries/{library}"


NEW_ACCOUNT = {"password": "a long password 1", "role": "technician"}
CREDENTIAL = {"username": "desk", "password": "staff-screen-1"}
ROUTES = [
    Route("fleet", "fleet", False, "GET", 200, lambda s, site, lib: s.get("/console/")),
    Route("kiosk", "fleet", True, "GET", 200, lambda s, site, lib: s.get(kp(site, lib))),
    Route("kiosk config", "configure", True, "GET", 200,
          lambda s, site, lib: s.get(f"{kp(site, lib)}/config")),
    Route("library config", "configure", True, "GET", 200, lambda s, site, lib: s.get(f"{lp(lib)}/config")),
    Route("tasks", "tasks", False, "GET", 200, lambda s, site, lib: s.get("/console/tasks")),
    Route("statistics", "statistics", True, "GET", 200,
          lambda s, site, lib: s.get(f"/console/statistics?library={lib}")),
    Route("statistics csv", "statistics", True, "GET", 200,
          lambda s, site, lib: s.get(f"/console/statistics.csv?library={lib}")),
    Route("accounts", "accounts", False, "GET", 200, lambda s, site, lib: s.get("/console/accounts")),
    Route("audit", "audit", False, "GET", 200, lambda s, site, lib: s.get("/console/audit")),
    Route("command", "technician", True, "POST", 303,
          lambda s, site, lib: s.post(f"{kp(site, lib)}/commands", {"kind": "fetch_logs"})),
    Route("save kiosk config", "configure", True, "POST", 303,
          lambda s, site, lib: s.post(f"{kp(site, lib)}/config", {"session.goodbye_time": "6"})),
    Route("save library config", "configure", True, "POST", 303,
          lambda s, site, lib: s.post(f"{lp(lib)}/config", {"session.goodbye_time": "7"})),
    Route("roll back", "configure", True, "POST", 303,
          lambda s, site, lib: s.post(f"{lp(lib)}/config/rollback", _a_version(site, lib))),
    Route("command output", "technician", True, "GET", 200,
          lambda s, site, lib: s.get(_command_output(site, lib))),
    Route("handled tasks", "tasks", False, "GET", 200,
          lambda s, site, lib: s.get("/console/tasks?handled=1")),
    Route("language", "fleet", False, "GET", 303, lambda s, site, lib: s.get("/console/language/en")),
    Route("credential", "credentials", True, "POST", 303,
          lambda s, site, lib: s.post(f"{lp(lib)}/credentials", CREDENTIAL)),
    Route("handle task", "tasks", True, "POST", 303,
          lambda s, site, lib: s.post(f"/console/tasks/{_task_id(site, lib)}/handle", {"note": "ok"})),
    Route("disable account", "accounts", False, "POST", 303,
          lambda s, site, lib: s.post("/console/accounts/mia/state", {"disabled": "1"})),
    Route("reset password", "accounts", False, "POST", 303,
          lambda s, site, lib: s.post("/console/accounts/mia/password", {"password": "a new long password"})),
    Route("add account", "accounts", False, "POST", 303,
          lambda s, site, lib: s.post("/console/accounts", {"username": unique("u"), **NEW_ACCOUNT})),
]  # fmt: skip


def expected(route: Route, person: str, library: str) -> int:
    role, sees = PEOPLE[person]
    if route.per_library and library not in sees:
        return 404  # another library's thing does not exist for them
    return route.success if role in MAY[route.permission] else 403


@pytest.fixture(scope="module")
def people(console_site: ConsoleSite) -> dict[str, Staff]:
    return {name: console_site.staff(name) for name in PEOPLE}


def test_every_route_every_role_own_and_other_library_gets_the_expected_status(
    console_site: ConsoleSite, people: dict[str, Staff]
) -> None:
    wrong = []
    for route in ROUTES:
        for person, staff in people.items():
            for library in (TROMSO, HARSTAD):
                answer = route.call(staff, console_site, library)
                status = answer.status_code  # type: ignore[attr-defined]
                if status != expected(route, person, library):
                    want = expected(route, person, library)
                    wrong.append(f"{route.name} as {person} for {library}: {status}, not {want}")
    assert not wrong, "\n".join(wrong)


def test_a_page_of_harstad_is_never_rendered_for_staff_of_tromso(
    console_site: ConsoleSite, people: dict[str, Staff]
) -> None:
    harstad_id = console_site.ids["Harstad 1"]
    tove = people["tove"]
    paths = ["/console/", "/console/tasks", "/console/tasks?handled=1", "/console/statistics",
             "/console/statistics.csv", f"{lp(TROMSO)}/config", f"/console/kiosks/{harstad_id}",
             f"/console/kiosks/{harstad_id}/config", f"{lp(HARSTAD)}/config",
             f"/console/statistics?library={HARSTAD}"]  # fmt: skip
    for path in paths:
        text = tove.get(path).text
        assert "Harstad 1" not in text, path
        if harstad_id not in path:  # (a URL naming it is echoed in the language link, nothing more)
            assert harstad_id not in text, path


def test_without_a_session_every_page_sends_to_sign_in_and_every_post_is_refused(
    console_site: ConsoleSite,
) -> None:
    anonymous = Staff(console_site.url, "nobody-at-all")
    assert anonymous.login_answer.status_code == 401
    for route in [r for r in ROUTES if r.name != "language"]:  # choosing a language needs no session
        answer = route.call(anonymous, console_site, TROMSO)
        assert answer.status_code == 303, route.name  # type: ignore[attr-defined]
        assert answer.headers["location"].startswith("/console/login")  # type: ignore[attr-defined]


def test_a_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing(
    console_site: ConsoleSite, people: dict[str, Staff]
) -> None:
    ada = people["ada"]
    before = ada.get(f"/console/libraries/{TROMSO}/config").text.count("<tr>")
    path = f"/console/libraries/{TROMSO}/config"
    assert ada.post(path, {"session.goodbye_time": "9"}, csrf=False).status_code == 403
    assert ada.post(path, {"csrf": "forged", "session.goodbye_time": "9"}, csrf=False).status_code == 403
    assert ada.get(path).text.count("<tr>") == before


# The gateway's own staff endpoints (HTTP Basic) know the console's roles too: (method, path, who may).
ADMIN_API = [
    ("GET", f"/v1/admin/devices?library={TROMSO}", {"ada", "tove", "tor", "teo"}),
    ("GET", f"/v1/admin/devices?library={HARSTAD}", {"ada", "teo"}),
    ("GET", f"/v1/admin/statistics?library={TROMSO}", {"ada", "tove"}),
    ("GET", "/v1/admin/audit", {"ada", "tove"}),
]


def test_the_gateways_staff_endpoints_know_the_consoles_roles(console_site: ConsoleSite) -> None:
    wrong = []
    for person in ("tor", "teo"):  # administrators and library staff: tests/gateway/test_devices.py
        with httpx.Client(base_url=console_site.url, auth=(person, PASSWORD), timeout=30) as http:
            for method, path, allowed in ADMIN_API:
                status = http.request(method, path).status_code
                if (status == 200) != (person in allowed) or status not in (200, 403):
                    wrong.append(f"{method} {path} as {person}: {status}")
    assert not wrong, "\n".join(wrong)
