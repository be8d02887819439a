"""Immutable tags: an overwrite by push is caught from the registry's notification."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from audit.models import AuditAction, AuditEvent
from repositories.models import Project, Tag
from repositories.registry.manifests import OCI_MANIFEST
from repositories.services import retention, retention_runs
from repositories.services.events import handle_notification
from tests.retention_runs.helpers import ACTOR, immutable, rule, seed
from tests.support.images import build_image, push

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def push_event(repository: str, tag: str, digest: str) -> dict[str, Any]:
    return {
        "events": [
            {
                "id": str(uuid.uuid4()),
                "timestamp": "2026-11-29T10:00:00.123456789Z",
                "action": "push",
                "target": {"repository": repository, "digest": digest, "tag": tag, "mediaType": OCI_MANIFEST, "size": 1},
                "request": {"addr": "10.1.2.3:5555", "method": "PUT"},
                "actor": {"name": "mallory"},
            }
        ]
    }


def protect(revert: bool) -> Project:
    project = Project.objects.get(name="acme")
    retention.save_immutable_rules(project, ACTOR, rules=[immutable(tags=["v*"])], revert_protected_overwrites=revert)
    return project


def overwrite_v1(server: Any, capture: Any) -> str:
    newer = push(server.client(), "acme/app", build_image(), tag="v1")
    with capture(execute=True):
        handle_notification(push_event("acme/app", "v1", newer))
    return newer


def test_an_overwritten_protected_tag_is_put_back_when_the_project_says_so(
    wharf_registry: Any, django_capture_on_commit_callbacks: Any
) -> None:
    original = seed(wharf_registry, "acme/app", {"v1": 3})["v1"]
    protect(revert=True)
    newer = overwrite_v1(wharf_registry, django_capture_on_commit_callbacks)
    assert wharf_registry.client().head_manifest("acme/app", "v1") == original
    tag = Tag.objects.select_related("artifact").get(name="v1")
    assert tag.artifact.digest == original and tag.overwritten_protected_at is not None
    event = AuditEvent.objects.get(action=AuditAction.TAG_OVERWRITE_PROTECTED)
    assert event.actor_name == "mallory" and event.details["digest"] == newer and event.details["reverting"]
    assert AuditEvent.objects.filter(action=AuditAction.TAG_REVERT_PROTECTED).count() == 1
    # The revert's own push notification is not another overwrite.
    with django_capture_on_commit_callbacks(execute=True):
        handle_notification(push_event("acme/app", "v1", original))
    assert AuditEvent.objects.filter(action=AuditAction.TAG_OVERWRITE_PROTECTED).count() == 1
    assert wharf_registry.client().head_manifest("acme/app", "v1") == original


def test_without_the_setting_an_overwrite_is_flagged_and_audited_only(
    wharf_registry: Any, django_capture_on_commit_callbacks: Any
) -> None:
    seed(wharf_registry, "acme/app", {"v1": 3})
    protect(revert=False)
    newer = overwrite_v1(wharf_registry, django_capture_on_commit_callbacks)
    assert wharf_registry.client().head_manifest("acme/app", "v1") == newer
    tag = Tag.objects.select_related("artifact").get(name="v1")
    assert tag.artifact.digest == newer and tag.overwritten_protected_at is not None
    assert not AuditEvent.objects.filter(action=AuditAction.TAG_REVERT_PROTECTED).exists()


def test_moving_an_unprotected_tag_is_an_ordinary_push(
    wharf_registry: Any, django_capture_on_commit_callbacks: Any
) -> None:
    seed(wharf_registry, "acme/app", {"latest": 3})
    protect(revert=True)
    newer = push(wharf_registry.client(), "acme/app", build_image(), tag="latest")
    with django_capture_on_commit_callbacks(execute=True):
        handle_notification(push_event("acme/app", "latest", newer))
    assert Tag.objects.get(name="latest").overwritten_protected_at is None
    assert not AuditEvent.objects.filter(action=AuditAction.TAG_OVERWRITE_PROTECTED).exists()


def test_retention_never_deletes_a_protected_tag(wharf_registry: Any) -> None:
    seed(wharf_registry, "acme/app", {"v1": 9, "x1": 8, "x2": 1})
    project = protect(revert=False)
    retention.save_policy(project, ACTOR, enabled=True, schedule="", allow_empty_repository=True, rules=[rule(n=1)])
    run = retention_runs.run_now(project, ACTOR, dry_run=False)
    assert run.status == "succeeded", run.message
    assert wharf_registry.client().tags("acme/app") == ["v1", "x2"]
