"""What the places that record Wharf's events call: one line each, with the model
they already hold. Each builds the event's data and hands it to `services.emit`,
which does nothing more than one query when no webhook subscribes.

Call sites: `repositories/services/events.py` (push, pull, delete notifications),
`repositories/services/scanning.py` and `harbor_adapter.py` (a scan's end),
`repositories/services/retention_runs.py` (a run's end), `repositories/services/gc.py`
(a garbage collection's end: system webhooks only, it is no project's event),
`replication/services/runs.py` (a replication run's end: system webhooks, as replication
rules are system-wide).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .events import WebhookEvent
from .services import emit

_ARTIFACT_EVENTS = {
    "push": WebhookEvent.ARTIFACT_PUSHED,
    "pull": WebhookEvent.ARTIFACT_PULLED,
    "delete": WebhookEvent.ARTIFACT_DELETED,
}


def registry_event(
    action: str, repository: Any, *, digest: str, tag: str, media_type: str, actor: str, at: datetime
) -> None:
    """A push, pull or delete the registry notified (`repository` is a `Repository`)."""
    event = _ARTIFACT_EVENTS.get(action)
    if event is None:
        return
    emit(
        event,
        project=repository.project,
        operator=actor,
        repository=repository.name,
        digest=digest,
        tag=tag,
        details={"media_type": media_type} if media_type else {},
        occurred_at=at,
    )


def scan_finished(report: Any) -> None:
    """A scan report reached SUCCEEDED or FAILED. A platform's report inside an
    index scan is part of its parent's, which emits once for the whole index."""
    if report.parent_id is not None or report.status not in ("succeeded", "failed"):
        return
    artifact = report.artifact
    repository = artifact.repository
    tag = artifact.tags.order_by("name").values_list("name", flat=True).first() or ""
    scan = {
        "report_id": report.pk,
        "scanner": report.scanner,
        "status": report.status,
        "summary": dict(report.counts or {}),
        "worst_severity": report.worst_severity,
        "error": report.error,
    }
    common: dict[str, Any] = {
        "project": repository.project,
        "operator": "wharf",
        "repository": repository.name,
        "digest": artifact.digest,
        "tag": tag,
        "details": {"scan": scan},
        "occurred_at": report.finished_at,
    }
    if report.status == "failed":
        emit(WebhookEvent.SCAN_FAILED, **common)
        return
    emit(WebhookEvent.SCAN_COMPLETED, **common)
    if (report.counts or {}).get("critical"):
        emit(WebhookEvent.CRITICAL_FOUND, **common)


def retention_finished(run: Any) -> None:
    """A retention run ended (succeeded, failed or stopped)."""
    emit(
        WebhookEvent.RETENTION_FINISHED,
        project=run.project,
        operator="wharf",
        details={
            "retention": {
                "run_id": run.pk,
                "status": run.status,
                "dry_run": run.dry_run,
                "planned": run.artifacts_planned,
                "deleted": run.artifacts_deleted,
                "skipped": run.artifacts_skipped,
                "failed": run.artifacts_failed,
                "tags_deleted": run.tags_deleted,
                "message": run.message,
            }
        },
        occurred_at=run.finished_at,
    )


def gc_finished(run: Any) -> None:
    """A garbage collection ended (succeeded or failed); for system webhooks."""
    emit(
        WebhookEvent.GC_FINISHED,
        project=None,
        operator=run.requested_by.get_username() if run.requested_by_id else "wharf",
        details={
            "gc": {
                "run_id": run.pk,
                "status": run.status,
                "dry_run": run.dry_run,
                "delete_untagged": run.delete_untagged,
                "trigger": run.trigger,
                "blobs_removed": run.blobs_removed,
                "bytes_removed": run.bytes_removed,
                "manifests_removed": run.manifests_removed,
                "recycle_entries": run.recycle_entries,
                "message": run.message,
            }
        },
        occurred_at=run.finished_at,
    )


def replication_finished(run: Any) -> None:
    """A replication run ended (succeeded or failed); rules are system-wide, so the
    system's webhooks hear of it."""
    rule = run.rule
    emit(
        WebhookEvent.REPLICATION_FINISHED,
        project=None,
        operator="wharf",
        details={
            "replication": {
                "run_id": run.pk,
                "rule": rule.name,
                "direction": rule.direction,
                "endpoint": rule.endpoint.name,
                "trigger": run.trigger,
                "status": run.status,
                "items": run.items_total,
                "copied": run.copied,
                "skipped": run.skipped,
                "failed": run.failed,
                "deleted": run.deleted,
                "message": run.message,
            }
        },
        occurred_at=run.finished_at,
    )
