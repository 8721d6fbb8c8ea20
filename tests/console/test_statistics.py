"""Statistics from real circulation through the gateway: charts as SVG, CSV with counts only."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime

from server_api.demo_ils import DEMO_PATRON_ID, DEMO_PATRON_PIN
from tests.console.conftest import ConsoleSite
from tests.gateway.conftest import free_books


def test_loans_languages_and_offline_minutes_show_as_charts_and_csv_without_patron_data(
    console_site: ConsoleSite,
) -> None:
    item = free_books()[-1]
    hour = datetime.now().replace(minute=0, second=0, microsecond=0).isoformat()
    with console_site.kiosk("Tromsø 1") as kiosk:
        txn = {"id": str(uuid.uuid4()), "at": datetime.now().replace(microsecond=0).isoformat()}
        stack = {
            "patron_id": DEMO_PATRON_ID,
            "pin": DEMO_PATRON_PIN,
            "items": [{"item_id": item, "txn": txn}],
        }
        answer = kiosk.post("/v1/checkouts", json=stack)
        assert answer.json()["results"][0]["outcome"]["ok"], answer.text
        report = {"hour": hour, "offline_minutes": 4, "languages": {"se": 2, "nb": 5}}
        kiosk.post("/v1/statistics", json=report).raise_for_status()
    tove = console_site.staff("tove")
    page = tove.get("/console/statistics?days=2").text
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" role="img"') == 5
    assert "Tromsø 1" in page and "Harstad 1" not in page
    export = tove.get("/console/statistics.csv?days=2")
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    cells = {(r["kiosk"], r["metric"], r["label"]): float(r["value"]) for r in rows}
    assert cells[("Tromsø 1", "loans", "")] >= 1
    assert cells[("Tromsø 1", "language", "se")] == 2 and cells[("Tromsø 1", "offline_minutes", "")] == 4
    assert DEMO_PATRON_ID not in export.text and item not in export.text and DEMO_PATRON_ID not in page
    assert {r["library"] for r in rows} == {"2190000"}
