"""Deleting from Wharf deletes in the real registry, one tag at a time when asked."""

from __future__ import annotations

import httpx
import pytest

from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from repositories.models import Artifact, RecycleBinEntry, Repository, Tag
from repositories.services import recycle
from repositories.services.artifacts import RegistryActionFailed, delete_artifact, delete_tag
from repositories.services.sync import sync_now
from tests.support import skopeo
from tests.support.images import build_image, push

pytestmark = [pytest.mark.slow, pytest.mark.django_db]
ACTOR = Actor.system("test")


def test_deleting_one_of_two_tags_on_a_digest_leaves_the_other_pullable(wharf_registry, tmp_path) -> None:
    client = wharf_registry.client()
    image = build_image()
    push(client, "proj/app", image, tag="v2")
    push(client, "proj/app", image, tag="v3")
    sync_now()
    delete_tag(Tag.objects.get(name="v2"), actor=ACTOR)
    assert client.tags("proj/app") == ["v3"]
    assert skopeo.inspect(wharf_registry, "proj/app:v2") is None
    skopeo.pull_to_dir(wharf_registry, "proj/app:v3", tmp_path / "pulled")
    assert (tmp_path / "pulled" / "manifest.json").exists()
    assert list(Tag.objects.values_list("name", flat=True)) == ["v3"]
    assert Tag.objects.get().artifact.digest == image.digest
    assert Repository.objects.get().tag_count == 1
    event = AuditEvent.objects.get(action=AuditAction.TAG_DELETE)
    assert event.target_name == "proj/app:v2" and event.details["digest"] == image.digest
    again = sync_now()
    assert (again.tags_removed, again.artifacts_added) == (0, 0), "no tombstone left behind"


def test_deleting_an_artifact_removes_all_its_tags(wharf_registry) -> None:
    client = wharf_registry.client()
    image = build_image()
    push(client, "proj/app", image, tag="a")
    push(client, "proj/app", image, tag="b")
    push(client, "proj/app", build_image(), tag="other")
    sync_now()
    delete_artifact(Tag.objects.get(name="a").artifact, actor=ACTOR)
    assert client.tags("proj/app") == ["other"]
    assert list(Tag.objects.values_list("name", flat=True)) == ["other"]
    assert Artifact.objects.count() == 1
    event = AuditEvent.objects.get(action=AuditAction.ARTIFACT_DELETE)
    assert sorted(event.details["tags"]) == ["a", "b"]


def test_registry_down_leaves_rows_untouched_with_a_clear_error(wharf_registry) -> None:
    push(wharf_registry.client(), "proj/app", build_image(), tag="v1")
    sync_now()
    wharf_registry.stop()
    with pytest.raises(RegistryActionFailed) as exc:
        delete_tag(Tag.objects.get(name="v1"), actor=ACTOR)
    assert exc.value.transient and "proj/app:v1" in exc.value.message
    with pytest.raises(RegistryActionFailed):
        delete_artifact(Artifact.objects.get(), actor=ACTOR)
    assert Tag.objects.count() == 1 and Artifact.objects.count() == 1
    assert not AuditEvent.objects.filter(action__in=[AuditAction.TAG_DELETE, AuditAction.ARTIFACT_DELETE]).exists()
    assert not RecycleBinEntry.objects.exists(), "a refused connection did nothing: no entry to undo"


def test_a_delete_the_registry_did_but_never_answered_keeps_its_undo(wharf_registry, monkeypatch) -> None:
    """The DELETE reaches the registry, which carries it out; the answer is lost (the connection
    drops). Wharf cannot tell, so it keeps the recycle-bin entry, says so, and the undo works.
    (A tag delete on Distribution 2.8 goes by a tombstone whose failed DELETE the client
    rolls back, so the artifact delete is the one to show.)"""
    image = build_image()
    push(wharf_registry.client(), "proj/app", image, tag="v1")
    sync_now()
    real_send = httpx.Client.send

    def send_then_drop(self: httpx.Client, request: httpx.Request, **kwargs):
        response = real_send(self, request, **kwargs)
        if request.method == "DELETE":
            response.close()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response

    monkeypatch.setattr(httpx.Client, "send", send_then_drop)
    with pytest.raises(RegistryActionFailed) as exc:
        delete_artifact(Artifact.objects.get(), actor=ACTOR)
    monkeypatch.undo()
    assert "may have deleted it" in exc.value.message
    assert wharf_registry.client().head_manifest("proj/app", "v1") is None, "the registry did delete it"
    entry = RecycleBinEntry.objects.get()
    recycle.restore(entry, actor=ACTOR)
    assert wharf_registry.client().head_manifest("proj/app", "v1") == image.digest
