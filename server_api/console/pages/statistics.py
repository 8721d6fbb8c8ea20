"""Statistics as charts and tables, and the same figures as CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from server_api.gateway.storage import run

from .. import stats
from ..accounts import Viewer
from ..web import PREFIX, ConsoleError, console_of, gettext, render, require, viewer

router = APIRouter(prefix=PREFIX)
Person = Annotated[Viewer, Depends(viewer)]
Days = Annotated[int, Query(ge=1, le=400)]


def _check(request: Request, person: Viewer, library: str) -> None:
    if library and library not in console_of(request).gateway.config.libraries():
        raise ConsoleError(404, "not_found")
    require(person, "statistics", library or None)


@router.get("/statistics")
async def statistics_page(request: Request, person: Person, library: str = "", days: Days = 30) -> Response:
    _check(request, person, library)
    data = await run(lambda: stats.rows(console_of(request).engine, person, days, library or None))
    summary = stats.summarise(data)
    _ = gettext(request)
    totals = {a: sum(day[a] for day in summary.by_day.values()) for a in stats.ACTIONS}
    charts = {
        "actions": stats.bar_chart(
            _("Loans, returns, renewals and refusals"), [(_(a), v) for a, v in totals.items()]
        ),
        "hours": stats.bar_chart(
            _("Loans, returns and renewals by hour of day"),
            [(f"{h:02d}", v) for h, v in summary.by_hour.items()],
        ),
        "reasons": stats.bar_chart(
            _("Refusal reasons"), sorted(summary.reasons.items(), key=lambda i: -i[1])
        ),
        "languages": stats.bar_chart(
            _("Languages used"), sorted(summary.languages.items(), key=lambda i: -i[1])
        ),
        "offline": stats.bar_chart(_("Minutes offline per kiosk"), sorted(summary.offline_minutes.items())),
    }
    return render(
        request, "statistics.html", summary=summary, totals=totals, charts=charts, library=library, days=days,
        actions=stats.ACTIONS,
        choices=[n for n in console_of(request).gateway.config.libraries() if person.sees(n)],
    )  # fmt: skip


@router.get("/statistics.csv")
async def statistics_csv(request: Request, person: Person, library: str = "", days: Days = 30) -> Response:
    _check(request, person, library)
    data = await run(lambda: stats.rows(console_of(request).engine, person, days, library or None))
    name = f"kiosk-statistics-{library or 'all'}-{days}d.csv"
    return Response(
        stats.to_csv(data),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
