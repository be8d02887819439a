"""Project → Statistics: storage over time, pushes and pulls per day, open findings per
day and, for those holding `Perm.VIEW_RETENTION`, deletions per retention run; inline SVG
drawn from `repositories.charts` (no chart library, no JavaScript), each chart with its
numbers in a table. Reading needs `Perm.VIEW_REPOSITORIES`, like the storage usage it
charts (and the API's `projects/{name}/statistics/`; runs are in `retention-runs/`)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.permissions import Perm
from accounts.views.http import HtmxHttpRequest, render_page

from .. import charts
from ..access import get_project
from ..models import Severity
from ..services.stats import DayStats, retention_deletions, series
from .tabs import project_context

DAY_CHOICES = (7, 30, 90, 365)
DEFAULT_DAYS = 30


def parse_days(raw: str | None) -> tuple[int, str]:
    """`?days=` as one of the offered spans, or the default with a message saying why."""
    if raw in (None, ""):
        return DEFAULT_DAYS, ""
    try:
        days = int(raw)
    except ValueError:
        days = 0
    if days not in DAY_CHOICES:
        offered = ", ".join(str(d) for d in DAY_CHOICES)
        return DEFAULT_DAYS, _("Choose a span of %(offered)s days; showing %(days)s.") % {
            "offered": offered,
            "days": DEFAULT_DAYS,
        }
    return days, ""


def build_charts(days: list[DayStats]) -> dict[str, charts.Chart]:
    labels = [d.day.isoformat() for d in days]

    def values(attr: str) -> list[int | None]:
        return [getattr(d, attr) if d.recorded else None for d in days]

    storage = charts.line_chart(
        _("Storage"),
        labels,
        [
            charts.Series(_("logical"), "chart-s0", values("logical_bytes")),
            charts.Series(_("unique"), "chart-s1", values("unique_bytes")),
        ],
    )
    storage.fmt = filesizeformat
    traffic = charts.bar_chart(
        _("Pushes and pulls per day"),
        labels,
        [
            charts.Series(_("pushes"), "chart-s0", values("pushes")),
            charts.Series(_("pulls"), "chart-s1", values("pulls")),
        ],
    )
    findings = charts.bar_chart(
        _("Open findings per day"),
        labels,
        [
            charts.Series(
                str(band.label).lower(),
                f"sev-fill-{band.value}",
                [(d.findings or {}).get(band.value, 0) if d.recorded else None for d in days],
            )
            for band in Severity
        ],
        stacked=True,
    )
    for chart in (storage, traffic, findings):
        chart.label_name = _("Day")
    return {"storage": storage, "traffic": traffic, "findings": findings}


def retention_chart(runs: list[tuple[str, int, int]]) -> charts.Chart:
    labels = [label for label, _artifacts, _tags in runs]
    chart = charts.bar_chart(
        _("Retention deletions per run"),
        labels,
        [
            charts.Series(_("artifacts deleted"), "chart-s0", [a for _label, a, _tags in runs]),
            charts.Series(_("tags deleted"), "chart-s1", [t for _label, _artifacts, t in runs]),
        ],
    )
    chart.label_name = _("Run")
    return chart


@login_required
@require_GET
def project_statistics(request: HtmxHttpRequest, name: str) -> HttpResponse:
    project = get_project(request.user, name, Perm.VIEW_REPOSITORIES)
    days, problem = parse_days(request.GET.get("days"))
    context: dict[str, Any] = project_context(project, "statistics")
    built = build_charts(series(project, days))
    if Perm.VIEW_RETENTION in project.perms:  # type: ignore[attr-defined]
        # The last runs, whatever the span: a run is an event, not a day's state.
        built["retention"] = retention_chart(retention_deletions(project))
    context.update(
        charts=built,
        days=days,
        day_choices=DAY_CHOICES,
        days_problem=problem,
    )
    return render_page(request, "stats/project_statistics.html", "charts", context)
