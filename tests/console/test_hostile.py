"""A hostile or clumsy client gets a clear 4xx, never a server error, and the console's pages carry
headers that keep them out of frames and other sites' scripts."""

from __future__ import annotations

from tests.console.conftest import ConsoleSite


def test_odd_requests_get_clear_answers_not_server_errors(console_site: ConsoleSite) -> None:
    ada = console_site.staff("ada")
    device = console_site.ids["Tromsø 1"]
    huge = "9" * 30
    assert ada.get(f"/console/kiosks/{device}/commands/{huge}/output").status_code == 422
    assert ada.post(f"/console/tasks/{huge}/handle").status_code == 422
    assert ada.post(f"/console/kiosks/{device}/commands", {"kind": "format_disk"}).status_code == 422
    assert ada.post(f"/console/kiosks/{device}/commands", {"kind": "out_of_order"}).status_code == 422
    assert ada.get("/console/kiosks/" + "x" * 5000).status_code == 404
    assert ada.get("/console/statistics?days=100000").status_code == 422
    assert ada.get("/console/language/en?back=https://evil.example/").headers["location"] == "/console/"
    assert ada.get("/console").headers["location"] == "/console/"
    with console_site.kiosk("Tromsø 1") as kiosk:
        assert kiosk.post(f"/v1/console/commands/{huge}", json={"ok": True}).status_code == 422
        assert (
            kiosk.post("/v1/console/tasks", json=[{"key": "k", "kind": "conflict", "extra": 1}]).status_code
            == 422
        )
        assert kiosk.post("/v1/console/config/report", json={"version": ""}).status_code == 422


def test_console_pages_forbid_frames_and_foreign_scripts(console_site: ConsoleSite) -> None:
    page = console_site.staff("ada").get("/console/")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
