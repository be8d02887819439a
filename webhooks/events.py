"""The vocabulary of events a webhook can subscribe to, and how each is named in
the Harbor-compatible and CloudEvents payloads. Pure: no models."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class WebhookEvent(models.TextChoices):
    """What happened. Add here; never reuse a value (stored in webhooks and deliveries)."""

    ARTIFACT_PUSHED = "artifact.pushed", _("Artifact pushed")
    ARTIFACT_PULLED = "artifact.pulled", _("Artifact pulled")
    ARTIFACT_DELETED = "artifact.deleted", _("Artifact deleted")
    SCAN_COMPLETED = "scan.completed", _("Scan completed")
    SCAN_FAILED = "scan.failed", _("Scan failed")
    CRITICAL_FOUND = "scan.critical_found", _("Critical vulnerability found")
    RETENTION_FINISHED = "retention.finished", _("Retention run finished")
    QUOTA_WARNING = "quota.warning", _("Quota nearly used (not yet emitted)")
    QUOTA_EXCEEDED = "quota.exceeded", _("Quota exceeded (not yet emitted)")
    REPLICATION_FINISHED = "replication.finished", _("Replication finished")
    GC_FINISHED = "gc.finished", _("Garbage collection finished (system webhooks)")


TEST_EVENT = "wharf.test"
"""The type of "send a test event" deliveries: not subscribable, sent on request."""

NOT_YET_EMITTED: frozenset[str] = frozenset({WebhookEvent.QUOTA_WARNING, WebhookEvent.QUOTA_EXCEEDED})
"""Listed so a subscription can be made now; Wharf has no quotas yet."""

SYSTEM_ONLY: frozenset[str] = frozenset({WebhookEvent.GC_FINISHED})
"""Events of the whole registry, not of a project: only system webhooks subscribe to them."""

HARBOR_TYPES: dict[str, str] = {
    WebhookEvent.ARTIFACT_PUSHED: "PUSH_ARTIFACT",
    WebhookEvent.ARTIFACT_PULLED: "PULL_ARTIFACT",
    WebhookEvent.ARTIFACT_DELETED: "DELETE_ARTIFACT",
    WebhookEvent.SCAN_COMPLETED: "SCANNING_COMPLETED",
    WebhookEvent.SCAN_FAILED: "SCANNING_FAILED",
    WebhookEvent.CRITICAL_FOUND: "SCANNING_CRITICAL",  # Wharf's own: Harbor has no such type
    WebhookEvent.RETENTION_FINISHED: "TAG_RETENTION",
    WebhookEvent.QUOTA_WARNING: "QUOTA_WARNING",
    WebhookEvent.QUOTA_EXCEEDED: "QUOTA_EXCEED",
    WebhookEvent.REPLICATION_FINISHED: "REPLICATION",
    WebhookEvent.GC_FINISHED: "GARBAGE_COLLECTION",  # Wharf's own: Harbor sends no GC webhook
    TEST_EVENT: "PING",
}


def cloudevents_type(event: str) -> str:
    """The CloudEvents `type` attribute: reverse-DNS prefixed, as the spec recommends."""
    return f"io.wharf.{event.removeprefix('wharf.')}"
