"""What a kiosk fetches and reports with its device token: configuration (library's, then its own
overrides), staff-screen hashes, commands, tasks; each kiosk reaches only its own."""

from __future__ import annotations

import re

from argon2 import PasswordHasher

from tests.console.conftest import HARSTAD, TROMSO, ConsoleSite, unique


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_the_kiosk_runs_the_librarys_settings_under_its_own_overrides_and_says_which_version(
    console_site: ConsoleSite,
) -> None:
    kiosk_name = unique("Kiosk")
    console_site.enroll(HARSTAD, kiosk_name)
    device = console_site.ids[kiosk_name]
    hanna = console_site.staff("hanna")
    assert (
        hanna.post(f"/console/libraries/{HARSTAD}/config", {"session.idle_timeout": "90"}).status_code == 303
    )
    assert hanna.post(f"/console/kiosks/{device}/config", {"session.idle_warning": "30"}).status_code == 303
    # a library value that no longer fits the kiosk's override is refused, and nothing changes
    refused = hanna.post(f"/console/libraries/{HARSTAD}/config", {"session.idle_timeout": "25"})
    assert refused.status_code == 422 and "idle_warning må være kortere" in refused.text
    with console_site.kiosk(kiosk_name) as kiosk:
        config = kiosk.get("/v1/console/config").json()
        assert (
            config["settings"]["session.idle_timeout"] == 90
            and config["settings"]["session.idle_warning"] == 30
        )
        assert re.fullmatch(r"L\d+\.K1(\.C[0-9a-f]{6})?", config["version"])
        kiosk.post("/v1/console/config/report", json={"version": config["version"]}).raise_for_status()
    assert config["version"] in hanna.get(f"/console/kiosks/{device}").text


def test_a_roll_back_is_a_new_version_with_the_old_settings_and_the_history_shows_each_change(
    console_site: ConsoleSite,
) -> None:
    kiosk_name = unique("Kiosk")
    console_site.enroll(TROMSO, kiosk_name)
    path = f"/console/kiosks/{console_site.ids[kiosk_name]}/config"
    tove = console_site.staff("tove")
    tove.post(path, {"session.goodbye_time": "8"})
    tove.post(path, {"session.goodbye_time": "12"})
    page = tove.get(path).text
    first = re.search(r'name="version_id" value="(\d+)">\s*<button type="submit">Gå tilbake til 1<', page)
    assert first is not None and "session.goodbye_time: 8 → 12" in page
    assert (
        tove.post(f"/console/libraries/{TROMSO}/config/rollback", {"version_id": first.group(1)}).status_code
        == 303
    )
    page = tove.get(path).text
    assert "roll-back to 1" in page and "session.goodbye_time: 12 → 8" in page
    with console_site.kiosk(kiosk_name) as kiosk:
        assert kiosk.get("/v1/console/config").json()["settings"]["session.goodbye_time"] == 8
    hanna = console_site.staff("hanna")  # another library's version cannot be rolled back from here
    assert (
        hanna.post(
            f"/console/libraries/{HARSTAD}/config/rollback", {"version_id": first.group(1)}
        ).status_code
        == 404
    )


def test_staff_screen_logins_are_hashes_and_a_kiosks_own_overrides_the_librarys(
    console_site: ConsoleSite,
) -> None:
    kiosk_name = unique("Kiosk")
    console_site.enroll(TROMSO, kiosk_name)
    tove = console_site.staff("tove")
    path = f"/console/libraries/{TROMSO}/credentials"
    tove.post(path, {"username": "skranke", "password": "library-wide-1"})
    tove.post(
        path, {"username": "skranke", "password": "kiosk-only-22", "device_id": console_site.ids[kiosk_name]}
    )
    with console_site.kiosk(kiosk_name) as kiosk:
        logins = kiosk.get("/v1/console/config").json()["staff_credentials"]
    with console_site.kiosk("Harstad 1") as other:
        assert all(
            c["username"] != "skranke" for c in other.get("/v1/console/config").json()["staff_credentials"]
        )
    (login,) = [c for c in logins if c["username"] == "skranke"]
    assert login["password_hash"].startswith("$argon2") and "kiosk-only-22" not in str(logins)
    assert PasswordHasher().verify(login["password_hash"], "kiosk-only-22")


def test_commands_reach_only_their_kiosk_and_fetched_logs_come_back_to_the_technician(
    console_site: ConsoleSite,
) -> None:
    tor = console_site.staff("tor")
    device = console_site.ids["Tromsø 1"]
    tor.post(f"/console/kiosks/{device}/commands", {"kind": "out_of_order", "message": "Ute av drift i dag"})
    tor.post(f"/console/kiosks/{device}/commands", {"kind": "fetch_logs"})
    assert "Ute av drift" in tor.get("/console/").text
    with console_site.kiosk("Harstad 1") as other:
        assert all(
            c["kind"] != "out_of_order" or "i dag" not in c["message"]
            for c in other.get("/v1/console/commands").json()
        )
    with console_site.kiosk("Tromsø 1") as kiosk:
        pending = kiosk.get("/v1/console/commands").json()
        logs = next(c for c in pending if c["kind"] == "fetch_logs")
        with console_site.kiosk("Harstad 1") as other:
            assert other.post(f"/v1/console/commands/{logs['id']}", json={"ok": True}).status_code == 404
        for command in pending:
            output = "12:00 station started\n12:01 reader ok\n" if command["kind"] == "fetch_logs" else ""
            kiosk.post(
                f"/v1/console/commands/{command['id']}", json={"ok": True, "output": output}
            ).raise_for_status()
        assert kiosk.get("/v1/console/commands").json() == []
    download = tor.get(f"/console/kiosks/{device}/commands/{logs['id']}/output")
    assert download.status_code == 200 and "reader ok" in download.text
    assert (
        console_site.staff("tove").get(f"/console/kiosks/{device}/commands/{logs['id']}/output").status_code
        == 403
    )
    tor.post(f"/console/kiosks/{device}/commands", {"kind": "in_service"})
    assert "Ute av drift" not in tor.get("/console/").text


def test_a_kiosk_posting_a_task_again_updates_it_and_reads_only_its_own(console_site: ConsoleSite) -> None:
    key = unique("slip")
    task = {"key": key, "kind": "lost_slip", "item_id": "0301", "summary": "slip not printed"}
    with console_site.kiosk("Tromsø 1") as kiosk:
        kiosk.post("/v1/console/tasks", json=[task]).raise_for_status()
        kiosk.post("/v1/console/tasks", json=[{**task, "ils_message": "Send to Harstad"}]).raise_for_status()
        mine = [t for t in kiosk.get("/v1/console/tasks").json() if t["key"] == key]
        assert len(mine) == 1 and mine[0]["ils_message"] == "Send to Harstad"
        assert kiosk.post("/v1/console/tasks", json=[{**task, "kind": "bogus"}]).status_code == 422
    with console_site.kiosk("Harstad 1") as other:
        assert all(t["key"] != key for t in other.get("/v1/console/tasks").json())
    assert httpx_status(console_site.url + "/v1/console/tasks") == 401


def httpx_status(url: str) -> int:
    import httpx

    return httpx.get(url, timeout=10).status_code
