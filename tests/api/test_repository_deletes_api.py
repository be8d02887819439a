"""Deleting tags and artifacts through the API, against the real registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from audit.models import AuditAction, AuditEvent
from repositories.models import Artifact, Project, Repository, Tag
from repositories.registry.config import registry_config, render_registry_config
from repositories.services.sync import sync_now
from tests.conftest import World
from tests.support import skopeo
from tests.support.images import build_image, push
from tests.support.registry import RegistryServer

pytestmark = pytest.mark.slow

APP = "/api/v1/repositories/acme/app"
DELETES = [AuditAction.TAG_DELETE, AuditAction.ARTIFACT_DELETE]


@pytest.fixture
def pushed(world: World, wharf_registry: RegistryServer) -> dict[str, Any]:
    """`acme/app` in the registry and in Wharf: one image tagged `v2` and `v3`, another tagged `other`."""
    client = wharf_registry.client()
    shared, other = build_image(), build_image()
    push(client, "acme/app", shared, tag="v2")
    push(client, "acme/app", shared, tag="v3")
    push(client, "acme/app", other, tag="other")
    run = sync_now()
    assert run.status == "succeeded", run.message
    assert Repository.objects.get(name="acme/app").project == world.private
    return {"client": client, "shared": shared, "other": other}


def test_deleting_one_of_two_tags_on_a_digest_keeps_the_other_pullable(
    pushed: dict[str, Any], wharf_registry: RegistryServer, api: Any, tmp_path: Path
) -> None:
    response = api("maintainer").delete(f"{APP}/-/tags/v2/")

    assert response.status_code == 204, response.content
    assert pushed["client"].tags("acme/app") == ["other", "v3"]
    assert skopeo.inspect(wharf_registry, "acme/app:v2") is None
    skopeo.pull_to_dir(wharf_registry, "acme/app:v3", tmp_path / "pulled")
    assert (tmp_path / "pulled" / "manifest.json").exists()
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["other", "v3"]
    assert Tag.objects.get(name="v3").artifact.digest == pushed["shared"].digest
    assert Repository.objects.get(name="acme/app").tag_count == 2
    event = AuditEvent.objects.get(action=AuditAction.TAG_DELETE)
    assert (event.actor_name, event.target_name) == ("maintainer", "acme/app:v2")


def test_deleting_an_artifact_takes_every_tag_on_it(pushed: dict[str, Any], api: Any) -> None:
    response = api("padmin").delete(f"{APP}/-/artifacts/{pushed['shared'].digest}/")

    assert response.status_code == 204, response.content
    assert pushed["client"].tags("acme/app") == ["other"]
    assert list(Tag.objects.values_list("name", flat=True)) == ["other"]
    assert list(Artifact.objects.values_list("digest", flat=True)) == [pushed["other"].digest]
    event = AuditEvent.objects.get(action=AuditAction.ARTIFACT_DELETE)
    assert event.actor_name == "padmin" and sorted(event.details["tags"]) == ["v2", "v3"]


def test_bulk_delete_reports_each_tag(pushed: dict[str, Any], api: Any) -> None:
    response = api("maintainer").post(f"{APP}/-/tags/bulk-delete/", {"tags": ["v2", "nope", "other", "v2"]})

    assert response.status_code == 200, response.content
    assert response.json() == {
        "deleted": 2,
        "failed": 1,
        "results": [
            {"tag": "v2", "outcome": "deleted", "detail": ""},
            {"tag": "nope", "outcome": "not_found", "detail": "No such tag."},
            {"tag": "other", "outcome": "deleted", "detail": ""},
        ],
    }
    assert pushed["client"].tags("acme/app") == ["v3"]
    assert list(Tag.objects.values_list("name", flat=True)) == ["v3"]
    assert AuditEvent.objects.filter(action=AuditAction.TAG_DELETE).count() == 2


def test_registry_down_is_a_503_with_its_message_and_nothing_deleted(
    pushed: dict[str, Any], wharf_registry: RegistryServer, api: Any
) -> None:
    wharf_registry.stop()
    client = api("maintainer")

    tag = client.delete(f"{APP}/-/tags/v2/")
    artifact = client.delete(f"{APP}/-/artifacts/{pushed['shared'].digest}/")
    bulk = client.post(f"{APP}/-/tags/bulk-delete/", {"tags": ["v3", "other"]})

    assert tag.status_code == artifact.status_code == 503
    assert tag["Content-Type"] == "application/json"
    assert "acme/app:v2" in tag.json()["detail"]
    assert pushed["shared"].digest in artifact.json()["detail"]
    assert bulk.status_code == 200
    assert [(r["tag"], r["outcome"]) for r in bulk.json()["results"]] == [("v3", "failed"), ("other", "skipped")]
    assert bulk.json()["deleted"] == 0
    assert Tag.objects.count() == 3 and Artifact.objects.count() == 2
    assert not AuditEvent.objects.filter(action__in=DELETES).exists()


def test_registry_refusing_deletes_is_a_502_and_nothing_deleted(
    pushed: dict[str, Any], wharf_registry: RegistryServer, api: Any
) -> None:
    # The same registry and storage, restarted with deletes turned off.
    wharf_registry.config_path.write_text(
        render_registry_config(
            registry_config(
                storage_dir=str(wharf_registry.storage),
                addr=wharf_registry.host,
                http_secret="x" * 32,
                delete_enabled=False,
            )
        )
    )
    wharf_registry.restart()
    client = api("maintainer")

    tag = client.delete(f"{APP}/-/tags/v2/")
    artifact = client.delete(f"{APP}/-/artifacts/{pushed['shared'].digest}/")

    assert (tag.status_code, artifact.status_code) == (502, 502), (tag.content, artifact.content)
    assert "acme/app:v2" in tag.json()["detail"]
    assert pushed["client"].tags("acme/app") == ["other", "v2", "v3"]
    assert Tag.objects.count() == 3 and Artifact.objects.count() == 2
    assert not AuditEvent.objects.filter(action__in=DELETES).exists()


def test_guest_cannot_delete_and_the_registry_is_untouched(pushed: dict[str, Any], api: Any) -> None:
    assert api("developer").delete(f"{APP}/-/tags/v2/").status_code == 403
    assert api("developer").post(f"{APP}/-/tags/bulk-delete/", {"tags": ["v2"]}).status_code == 403
    assert pushed["client"].tags("acme/app") == ["other", "v2", "v3"]
    assert Project.objects.get(name="acme").repositories.get().tag_count == 3
