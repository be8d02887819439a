"""Deleting through the pages against the real registry: pushed images, synced into
rows with `sync_now`, then deleted with the page's POSTs as a Maintainer would."""

from __future__ import annotations

import pytest

from audit.models import AuditAction, AuditEvent
from repositories.models import Artifact, Repository, Tag
from repositories.services.sync import sync_now
from tests.support.images import build_image, build_index, push

pytestmark = [pytest.mark.slow]
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def pushed(world, wharf_registry):
    """`acme/app`: one image tagged `v1` and `v2` (one digest), another tagged `v3`,
    and a two-platform index tagged `multi`."""
    client = wharf_registry.client()
    shared = build_image(labels={"evil": "<script>alert(1)</script>"})
    push(client, "acme/app", shared, tag="v1")
    push(client, "acme/app", shared, tag="v2")
    push(client, "acme/app", build_image(), tag="v3")
    index = build_index([build_image(architecture="amd64"), build_image(architecture="arm64", variant="v8")])
    push(client, "acme/app", index, tag="multi")
    run = sync_now()
    assert run.status == "succeeded", run.message
    return {"client": client, "shared": shared, "index": index, "registry": wharf_registry}


def test_deleting_one_of_two_tags_on_a_digest_keeps_the_other(world, pushed):
    response = world.client("maintainer").post("/projects/acme/repositories/app/-/tags/v1/delete/", follow=True)

    assert "Deleted 1 tag from acme/app: v1." in response.content.decode()
    assert pushed["client"].tags("acme/app") == ["multi", "v2", "v3"]
    assert Tag.objects.get(name="v2").artifact.digest == pushed["shared"].digest
    assert not Tag.objects.filter(name="v1").exists()
    assert Repository.objects.get(name="acme/app").tag_count == 3
    event = AuditEvent.objects.get(action=AuditAction.TAG_DELETE)
    assert (event.target_name, event.actor_name) == ("acme/app:v1", "maintainer")


def test_bulk_delete_with_htmx_removes_the_rows_from_the_table(world, pushed):
    response = world.client("maintainer").post(
        "/projects/acme/repositories/app/-/tags/delete/",
        {"tag": ["v2", "v3"]},
        HTTP_HX_CURRENT_URL="http://testserver/projects/acme/repositories/app/",
        **HTMX,
    )

    html = response.content.decode()
    assert [t.name for t in response.context["page"].rows] == ["multi", "v1"]
    assert 'data-tag="v2"' not in html and 'data-tag="v3"' not in html
    assert pushed["client"].tags("acme/app") == ["multi", "v1"]


def test_the_index_shows_its_platforms_as_chips(world, pushed):
    html = world.client("guest").get("/projects/acme/repositories/app/").content.decode()

    row = html.split('<tr data-tag="multi">', 1)[1].split("</tr>", 1)[0]
    assert "linux/amd64" in row and "linux/arm64/v8" in row


def test_deleting_an_artifact_takes_all_its_tags(world, pushed):
    digest = pushed["shared"].digest

    response = world.client("maintainer").post(f"/projects/acme/repositories/app/-/artifacts/{digest}/delete/", follow=True)

    assert response.redirect_chain[-1][0] == "/projects/acme/repositories/app/"
    assert f"Deleted acme/app@{digest}." in response.content.decode()
    assert pushed["client"].tags("acme/app") == ["multi", "v3"]
    assert not Artifact.objects.filter(digest=digest).exists()


def test_registry_down_is_a_flash_error_and_keeps_the_rows(world, pushed):
    pushed["registry"].stop()
    client = world.client("maintainer")

    tag_response = client.post("/projects/acme/repositories/app/-/tags/v1/delete/", follow=True)
    artifact_response = client.post(
        f"/projects/acme/repositories/app/-/artifacts/{pushed['shared'].digest}/delete/", follow=True
    )

    assert tag_response.status_code == artifact_response.status_code == 200
    assert "The registry did not delete acme/app:v1" in tag_response.content.decode()
    assert f"The registry did not delete acme/app@{pushed['shared'].digest}" in artifact_response.content.decode()
    assert Tag.objects.filter(name__in=["v1", "v2", "v3", "multi"]).count() == 4
    assert Artifact.objects.filter(digest=pushed["shared"].digest).exists()
    assert not AuditEvent.objects.filter(action__in=[AuditAction.TAG_DELETE, AuditAction.ARTIFACT_DELETE]).exists()


def test_label_from_the_registry_is_escaped_on_the_artifact_page(world, pushed):
    html = world.client("guest").get(
        f"/projects/acme/repositories/app/-/artifacts/{pushed['shared'].digest}/"
    ).content.decode()

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" not in html
