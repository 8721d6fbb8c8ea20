"""Statistics for staff: the gateway's counts per kiosk and hour, summed by day, hour of day, refusal
reason and language, as server-rendered SVG bar charts (with the numbers as a table beside) and as CSV.
No patron, card or item ever appears: the gateway counts only (statistics table)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Any

from sqlalchemy import Engine, select

from server_api.gateway.devices import utcnow
from server_api.gateway.schema import devices, statistics

from .accounts import Viewer
from .fleet import visible

ACTIONS = ("loans", "returns", "renewals", "refusals")


def rows(
    engine: Engine, viewer: Viewer, days: int, library: str | None = None, device_id: str | None = None
) -> list[dict[str, Any]]:
    since = utcnow() - timedelta(days=days)
    query = (
        select(
            statistics.c.library,
            statistics.c.device_id,
            devices.c.name.label("kiosk"),
            statistics.c.hour,
            statistics.c.metric,
            statistics.c.label,
            statistics.c.value,
        )
        .select_from(statistics.outerjoin(devices, devices.c.id == statistics.c.device_id))
        .where(statistics.c.hour >= since, visible(viewer, statistics.c.library))
        .order_by(statistics.c.hour, statistics.c.library, devices.c.name, statistics.c.metric)
    )
    if library:
        query = query.where(statistics.c.library == library)
    if device_id:
        query = query.where(statistics.c.device_id == device_id)
    with engine.connect() as db:
        return [dict(row._mapping) for row in db.execute(query)]


@dataclass
class Summary:
    by_day: dict[str, dict[str, float]]  # day -> action -> count
    by_hour: dict[int, float]  # hour of day -> loans + returns + renewals
    by_kiosk: dict[str, dict[str, float]]  # kiosk name -> metric -> count
    by_library: dict[str, dict[str, float]]  # library number -> metric -> count
    reasons: dict[str, float]
    languages: dict[str, float]
    offline_minutes: dict[str, float]  # kiosk name -> minutes


def summarise(data: list[dict[str, Any]]) -> Summary:
    by_day: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(ACTIONS, 0.0))
    by_hour: dict[int, float] = dict.fromkeys(range(24), 0.0)
    by_kiosk: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(ACTIONS, 0.0))
    by_library: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(ACTIONS, 0.0))
    reasons: dict[str, float] = defaultdict(float)
    languages: dict[str, float] = defaultdict(float)
    offline: dict[str, float] = defaultdict(float)
    for row in data:
        hour: datetime = row["hour"]
        kiosk = row["kiosk"] or row["device_id"][:8]
        metric, value = row["metric"], float(row["value"])
        if metric in ACTIONS:
            by_day[hour.date().isoformat()][metric] += value
            by_kiosk[kiosk][metric] += value
            by_library[row["library"]][metric] += value
            if metric != "refusals":
                by_hour[hour.hour] += value
        if metric == "refusals":
            reasons[row["label"] or "other"] += value
        elif metric == "language":
            languages[row["label"]] += value
        elif metric == "offline_minutes":
            offline[kiosk] += value
    return Summary(
        dict(sorted(by_day.items())),
        by_hour,
        dict(by_kiosk),
        dict(sorted(by_library.items())),
        dict(reasons),
        dict(languages),
        dict(offline),
    )


def bar_chart(title: str, bars: list[tuple[str, float]], *, width: int = 640, bar_height: int = 22) -> str:
    """A horizontal bar chart as inline SVG, named for screen readers (the table beside holds the figures)."""
    top = max((value for _, value in bars), default=0) or 1
    label_width, gap = 150, 6
    height = max(1, len(bars)) * (bar_height + gap) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 0 {width} {height}" width="100%" class="chart">',
        f"<title>{escape(title)}</title>",
    ]
    for n, (label, value) in enumerate(bars):
        y = 5 + n * (bar_height + gap)
        length = (width - label_width - 70) * value / top
        parts += [
            f'<text x="{label_width - 8}" y="{y + bar_height * 0.72:.1f}" text-anchor="end" '
            f'class="chart-label">{escape(label)}</text>',
            f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{bar_height}" class="chart-bar"/>',
            f'<text x="{label_width + length + 6:.1f}" y="{y + bar_height * 0.72:.1f}" '
            f'class="chart-value">{value:g}</text>',
        ]
    parts.append("</svg>")
    return "".join(parts)


def to_csv(data: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["library", "kiosk", "device_id", "hour", "metric", "label", "value"])
    for row in data:
        writer.writerow(
            [
                row["library"],
                row["kiosk"] or "",
                row["device_id"],
                row["hour"].isoformat(timespec="minutes"),
                row["metric"],
                row["label"],
                f"{float(row['value']):g}",
            ]
        )
    return out.getvalue()


__all__ = ["ACTIONS", "Summary", "bar_chart", "rows", "summarise", "to_csv"]
