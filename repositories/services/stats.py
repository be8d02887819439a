"""Daily statistics for the charts: `record_daily` writes them, `series` reads them.

`record_daily` (beat, hourly) rewrites today's row of every project from the current
state: storage (`usage.project_usage`), artifact count, the day's push and pull
notifications and the open findings of the latest scans. Once a day is over, its last
hourly row stays, except that its push and pull counts are completed by the first run
of the next day (notifications that came in after the last run of the day). The cost is
four grouped queries for all projects (events of two days, artifact counts, latest
scans) and, per project, its usage sums and two writes.

No audit event: these rows are derived figures Wharf can compute again, like the
metrics gauges, not a change anyone made.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from accounts.registry_auth.grants import project_of
from portal.db import latest_per

from ..models import Artifact, Project, ProjectDailyStats, RegistryEvent, RetentionRun, ScanReport, Severity
from .usage import project_usage

BANDS = [band.value for band in Severity]
MAX_DAYS = 366


def _bounds(day: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def event_counts(day: date) -> dict[str, Counter[str]]:
    """Project name → Counter of `push` / `pull` manifest notifications received on `day`."""
    start, end = _bounds(day)
    rows = (
        RegistryEvent.objects.filter(received_at__gte=start, received_at__lt=end, action__in=["push", "pull"])
        .values_list("repository", "action")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[str, Counter[str]] = {}
    for repository, action, n in rows:
        counts.setdefault(project_of(repository), Counter())[action] += n
    return counts


def open_findings() -> dict[int, dict[str, int]]:
    """Project id → open findings per band, summed over each top-level artifact's latest
    succeeded scan; one query for every project (`latest_per`'s window)."""
    latest = latest_per(
        ScanReport.objects.filter(status=ScanReport.Status.SUCCEEDED, parent__isnull=True),
        "artifact_id",
        ["-created_at", "-id"],
    )
    summed: dict[int, dict[str, int]] = {}
    for project_id, counts in latest.values_list("artifact__repository__project_id", "counts").iterator(
        chunk_size=2000
    ):
        totals = summed.setdefault(project_id, dict.fromkeys(BANDS, 0))
        for band in BANDS:
            totals[band] += int((counts or {}).get(band, 0))
    return summed


def record_daily(now: datetime | None = None) -> int:
    """Write today's row of every project and complete yesterday's event counts.
    Returns the number of rows written."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    yesterday = today - timedelta(days=1)
    events_today, events_yesterday = event_counts(today), event_counts(yesterday)
    findings = open_findings()
    artifacts = dict(
        Artifact.objects.filter(parent__isnull=True)
        .values_list("repository__project_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    written = 0
    for project in Project.objects.order_by("pk"):
        usage = project_usage(project)
        events = events_today.get(project.name, Counter())
        values: dict[str, Any] = {
            "artifacts": artifacts.get(project.pk, 0),
            "logical_bytes": usage.logical_size,
            "unique_bytes": usage.unique_size,
            "pushes": events["push"],
            "pulls": events["pull"],
            "findings": findings.get(project.pk, dict.fromkeys(BANDS, 0)),
            "recorded_at": now,
        }
        with transaction.atomic():
            ProjectDailyStats.objects.update_or_create(project=project, day=today, defaults=values)
            before = events_yesterday.get(project.name, Counter())
            ProjectDailyStats.objects.filter(project=project, day=yesterday).update(
                pushes=before["push"], pulls=before["pull"]
            )
        written += 1
    return written


@dataclass(frozen=True)
class DayStats:
    """One day of a project's series; `recorded` False for a day without a row (a gap)."""

    day: date
    recorded: bool
    artifacts: int = 0
    logical_bytes: int = 0
    unique_bytes: int = 0
    pushes: int = 0
    pulls: int = 0
    findings: dict[str, int] | None = None


def series(project: Project, days: int, *, today: date | None = None) -> list[DayStats]:
    """The last `days` days (oldest first, today included) of `project`; one query."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_DAYS}")
    today = today or timezone.localdate()
    start = today - timedelta(days=days - 1)
    rows = {
        row.day: row
        for row in ProjectDailyStats.objects.filter(project=project, day__gte=start, day__lte=today)
    }
    out: list[DayStats] = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        row = rows.get(day)
        if row is None:
            out.append(DayStats(day=day, recorded=False))
            continue
        out.append(
            DayStats(
                day=day,
                recorded=True,
                artifacts=row.artifacts,
                logical_bytes=row.logical_bytes,
                unique_bytes=row.unique_bytes,
                pushes=row.pushes,
                pulls=row.pulls,
                findings={band: int((row.findings or {}).get(band, 0)) for band in BANDS},
            )
        )
    return out


RETENTION_RUNS_CHARTED = 30


def retention_deletions(project: Project, limit: int = RETENTION_RUNS_CHARTED) -> list[tuple[str, int, int]]:
    """The project's last `limit` finished real retention runs, oldest first, as
    (label "#id date", artifacts deleted, tags deleted); one query on the run index."""
    runs = (
        RetentionRun.objects.filter(project=project, dry_run=False, finished_at__isnull=False)
        .exclude(status__in=RetentionRun.ACTIVE)
        .order_by("-created_at", "-id")
        .values_list("pk", "created_at", "artifacts_deleted", "tags_deleted")[:limit]
    )
    return [
        (f"#{pk} {timezone.localdate(created):%Y-%m-%d}", artifacts, tags)
        for pk, created, artifacts, tags in reversed(list(runs))
    ]
