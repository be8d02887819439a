"""Push times say where they came from: Distribution's API does not tell a sync when
anything was pushed, so only a push Wharf saw (a notification) is exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from repositories.models import Artifact, Project, PushedAtSource, Tag
from repositories.services import retention
from repositories.services.events import handle_notification
from repositories.services.sync import sync_now
from tests.retention_runs.helpers import rule
from tests.support.images import build_artifact, build_image, build_index, push

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

CREATED = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)  # build_image's default `created`


def push_event(repository: str, tag: str, digest: str, at: str = "2026-11-29T10:00:00Z") -> dict[str, Any]:
    return {
        "events": [
            {
                "id": f"{repository}:{tag}:{digest}:{at}",
                "timestamp": at,
                "action": "push",
                "target": {
                    "repository": repository,
                    "digest": digest,
                    "tag": tag,
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "size": 1,
                },
                "actor": {"name": "alice"},
            }
        ]
    }


def test_a_first_sync_stores_the_images_created_time_and_says_it_is_not_the_push_time(wharf_registry) -> None:
    client = wharf_registry.client()
    push(client, "acme/app", build_image(), tag="v1")
    push(client, "acme/app", build_index([build_image(), build_image(architecture="arm64")]), tag="multi")
    push(client, "acme/app", build_artifact("application/vnd.example+json"), tag="notes")
    before = timezone.now()

    assert sync_now().status == "succeeded"

    image_tag = Tag.objects.select_related("artifact").get(name="v1")
    assert (image_tag.pushed_at, image_tag.pushed_at_source) == (CREATED, PushedAtSource.CREATED)
    assert (image_tag.artifact.pushed_at, image_tag.artifact.pushed_at_source) == (CREATED, PushedAtSource.CREATED)
    assert not image_tag.push_time_known
    # An index and a non-image artifact have no created time: when the sync saw them.
    for name in ("multi", "notes"):
        tag = Tag.objects.select_related("artifact").get(name=name)
        assert tag.pushed_at_source == tag.artifact.pushed_at_source == PushedAtSource.SEEN
        assert tag.pushed_at >= before
    index = Tag.objects.get(name="multi").artifact
    assert {c.pushed_at_source for c in index.children.all()} == {PushedAtSource.SEEN}


def test_a_tag_moved_behind_wharfs_back_is_seen_by_the_next_sync(wharf_registry) -> None:
    client = wharf_registry.client()
    push(client, "acme/app", build_image(), tag="v1")
    sync_now()
    push(client, "acme/app", build_image(), tag="v1")
    before = timezone.now()

    assert sync_now().tags_updated == 1

    tag = Tag.objects.get(name="v1")
    assert tag.pushed_at_source == PushedAtSource.SEEN and tag.pushed_at >= before


def test_a_push_seen_by_notification_is_exact_and_a_later_sync_keeps_it(wharf_registry, monkeypatch) -> None:
    monkeypatch.setattr("repositories.tasks.fill_artifact_details.delay", lambda pk: None)
    image = build_image()
    push(wharf_registry.client(), "acme/app", image, tag="v1")

    handle_notification(push_event("acme/app", "v1", image.digest))
    sync_now()

    tag = Tag.objects.select_related("artifact").get(name="v1")
    at = datetime(2026, 11, 29, 10, tzinfo=UTC)
    assert (tag.pushed_at, tag.pushed_at_source) == (at, PushedAtSource.PUSH)
    assert (tag.artifact.pushed_at, tag.artifact.pushed_at_source) == (at, PushedAtSource.PUSH)
    assert tag.artifact.created == CREATED  # the details came from the sync


def test_retention_uses_the_created_time_where_the_push_was_not_seen_and_says_so(wharf_registry) -> None:
    client = wharf_registry.client()
    old = push(client, "acme/app", build_image(), tag="old")
    sync_now()
    project = Project.objects.get(name="acme")
    fresh = Artifact.objects.create(
        repository=Tag.objects.get(name="old").repository,
        digest="sha256:" + "f" * 64,
        pushed_at=timezone.now() - timedelta(days=1),
        pushed_at_source=PushedAtSource.PUSH,
    )
    Tag.objects.create(repository=fresh.repository, name="fresh", artifact=fresh, pushed_at=fresh.pushed_at,
                       pushed_at_source=PushedAtSource.PUSH)

    evaluation = retention.preview(project, {"rules": [rule("pushed_within_days", 30)]})

    decisions = {d.digest: d for d in evaluation.artifacts}
    # build_image's created time is months back: an image "created" then is not retained.
    assert not decisions[old].kept
    assert "push time unknown" in decisions[old].reason and "created time" in decisions[old].reason
    assert decisions[fresh.digest].kept and "push time unknown" not in decisions[fresh.digest].reason
