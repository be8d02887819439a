"""Promoting an artifact from `acme` to `pub` against the real registry: blobs are
mounted (the registry's access log shows no blob upload), an index comes with its
platforms, an image with its cosign signature and its OCI referrer; the permission
matrix (pull on the source, push on the target), the page, and the failure paths."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import AuditAction, AuditEvent
from replication.models import Promotion
from repositories.models import Artifact, Tag
from repositories.services.sync import sync_now
from tests.conftest import World

from .helpers import AccessLog, notify_push, push_content

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


@pytest.fixture
def content(world: World, wharf_registry: Any) -> Any:
    pushed = push_content(wharf_registry.client(), "acme/web")
    run = sync_now()
    assert run.status == "succeeded", run.message
    notify_push("acme/web", pushed.referrer.digest, pushed.referrer.media_type)
    return pushed


def _url(digest: str) -> str:
    return f"/api/v1/repositories/acme/web/-/artifacts/{digest}/promotions/"


def test_promotion_mounts_every_blob_and_brings_signature_and_referrer(
    content: Any, wharf_registry: Any, api: Any, django_capture_on_commit_callbacks: Any
) -> None:
    log = AccessLog(wharf_registry)
    log.mark()
    with django_capture_on_commit_callbacks(execute=True):
        response = api("developer").post(_url(content.image.digest), {"project": "pub", "tag": "release"})
    assert response.status_code == 201, response.content
    assert log.blob_uploads() == 0
    assert log.mounts() >= 3  # config and two layers of the image, plus the referrers' blobs
    client = wharf_registry.client()
    assert client.head_manifest("pub/web", "release") == content.image.digest
    sig_tag = content.image.digest.replace(":", "-") + ".sig"
    assert client.head_manifest("pub/web", sig_tag) == content.signature.digest
    assert client.head_manifest("pub/web", content.referrer.digest) == content.referrer.digest
    body = response.json()
    assert body["stats"]["blobs_uploaded"] == 0 and body["stats"]["blobs_mounted"] >= 3
    assert sig_tag in body["referrers"] and content.referrer.digest in body["referrers"]
    promoted = Artifact.objects.get(repository__name="pub/web", digest=content.image.digest)
    assert promoted.details_synced and promoted.layers  # the details task read it
    assert Tag.objects.filter(repository__name="pub/web", name="release", artifact=promoted).exists()
    event = AuditEvent.objects.filter(action=AuditAction.ARTIFACT_PROMOTE).get()
    assert event.project_name == "pub" and event.actor_name == "developer"
    assert event.details["from"] == f"acme/web@{content.image.digest}"


def test_promoting_an_index_copies_its_platforms_by_mount(
    content: Any, wharf_registry: Any, api: Any, django_capture_on_commit_callbacks: Any
) -> None:
    log = AccessLog(wharf_registry)
    log.mark()
    with django_capture_on_commit_callbacks(execute=True):
        response = api("sysadmin").post(
            _url(content.index.digest), {"project": "pub", "repository": "multi/web", "tag": "stable"}
        )
    assert response.status_code == 201, response.content
    assert log.blob_uploads() == 0
    client = wharf_registry.client()
    assert client.head_manifest("pub/multi/web", "stable") == content.index.digest
    for child in content.index.children:
        assert client.head_manifest("pub/multi/web", child.digest) == child.digest
    index = Artifact.objects.get(repository__name="pub/multi/web", digest=content.index.digest)
    assert index.children.count() == 2


def test_promoting_again_sends_nothing_but_records_it(content: Any, wharf_registry: Any, api: Any) -> None:
    assert (
        api("developer").post(_url(content.image.digest), {"project": "pub", "tag": "a"}).status_code == 201
    )
    log = AccessLog(wharf_registry)
    log.mark()
    again = api("developer").post(_url(content.image.digest), {"project": "pub", "tag": "a"})
    assert again.status_code == 201
    assert again.json()["stats"]["manifests_present"] >= 1
    assert log.blob_uploads() == 0 and log.mounts() == 0
    history = api("guest").get(_url(content.image.digest)).json()
    assert [p["tag"] for p in history] == ["a", "a"]


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("sysadmin", 201),
        ("padmin", 201),
        ("maintainer", 201),
        ("developer", 201),
        ("guest", 403),  # pulls from acme, may not push to pub
        ("limited", 403),
        ("outsider", 404),  # may not see acme at all
        ("anonymous", 401),
    ],
)
def test_promotion_needs_pull_on_the_source_and_push_on_the_target(
    content: Any, api: Any, persona: str, expected: int
) -> None:
    response = api(persona).post(_url(content.image.digest), {"project": "pub", "tag": f"t-{persona}"})
    assert response.status_code == expected, response.content
    assert Promotion.objects.exists() == (expected == 201)


def test_a_target_project_you_cannot_see_is_a_404(content: Any, api: Any, world: World) -> None:
    from tests.factories import ProjectFactory

    ProjectFactory(name="secret", is_public=False)
    response = api("developer").post(_url(content.image.digest), {"project": "secret", "tag": "x"})
    assert response.status_code == 404
    assert not Promotion.objects.exists()


def test_bad_tag_and_repository_are_field_errors(content: Any, api: Any) -> None:
    bad_tag = api("developer").post(_url(content.image.digest), {"project": "pub", "tag": "-nope"})
    assert bad_tag.status_code == 400 and "tag" in bad_tag.json()
    bad_repo = api("developer").post(
        _url(content.image.digest), {"project": "pub", "repository": "Bad/Name", "tag": "ok"}
    )
    assert bad_repo.status_code == 400 and "repository" in bad_repo.json()
    assert not AuditEvent.objects.filter(action=AuditAction.ARTIFACT_PROMOTE).exists()


def test_registry_down_is_a_503_and_records_nothing(content: Any, wharf_registry: Any, api: Any) -> None:
    wharf_registry.stop()
    try:
        response = api("developer").post(_url(content.image.digest), {"project": "pub", "tag": "down"})
    finally:
        wharf_registry.start()
    assert response.status_code == 503, response.content
    assert not Promotion.objects.exists()
    assert not Tag.objects.filter(repository__name="pub/web").exists()


def test_the_artifact_page_promotes_and_shows_the_history(content: Any, world: World) -> None:
    client = world.client("developer")
    page = client.get(f"/projects/acme/repositories/web/-/artifacts/{content.image.digest}/").content.decode()
    assert 'id="promote-artifact"' in page
    url = f"/projects/acme/repositories/web/-/artifacts/{content.image.digest}/promote/"
    dialog = client.get(url, headers={"HX-Request": "true"})
    assert dialog.status_code == 200 and b'id="promote-form"' in dialog.content
    refused = client.post(url, {"project": "pub", "repository": "web", "tag": ".bad"})
    assert refused.status_code == 200 and b"invalid-feedback" in refused.content
    done = client.post(
        url, {"project": "pub", "repository": "web", "tag": "from-page"}, headers={"HX-Request": "true"}
    )
    assert done.status_code == 200 and done.headers["HX-Redirect"].endswith(f"{content.image.digest}/")
    history = client.get(f"/projects/acme/repositories/web/-/artifacts/{content.image.digest}/promotions/")
    text = history.content.decode()
    assert history.status_code == 200 and "pub/web:from-page" in text and "developer" in text
    assert "pub" in text.split('id="digest-holders"', 1)[1].split("</ul>", 1)[0]


def test_a_guest_sees_no_target_in_the_dialog(content: Any, world: World) -> None:
    url = f"/projects/acme/repositories/web/-/artifacts/{content.image.digest}/promote/"
    dialog = world.client("guest").get(url)
    assert dialog.status_code == 200 and b'id="no-targets"' in dialog.content
    assert world.client("outsider").get(url).status_code == 404
