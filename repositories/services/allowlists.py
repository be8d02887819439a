"""CVE allowlists: add, change and remove entries, and re-mark stored findings.

An entry names a vulnerability id (matched, ignoring case, against a finding's id,
its aliases and its upstream ids: `CVE-X` covers Debian's `DEBIAN-CVE-X`),
system-wide (`project=None`) or for one project, with a reason and an optional
expiry. Findings are marked when a report is written; a change here re-marks the
finished reports it concerns at once (a few UPDATE and aggregate queries per
project), so counts on pages agree with the allowlist. Expiry needs no change
event: the next scan (the daily rescan at the latest) stops honouring it.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Count, Q

from audit.context import Actor
from audit.models import AuditAction
from audit.services import record

from ..models import AllowlistEntry, Finding, Project, ScanReport
from ..models.scanning import empty_counts
from .scanning import allowlisted_ids, worst_of


def _audit(action: AuditAction, entry: AllowlistEntry, actor: Actor, **details: object) -> None:
    record(
        action,
        actor=actor,
        project=entry.project,
        target_type="allowlist",
        target_name=entry.vulnerability_id,
        details={
            "scope": entry.project.name if entry.project else "system",
            "reason": entry.reason,
            "expires_at": entry.expires_at.isoformat() if entry.expires_at else None,
            **details,
        },
    )


def add_entry(
    *,
    project: Project | None,
    vulnerability_id: str,
    reason: str,
    actor: Actor,
    expires_at: datetime | None = None,
) -> AllowlistEntry:
    """Allowlist a vulnerability system-wide (`project=None`) or for one project."""
    with transaction.atomic():
        entry = AllowlistEntry(
            project=project,
            vulnerability_id=vulnerability_id.strip(),
            reason=reason,
            expires_at=expires_at,
            author_id=actor.user_id,
        )
        entry.full_clean()
        entry.save()
        _audit(AuditAction.ALLOWLIST_ADD, entry, actor)
        reapply(project)
    return entry


def update_entry(
    entry: AllowlistEntry, *, reason: str, expires_at: datetime | None, actor: Actor
) -> AllowlistEntry:
    """Change an entry's reason or expiry."""
    with transaction.atomic():
        entry.reason, entry.expires_at = reason, expires_at
        entry.full_clean()
        entry.save(update_fields=["reason", "expires_at"])
        _audit(AuditAction.ALLOWLIST_UPDATE, entry, actor)
        reapply(entry.project)
    return entry


def remove_entry(entry: AllowlistEntry, *, actor: Actor) -> None:
    with transaction.atomic():
        project = entry.project
        _audit(AuditAction.ALLOWLIST_REMOVE, entry, actor)
        entry.delete()
        reapply(project)


def _reapply_project(project: Project) -> None:
    reports = ScanReport.objects.filter(
        artifact__repository__project=project, status=ScanReport.Status.SUCCEEDED
    )
    image_reports = list(reports.filter(children__isnull=True).values_list("pk", flat=True).distinct())
    if not image_reports:
        return
    ids = allowlisted_ids(project)
    findings = Finding.objects.filter(report_id__in=image_reports)
    # Recomputed from the entries still active, not undone entry by entry: a removed
    # entry un-marks exactly the findings no other entry names.
    findings.filter(allowlisted=True).update(allowlisted=False)
    if ids:
        findings.named(ids).update(allowlisted=True)
    tallies: dict[int, tuple[dict[str, int], dict[str, int], list[int]]] = {
        pk: (empty_counts(), empty_counts(), [0]) for pk in image_reports
    }
    rows = findings.values("report_id", "severity", "allowlisted").annotate(
        n=Count("id"), with_fix=Count("id", filter=~Q(fixed_version=""))
    )
    for row in rows:
        counts, fixable, allowlisted = tallies[row["report_id"]]
        if row["allowlisted"]:
            allowlisted[0] += row["n"]
        else:
            counts[row["severity"]] += row["n"]
            fixable[row["severity"]] += row["with_fix"]
    updated = []
    for report in ScanReport.objects.filter(pk__in=image_reports):
        counts, fixable, allowlisted = tallies[report.pk]
        report.counts, report.fixable_counts, report.allowlisted = counts, fixable, allowlisted[0]
        report.worst_severity = worst_of(counts)
        updated.append(report)
    fields = ["counts", "fixable_counts", "allowlisted", "worst_severity"]
    ScanReport.objects.bulk_update(updated, fields, batch_size=500)
    summaries = []
    for summary in reports.filter(children__isnull=False).distinct().prefetch_related("children"):
        counts, fixable = empty_counts(), empty_counts()
        summary.allowlisted = 0
        for child in summary.children.all():
            summary.allowlisted += child.allowlisted
            for band in counts:
                counts[band] += child.counts.get(band, 0)
                fixable[band] += child.fixable_counts.get(band, 0)
        summary.counts, summary.fixable_counts, summary.worst_severity = counts, fixable, worst_of(counts)
        summaries.append(summary)
    ScanReport.objects.bulk_update(summaries, fields, batch_size=500)


def reapply(project: Project | None) -> None:
    """Re-mark the findings of finished reports after an allowlist change: `project`'s,
    or every project's for a system-wide change."""
    if project is not None:
        _reapply_project(project)
        return
    with_reports = Project.objects.filter(
        repositories__artifacts__scan_reports__status=ScanReport.Status.SUCCEEDED
    ).distinct()
    for each in with_reports:
        _reapply_project(each)
