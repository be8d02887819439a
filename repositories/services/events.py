"""Live updates from the registry's notifications (push, pull, delete, mount).

The registry POSTs `{"events": [...]}` after each request; it retries failed
deliveries, so each event id is handled once (`RegistryEvent`). A push creates or
moves the tag and a bare artifact row at once (so it is visible within a second);
its manifest and config are read afterwards by the `fill_artifact_details` task.
Blob events are ignored: only manifests describe artifacts.

A push that moves a tag protected by an immutable rule to another digest is flagged
on the tag and audited, and put back when the project asks for it
(`services.retention.on_protected_tag_moved`).

Pushes and deletes are audit events under the registry's actor name (the token's
subject). Pulls are counted on the artifact, tag and repository; the audit log
gets the first pull of a repository by an actor in each hour, not every pull, so a
busy registry does not flood it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.registry_auth.grants import WHARF_SUBJECT
from audit.context import Actor
from audit.models import AuditAction
from audit.services import record
from portal import metrics
from webhooks import hooks as webhook_hooks

from ..models import Artifact, PushedAtSource, RegistryEvent, Repository, Tag
from ..registry.manifests import MANIFEST_MEDIA_TYPES
from . import retention
from .content import ensure_repository, refresh_repository_counts

log = logging.getLogger(__name__)

NOTIFICATION_CONTENT_TYPES = (
    "application/vnd.docker.distribution.events.v1+json",
    "application/vnd.docker.distribution.events.v2+json",
    "application/json",
)
TOMBSTONE_CACHE_SECONDS = 30


class BadNotification(ValueError):
    """The body is not a registry notification envelope."""


@dataclass
class Outcome:
    handled: int = 0
    duplicates: int = 0
    ignored: int = 0
    details_wanted: list[int] = field(default_factory=list)
    signatures_wanted: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Event:
    id: str
    action: str
    timestamp: datetime
    repository: str
    digest: str
    tag: str
    media_type: str
    size: int
    actor: str
    addr: str | None

    @property
    def target_name(self) -> str:
        if self.tag:
            return f"{self.repository}:{self.tag}"
        return f"{self.repository}@{self.digest}"


def _str(data: Any, key: str, limit: int = 255) -> str:
    value = data.get(key) if isinstance(data, dict) else None
    return value[:limit] if isinstance(value, str) else ""


def parse_events(body: Any) -> list[Event | None]:
    """Each entry parsed, or None where it is not a usable event."""
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise BadNotification('expected a JSON object with an "events" list')
    parsed: list[Event | None] = []
    for raw in body["events"]:
        if not isinstance(raw, dict):
            parsed.append(None)
            continue
        target_raw, request_raw = raw.get("target"), raw.get("request")
        target: dict[str, Any] = target_raw if isinstance(target_raw, dict) else {}
        request: dict[str, Any] = request_raw if isinstance(request_raw, dict) else {}
        stamp = parse_datetime(_str(raw, "timestamp", 64)) if _str(raw, "timestamp", 64) else None
        if stamp is not None and timezone.is_naive(stamp):
            stamp = timezone.make_aware(stamp, UTC)
        size = target.get("size")
        addr = _str(request, "addr", 64).rsplit(":", 1)[0].strip("[]") or None
        event_id, action, repository = _str(raw, "id", 100), _str(raw, "action", 16), _str(target, "repository")
        if not event_id or not action or not repository:
            parsed.append(None)
            continue
        parsed.append(
            Event(
                id=event_id,
                action=action,
                timestamp=stamp or timezone.now(),
                repository=repository,
                digest=_str(target, "digest", 100),
                tag=_str(target, "tag", 128),
                media_type=_str(target, "mediaType"),
                size=size if isinstance(size, int) and size >= 0 else 0,
                actor=_str(raw.get("actor"), "name", 150),
                addr=addr,
            )
        )
    return parsed


def expect_tombstone(repository: str, tag: str) -> None:
    """Wharf is about to delete one tag the tombstone way (put a throwaway manifest
    under it, then delete that); the push of the throwaway is not news."""
    cache.set(f"tombstone:{repository}:{tag}", 1, TOMBSTONE_CACHE_SECONDS)


def _is_tombstone_push(event: Event) -> bool:
    return bool(event.tag) and cache.get(f"tombstone:{event.repository}:{event.tag}") is not None


def handle_notification(body: Any) -> Outcome:
    """Apply every new event in a notification envelope; duplicates count once."""
    outcome = Outcome()
    for event in parse_events(body):
        if event is None:
            outcome.ignored += 1
            continue
        handler = _HANDLERS.get(event.action)
        is_manifest = event.media_type in MANIFEST_MEDIA_TYPES
        if handler is None or (event.action in ("push", "pull", "mount") and not is_manifest):
            outcome.ignored += 1
            continue
        try:
            with transaction.atomic():
                RegistryEvent.objects.create(event_id=event.id, action=event.action, repository=event.repository)
                handler(event, outcome)
        except IntegrityError:
            outcome.duplicates += 1
            continue
        outcome.handled += 1
        metrics.notification_applied(event.action, event.timestamp)
    return outcome


def _actor(event: Event) -> Actor:
    return Actor.registry(event.actor or "anonymous", ip=event.addr)


def _on_push(event: Event, outcome: Outcome) -> None:
    if _is_tombstone_push(event):
        return
    repository = ensure_repository(event.repository, actor=_actor(event))
    artifact, created = Artifact.objects.get_or_create(
        repository=repository,
        digest=event.digest,
        defaults={
            "media_type": event.media_type,
            "size": event.size,
            "pushed_at": event.timestamp,
            "pushed_at_source": PushedAtSource.PUSH,
        },
    )
    if not created and event.action == "push" and not event.tag:
        artifact.pushed_at = event.timestamp
        artifact.pushed_at_source = PushedAtSource.PUSH
        artifact.save(update_fields=["pushed_at", "pushed_at_source", "updated_at"])
    if event.tag:
        previous = Tag.objects.select_related("artifact").filter(repository=repository, name=event.tag).first()
        tag, _ = Tag.objects.update_or_create(
            repository=repository,
            name=event.tag,
            defaults={"artifact": artifact, "pushed_at": event.timestamp, "pushed_at_source": PushedAtSource.PUSH},
        )
        if (
            previous is not None
            and previous.artifact_id != artifact.pk
            and not retention.is_own_revert(repository.name, event.tag, event.digest)
            and retention.is_protected(repository, event.tag)
        ):
            retention.on_protected_tag_moved(tag, previous.artifact, event.digest, actor=_actor(event))
    refresh_repository_counts(repository)
    record(
        AuditAction.ARTIFACT_PUSH,
        actor=_actor(event),
        project=repository.project,
        target_type="tag" if event.tag else "artifact",
        target_name=event.target_name,
        details={"digest": event.digest, "media_type": event.media_type, "action": event.action},
    )
    _notify_webhooks("push", repository, event)
    if event.tag:
        _replicate(repository.name, event.tag)
    if not artifact.details_synced:
        outcome.details_wanted.append(artifact.pk)  # its task verifies signatures once read
    elif event.tag.endswith(".sig"):
        outcome.signatures_wanted.append(artifact.pk)  # a known signature under a new .sig tag


def _replicate(repository: str, tag: str) -> None:
    """Replication's on-push trigger (runs are queued on commit, like webhooks)."""
    from replication.services.runs import pushed

    pushed(repository, tag)


