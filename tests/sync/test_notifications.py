"""Live updates: the registry's notifications keep Wharf current without a sync."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from django.test import Client

from audit.models import AuditAction, AuditEvent
from repositories.models import Artifact, RegistryEvent, Repository, SyncRun, Tag
from repositories.registry.config import NotificationEndpoint
from repositories.registry.manifests import OCI_MANIFEST
from repositories.services.registry import reset_registry_client
from tests.support import skopeo
from tests.support.images import build_image, write_oci_layout

SECRET = "test-notify-secret"
V1 = "application/vnd.docker.distribution.events.v1+json"
V2 = "application/vnd.docker.distribution.events.v2+json"
URL = "/service/notifications"


@pytest.fixture(autouse=True)
def _secret(settings: Any) -> None:
    settings.WHARF_NOTIFY_SECRET = SECRET


def event(action: str, repository: str, *, digest: str = "sha256:" + "a" * 64, tag: str = "",
          media_type: str = OCI_MANIFEST, event_id: str | None = None, actor: str = "alice") -> dict[str, Any]:
    target: dict[str, Any] = {"repository": repository, "digest": digest, "mediaType": media_type, "size": 123}
    if tag:
        target["tag"] = tag
    return {
        "id": event_id or str(uuid.uuid4()),
        "timestamp": "2026-11-29T10:00:00.123456789Z",
        "action": action,
        "target": target,
        "request": {"addr": "10.1.2.3:5555", "method": "PUT"},
        "actor": {"name": actor},
    }


def post(events: list[dict[str, Any]], *, content_type: str = V1, secret: str = SECRET) -> Any:
    return Client().post(
        URL, data=json.dumps({"events": events}), content_type=content_type,
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )


@pytest.mark.django_db
@pytest.mark.parametrize("secret", ["", "wrong"])
def test_notifications_without_the_shared_secret_are_refused(secret: str) -> None:
    response = post([event("push", "team/app", tag="v1")], secret=secret)
    assert response.status_code == 401
    assert not Tag.objects.exists()


@pytest.mark.django_db
def test_other_content_types_and_garbage_are_refused_clearly() -> None:
    assert post([], content_type="text/plain").status_code == 415
    response = Client().post(URL, data="{not json", content_type=V1, HTTP_AUTHORIZATION=f"Bearer {SECRET}")
    assert response.status_code == 400 and "Not a registry notification" in response.json()["detail"]
    response = Client().post(URL, data='{"events": 5}', content_type=V1, HTTP_AUTHORIZATION=f"Bearer {SECRET}")
    assert response.status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize("content_type", [V1, V2])
def test_push_creates_repository_artifact_and_tag_at_once(content_type: str, monkeypatch) -> None:
    monkeypatch.setattr("repositories.tasks.fill_artifact_details.delay", lambda pk: None)
    response = post([event("push", "team/app", tag="v1")], content_type=content_type)
    assert response.status_code == 200 and response.json()["handled"] == 1
    tag = Tag.objects.select_related("artifact", "repository__project").get(name="v1")
    assert tag.repository.name == "team/app" and tag.repository.project.name == "team"
    assert tag.artifact.digest == "sha256:" + "a" * 64 and tag.repository.tag_count == 1
    push = AuditEvent.objects.get(action=AuditAction.ARTIFACT_PUSH)
    assert (push.actor_kind, push.actor_name, push.actor_ip, push.target_name) == (
        "registry", "alice", "10.1.2.3", "team/app:v1")


@pytest.mark.django_db
def test_duplicated_notification_is_counted_once(monkeypatch) -> None:
    monkeypatch.setattr("repositories.tasks.fill_artifact_details.delay", lambda pk: None)
    post([event("push", "team/app", tag="v1")])
    pull = event("pull", "team/app", tag="v1", event_id="same-id")
    assert post([pull]).json() == {"handled": 1, "duplicates": 0, "ignored": 0}
    assert post([pull]).json() == {"handled": 0, "duplicates": 1, "ignored": 0}
    assert Artifact.objects.get().pull_count == 1
    assert Repository.objects.get().pull_count == 1
    assert RegistryEvent.objects.filter(event_id="same-id").count() == 1


@pytest.mark.django_db
def test_pulls_are_counted_every_time_but_audited_once_an_hour(monkeypatch) -> None:
    monkeypatch.setattr("repositories.tasks.fill_artifact_details.delay", lambda pk: None)
    post([event("push", "team/app", tag="v1")])
    post([event("pull", "team/app", tag="v1") for _ in range(5)])
    assert Artifact.objects.get().pull_count == 5
    assert Tag.objects.get().last_pull_at is not None
    assert AuditEvent.objects.filter(action=AuditAction.ARTIFACT_PULL).count() <= 1


@pytest.mark.django_db
def test_blob_events_are_ignored() -> None:
    response = post([event("push", "team/app", media_type="application/octet-stream")])
    assert response.json() == {"handled": 0, "duplicates": 0, "ignored": 1}
    assert not Repository.objects.exists()


@pytest.mark.django_db
def test_delete_of_a_tag_and_of_a_digest(monkeypatch) -> None:
    monkeypatch.setattr("repositories.tasks.fill_artifact_details.delay", lambda pk: None)
    post([event("push", "team/app", tag="v1"), event("push", "team/app", tag="v2")])
    post([event("delete", "team/app", tag="v1", digest="", media_type="")])
    assert list(Tag.objects.values_list("name", flat=True)) == ["v2"]
    post([event("delete", "team/app", media_type="")])
    assert not Artifact.objects.exists() and not Tag.objects.exists()
    actions = list(AuditEvent.objects.filter(action__in=[AuditAction.TAG_DELETE, AuditAction.ARTIFACT_DELETE])
                   .order_by("id").values_list("action", flat=True))
    assert actions == [AuditAction.TAG_DELETE, AuditAction.ARTIFACT_DELETE]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_skopeo_push_becomes_visible_without_a_sync(registry_factory, live_server, settings, tmp_path) -> None:
    server = registry_factory(
        notifications=[NotificationEndpoint(
            url=f"{live_server.url}{URL}", headers={"Authorization": f"Bearer {SECRET}"}, timeout="2s",
            threshold=3, backoff="1s",
        )]
    )
    settings.REGISTRY_URL = server.url
    reset_registry_client()
    image = build_image(labels={"pushed.by": "skopeo"})
    layout = write_oci_layout(tmp_path / "layout", {"v1": image})
    skopeo.copy_from_layout(layout, "v1", server, "live/app:v1")
    deadline = time.monotonic() + 10
    tag = None
    while time.monotonic() < deadline:
        tag = Tag.objects.select_related("artifact").filter(repository__name="live/app", name="v1").first()
        if tag is not None and tag.artifact.details_synced:
            break
        time.sleep(0.1)
    assert tag is not None, "the push never arrived"
    assert tag.artifact.digest == image.digest
    assert tag.artifact.details_synced and tag.artifact.labels == {"pushed.by": "skopeo"}
    assert not SyncRun.objects.exists()
    reset_registry_client()


@pytest.mark.django_db
def test_wharfs_own_reads_are_not_counted_as_pulls(monkeypatch) -> None:
    monkeypatch.setattr("repositories.tasks.fill_artifact_details.delay", lambda pk: None)
    post([event("push", "team/app", tag="v1")])
    post([event("pull", "team/app", tag="v1", actor="wharf")])
    assert Artifact.objects.get().pull_count == 0 and Artifact.objects.get().last_pull_at is None
    post([event("pull", "team/app", tag="v1", actor="bob")])
    assert Artifact.objects.get().pull_count == 1
