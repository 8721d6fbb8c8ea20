"""Sign-in rules: lockout, idle logout, the session cookie's flags, sign-out, and the audit of changes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from server_api.console.accounts import LOCK_AFTER, AccountError, add_account
from server_api.console.tables import sessions
from server_api.gateway.devices import utcnow
from server_api.gateway.schema import audit_log
from tests.console.conftest import PASSWORD, TROMSO, ConsoleSite, Staff, unique


def test_after_five_wrong_passwords_even_the_right_one_is_refused_for_a_while(
    console_site: ConsoleSite,
) -> None:
    name = unique("locked")
    engine = console_site.engine()
    add_account(engine, name, PASSWORD, role="staff", libraries=[TROMSO], actor="test")
    for _ in range(LOCK_AFTER):
        assert Staff(console_site.url, name, "wrong password!").login_answer.status_code == 401
    locked = Staff(console_site.url, name)
    assert locked.login_answer.status_code == 401 and "låst i 15 minutter" in locked.login_answer.text
    assert console_site.staff("tove").session  # others sign in as before
    with engine.connect() as db:
        actions = db.execute(select(audit_log.c.action).where(audit_log.c.target == name)).scalars().all()
    assert "console.signin.locked" in actions and "console.account.add" in actions
    engine.dispose()


def test_the_session_cookie_is_secure_http_only_strict_and_limited_to_the_console(
    console_site: ConsoleSite,
) -> None:
    answer = console_site.staff("tove").login_answer
    cookie = next(h for h in answer.headers.get_list("set-cookie") if h.startswith("console_session="))
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite=strict", "path=/console"} <= flags


def test_a_session_idle_longer_than_the_limit_is_gone_and_sign_out_ends_it(console_site: ConsoleSite) -> None:
    idle, active = Staff(console_site.url, "tove"), Staff(console_site.url, "tove")
    engine = console_site.engine()
    with engine.begin() as db:  # idle_minutes = 5 in the test's console.toml
        db.execute(
            update(sessions)
            .where(sessions.c.csrf == idle.csrf)
            .values(seen_at=utcnow() - timedelta(minutes=6))
        )
    answer = idle.get("/console/")
    assert answer.status_code == 303 and answer.headers["location"] == "/console/login?expired=1"
    with engine.connect() as db:
        assert db.execute(select(sessions).where(sessions.c.csrf == idle.csrf)).first() is None
    engine.dispose()
    assert active.get("/console/").status_code == 200
    assert active.post("/console/logout").status_code == 303
    assert active.get("/console/").status_code == 303
    engine = console_site.engine()
    with engine.connect() as db:
        said = set(db.execute(select(audit_log.c.action).where(audit_log.c.actor == "tove")).scalars())
    engine.dispose()
    assert {"console.signin", "console.signout"} <= said


def test_accounts_need_a_long_password_a_known_role_and_staff_a_library(console_site: ConsoleSite) -> None:
    engine = console_site.engine()
    for role, password, libraries in (
        ("staff", "short", [TROMSO]),
        ("chief", PASSWORD, []),
        ("staff", PASSWORD, []),
    ):
        try:
            add_account(engine, unique("x"), password, role=role, libraries=libraries, actor="test")
        except AccountError:
            continue
        raise AssertionError(f"{role}/{password}/{libraries} was accepted")
    engine.dispose()
    ada = console_site.staff("ada")
    refused = ada.post("/console/accounts", {"username": "x", "password": "short", "role": "staff"})
    assert refused.status_code == 422 and "minst 12 tegn" in refused.text


def test_a_disabled_account_is_out_at_once_and_a_new_password_replaces_the_old(
    console_site: ConsoleSite,
) -> None:
    name = unique("leaver")
    engine = console_site.engine()
    add_account(engine, name, PASSWORD, role="staff", libraries=[TROMSO], actor="test")
    engine.dispose()
    leaver, ada = Staff(console_site.url, name), console_site.staff("ada")
    assert ada.post(f"/console/accounts/{name}/state", {"disabled": "1"}).status_code == 303
    assert leaver.get("/console/").status_code == 303  # the open session ends with the account
    assert Staff(console_site.url, name).login_answer.status_code == 401
    assert ada.post(f"/console/accounts/{name}/state", {"disabled": "0"}).status_code == 303
    assert ada.post(f"/console/accounts/{name}/password", {"password": "short"}).status_code == 422
    assert (
        ada.post(f"/console/accounts/{name}/password", {"password": "another long one 2"}).status_code == 303
    )
    assert Staff(console_site.url, name, "another long one 2").session
    assert ada.post("/console/accounts/ada/state", {"disabled": "1"}).status_code == 422  # not oneself