def _on_pull(event: Event, outcome: Outcome) -> None:
    if event.actor == WHARF_SUBJECT:
        # Wharf's own reads (sync, details, scans) are not pulls by anyone: counting
        # them would make every image look recently pulled to retention rules.
        return
    repository = Repository.objects.select_related("project").filter(name=event.repository).first()
    if repository is None:
        return
    at = event.timestamp
    artifacts = Artifact.objects.filter(repository=repository)
    artifacts = artifacts.filter(digest=event.digest) if event.digest else artifacts.filter(tags__name=event.tag)
    artifacts.update(pull_count=F("pull_count") + 1, last_pull_at=at)
    if event.tag:
        Tag.objects.filter(repository=repository, name=event.tag).update(last_pull_at=at)
    Repository.objects.filter(pk=repository.pk).update(pull_count=F("pull_count") + 1, last_pull_at=at)
    hour = at.strftime("%Y%m%d%H")
    if cache.add(f"pull-audit:{repository.pk}:{event.actor}:{hour}", 1, 3700):
        record(
            AuditAction.ARTIFACT_PULL,
            actor=_actor(event),
            project=repository.project,
            target_type="tag" if event.tag else "artifact",
            target_name=event.target_name,
            details={"digest": event.digest, "aggregated": "first pull by this actor this hour"},
        )
    _notify_webhooks("pull", repository, event)


def _on_delete(event: Event, outcome: Outcome) -> None:
    repository = Repository.objects.select_related("project").filter(name=event.repository).first()
    if repository is None:
        return
    if event.tag:
        deleted, _ = Tag.objects.filter(repository=repository, name=event.tag).delete()
        action = AuditAction.TAG_DELETE
    else:
        deleted, _ = Artifact.objects.filter(repository=repository, digest=event.digest).delete()
        action = AuditAction.ARTIFACT_DELETE
    refresh_repository_counts(repository)
    if deleted and not _is_tombstone_push(event):
        record(
            action,
            actor=_actor(event),
            project=repository.project,
            target_type="tag" if event.tag else "artifact",
            target_name=event.target_name,
            details={"digest": event.digest},
        )
        _notify_webhooks("delete", repository, event)


def _notify_webhooks(action: str, repository: Repository, event: Event) -> None:
    webhook_hooks.registry_event(
        action,
        repository,
        digest=event.digest,
        tag=event.tag,
        media_type=event.media_type,
        actor=event.actor,
        at=event.timestamp,
    )


_HANDLERS: dict[str, Callable[[Event, Outcome], None]] = {
    "push": _on_push,
    "mount": _on_push,
    "pull": _on_pull,
    "delete": _on_delete,
}
