"""The project's Security tab and the system-wide security overview (admins).

Both show the same aggregates over the latest succeeded report of each top-level
artifact (an index's summary stands for its platforms): artifacts by worst
severity, the most widespread vulnerabilities, and open counts over time as an
inline SVG chart built here (no chart library). Allowlist and setting changes are
in `allowlists.py`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Case, Count, F, IntegerField, Max, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.permissions import Perm
from accounts.views.http import HtmxHttpRequest, render_page, system_admin_required
from portal.db import latest_per

from ..access import get_project
from ..models import AllowlistEntry, Finding, OsvImport, Project, ProjectScanSettings, ScanReport, Severity
from ..models.scanning import SEVERITY_RANK
from .allowlists import allowlist_context
from .scanner_adapters import adapters_context
from .scans import database_age
from .tabs import project_context

TOP_ARTIFACTS = 25
TOP_VULNERABILITIES = 20
CHART_DAYS = 30
OSV_IMPORTS_SHOWN = 20
BAND_ORDER = [band.value for band in Severity]


def latest_reports(project: Project | None) -> QuerySet[ScanReport]:
    """The newest succeeded report of each top-level artifact (of `project`, or all)."""
    reports = ScanReport.objects.filter(status=ScanReport.Status.SUCCEEDED, parent__isnull=True)
    if project is not None:
        reports = reports.filter(artifact__repository__project=project)
    newest = ScanReport.objects.filter(
        artifact_id=OuterRef("artifact_id"), status=ScanReport.Status.SUCCEEDED, parent__isnull=True
    ).order_by("-created_at", "-id")
    return reports.filter(pk=Subquery(newest.values("pk")[:1]))


def _severity_rank() -> Case:
    whens = [When(worst_severity=band.value, then=Value(rank)) for band, rank in SEVERITY_RANK.items()]
    return Case(*whens, default=Value(-1), output_field=IntegerField())


def worst_artifacts(reports: QuerySet[ScanReport]) -> list[ScanReport]:
    """The top artifacts, worst band first, then by count in each band."""
    counts = {band: Cast(KT(f"counts__{band}"), IntegerField()) for band in BAND_ORDER}
    rows = (
        reports.select_related("artifact__repository__project")
        .defer("sbom", "notes", "artifact__manifest", "artifact__config", "artifact__layers")
        .annotate(rank=_severity_rank(), **{f"n_{band}": expr for band, expr in counts.items()})
        .exclude(worst_severity="")
        .order_by("-rank", *(F(f"n_{band}").desc(nulls_last=True) for band in BAND_ORDER), "-created_at")
        .prefetch_related("artifact__tags")[:TOP_ARTIFACTS]
    )
    return list(rows)


def widespread(reports: QuerySet[ScanReport]) -> list[dict[str, Any]]:
    """The vulnerabilities (not allowlisted) found in the most artifacts."""
    report_ids = reports.values("pk")
    top_artifact = Coalesce(F("report__parent__artifact_id"), F("report__artifact_id"))
    rank = Case(
        *[When(severity=band.value, then=Value(r)) for band, r in SEVERITY_RANK.items()],
        default=Value(0),
        output_field=IntegerField(),
    )
    rows = (
        Finding.objects.filter(
            Q(report_id__in=report_ids) | Q(report__parent_id__in=report_ids), allowlisted=False
        )
        .values("vulnerability_id")
        .annotate(
            artifacts=Count(top_artifact, distinct=True),
            worst=Max(rank),
            packages=Count("package", distinct=True),
        )
        .order_by("-artifacts", "-worst", "vulnerability_id")[:TOP_VULNERABILITIES]
    )
    by_rank = {r: band for band, r in SEVERITY_RANK.items()}
    return [row | {"severity": by_rank.get(row["worst"], Severity.UNKNOWN)} for row in rows]


def totals(reports: QuerySet[ScanReport]) -> dict[str, Any]:
    """Counts per band summed over the latest reports, and how many artifacts were scanned."""
    summed = dict.fromkeys(BAND_ORDER, 0)
    fixable = 0
    n = 0
    for counts, fixable_counts in reports.values_list("counts", "fixable_counts").iterator(chunk_size=2000):
        n += 1
        for band in BAND_ORDER:
            summed[band] += int((counts or {}).get(band, 0))
            fixable += int((fixable_counts or {}).get(band, 0))
    return {
        "bands": [(b.value, b.label, summed[b.value]) for b in Severity],
        "fixable": fixable,
        "artifacts": n,
    }


# --- the chart -------------------------------------------------------------------------


@dataclass
class Bar:
    """One stacked segment of the chart, in SVG user units."""

    x: float
    y: float
    width: float
    height: float
    band: str
    title: str


def daily_open_counts(project: Project | None, days: int = CHART_DAYS) -> list[tuple[date, dict[str, int]]]:
    """For each of the last `days` days, the open counts per band at the end of that
    day: each top-level artifact counts as its latest succeeded report up to then."""
    today = timezone.localdate()
    start = today - timedelta(days=days - 1)
    start_at = timezone.make_aware(datetime.combine(start, datetime.min.time()))
    reports = ScanReport.objects.filter(status=ScanReport.Status.SUCCEEDED, parent__isnull=True)
    if project is not None:
        reports = reports.filter(artifact__repository__project=project)
    current: dict[int, dict[str, int]] = {}
    before = latest_per(reports.filter(created_at__lt=start_at), "artifact_id", ["-created_at", "-id"])
    for artifact_id, counts in before.values_list("artifact_id", "counts"):
        current[artifact_id] = counts or {}
    changes: dict[date, list[tuple[int, dict[str, int]]]] = defaultdict(list)
    recent = reports.filter(created_at__gte=start_at).order_by("created_at", "id")
    for artifact_id, created_at, counts in recent.values_list("artifact_id", "created_at", "counts"):
        changes[timezone.localdate(created_at)].append((artifact_id, counts or {}))
    series = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        for artifact_id, counts in changes.get(day, []):
            current[artifact_id] = counts
        day_totals = dict.fromkeys(BAND_ORDER, 0)
        for counts in current.values():
            for band in BAND_ORDER:
                day_totals[band] += int(counts.get(band, 0))
        series.append((day, day_totals))
    return series


def chart(series: list[tuple[date, dict[str, int]]], width: int = 600, height: int = 160) -> dict[str, Any]:
    """Stacked bars (Critical at the bottom) of `series`, scaled to the largest day."""
    peak = max((sum(t.values()) for _, t in series), default=0)
    slot = width / max(len(series), 1)
    bars = []
    labels = dict(Severity.choices)
    for i, (day, day_totals) in enumerate(series):
        y = float(height)
        for band in BAND_ORDER:
            n = day_totals[band]
            if not n or not peak:
                continue
            h = n / peak * height
            y -= h
            bars.append(
                Bar(
                    round(i * slot + 1, 2),
                    round(y, 2),
                    round(slot - 2, 2),
                    round(h, 2),
                    band,
                    f"{day:%Y-%m-%d}: {n} {labels[band]}",
                )
            )
    return {
        "bars": bars,
        "width": width,
        "height": height,
        "peak": peak,
        "first": series[0][0] if series else None,
        "last": series[-1][0] if series else None,
    }


def aggregates(project: Project | None) -> dict[str, Any]:
    reports = latest_reports(project)
    return {
        "totals": totals(reports),
        "worst": worst_artifacts(reports),
        "widespread": widespread(reports),
        "chart": chart(daily_open_counts(project)),
        "database": database_age(),
        "bands": Severity.choices,
    }


# --- pages ---------------------------------------------------------------------------


@login_required
@require_GET
def project_security(request: HtmxHttpRequest, name: str) -> HttpResponse:
    project = get_project(request.user, name, Perm.VIEW_SCANS)
    perms = project.perms  # type: ignore[attr-defined]
    context = project_context(project, "security") | aggregates(project) | allowlist_context(request, project)
    context |= {
        "scan_on_push": ProjectScanSettings.scan_on_push_for(project.pk),
        "can_update": Perm.UPDATE_PROJECT in perms,
        "overview": False,
    }
    return render_page(request, "scans/project_security.html", "allowlist", context)


@system_admin_required
@require_GET
def system_security(request: HtmxHttpRequest) -> HttpResponse:
    context = {"nav": "security", "overview": True} | aggregates(None) | allowlist_context(request, None)
    context["imports"] = list(
        OsvImport.objects.order_by("-started_at", "-id").defer("errors")[:OSV_IMPORTS_SHOWN]
    )
    context["system_entries"] = AllowlistEntry.objects.filter(project__isnull=True).count()
    context |= adapters_context()
    return render_page(request, "scans/system_security.html", "allowlist", context)
