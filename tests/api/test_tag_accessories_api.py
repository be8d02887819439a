"""The tag list API: accessories of each tag's artifact, `accessory_of` on accessory
tags, and `?accessories=include|exclude|only` (the same rule as the page); the
repository detail says when it was last synced."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from repositories.models import RegistryEvent, SyncRun
from tests.conftest import World
from tests.pages.accessory_content import Accessories, add_accessories, reference_tag
from tests.pages.repository_content import Content, make_content

TAGS = "/api/v1/repositories/acme/app/-/tags/"
ORDINARY = ["broken", "latest", "v1.0", "v1.1", "v1x0", "v2.0"]


@pytest.fixture
def content(world: World) -> Content:
    return make_content(world.private)


@pytest.fixture
def accessories(content: Content) -> Accessories:
    return add_accessories(content)


def _rows(api: Any, **query: str) -> dict[str, dict[str, Any]]:
    response = api("guest").get(TAGS, {"page_size": 100, **query})
    assert response.status_code == 200, response.content
    return {row["name"]: row for row in response.json()["results"]}


def test_every_tag_is_listed_by_default_as_a_registry_client_expects(
    content: Content, accessories: Accessories, api: Any
) -> None:
    rows = _rows(api)

    assert len(rows) == 13
    assert reference_tag(content.image.digest, ".sig") in rows and "sbom-v2" in rows


def test_a_tag_row_lists_the_accessories_of_its_artifact(content: Content, accessories: Accessories, api: Any) -> None:
    rows = _rows(api)

    image = content.image.digest
    assert rows["v1.0"]["accessories"] == rows["v1.1"]["accessories"] == [
        {"kind": "signature", "tag": reference_tag(image, ".sig"), "digest": accessories.sig.digest},
        {"kind": "signature", "tag": None, "digest": content.signature.digest},
        {"kind": "sbom", "tag": reference_tag(image, ".sbom"), "digest": accessories.sbom.digest},
        {"kind": "attestation", "tag": reference_tag(image, ".att"), "digest": accessories.att.digest},
    ]
    assert rows["latest"]["accessories"] == [
        {"kind": "referrers", "tag": reference_tag(content.index.digest), "digest": accessories.referrers.digest}
    ]
    assert rows["v2.0"]["accessories"] == [{"kind": "sbom", "tag": "sbom-v2", "digest": accessories.spdx.digest}]
    assert rows["broken"]["accessories"] == []
    assert rows["v1.0"]["accessory_of"] is None


def test_an_accessory_tag_says_what_it_is_and_whose(content: Content, accessories: Accessories, api: Any) -> None:
    rows = _rows(api)

    assert rows[reference_tag(content.image.digest, ".att")]["accessory_of"] == {
        "kind": "attestation",
        "subject_digest": content.image.digest,
    }
    assert rows["sbom-v2"]["accessory_of"] == {"kind": "sbom", "subject_digest": content.other.digest}
    assert rows[reference_tag(accessories.missing_subject, ".sig")]["accessory_of"]["subject_digest"] == (
        accessories.missing_subject
    )


def test_exclude_leaves_out_nested_accessories_but_keeps_orphans(
    content: Content, accessories: Accessories, api: Any
) -> None:
    rows = _rows(api, accessories="exclude")

    orphans = [reference_tag(accessories.missing_subject, ".sig"), reference_tag(accessories.lonely.digest, ".att")]
    assert sorted(rows) == sorted(ORDINARY + orphans)


def test_only_lists_accessory_tags(content: Content, accessories: Accessories, api: Any) -> None:
    rows = _rows(api, accessories="only")

    assert len(rows) == 7 and all(row["accessory_of"] for row in rows.values())


def test_an_unknown_accessories_value_is_a_400(content: Content, api: Any) -> None:
    response = api("guest").get(TAGS, {"accessories": "all"})

    assert response.status_code == 400
    assert "accessories" in response.json()


def test_a_tag_read_alone_carries_its_accessories(content: Content, accessories: Accessories, api: Any) -> None:
    body = api("guest").get(TAGS + "v1.0/").json()

    assert [a["kind"] for a in body["accessories"]] == ["signature", "signature", "sbom", "attestation"]


def test_repository_detail_says_when_it_was_last_synced(content: Content, world: World, api: Any) -> None:
    url = "/api/v1/repositories/acme/app/"
    never = api("guest").get(url).json()
    assert never["last_synced_at"] is None and never["last_sync_run"] is None
    assert never["last_notification_at"] is None

    finished = timezone.now() - timedelta(hours=1)
    project_run = SyncRun.objects.create(
        scope=SyncRun.Scope.PROJECT, project=world.private, status=SyncRun.Status.SUCCEEDED, finished_at=finished
    )
    SyncRun.objects.create(scope=SyncRun.Scope.PROJECT, project=world.public, status=SyncRun.Status.SUCCEEDED)
    RegistryEvent.objects.create(event_id="e1", action="push", repository="acme/app")
    body = api("guest").get(url).json()

    assert body["last_sync_run"] == project_run.pk
    assert body["last_synced_at"].startswith(finished.strftime("%Y-%m-%dT%H:%M:%S"))
    assert body["last_notification_at"] is not None


def test_accessories_of_a_full_page_cost_one_query(world: World, api: Any, django_assert_max_num_queries: Any) -> None:
    from repositories.models import Artifact, Repository, Tag
    from tests.api.conftest import digest_of
    from tests.api.test_repository_query_counts import MAX_TAG_LIST_QUERIES

    repository = Repository.objects.create(project=world.private, name="acme/signed")
    images = Artifact.objects.bulk_create(Artifact(repository=repository, digest=digest_of(f"i{i}")) for i in range(120))
    signatures = Artifact.objects.bulk_create(Artifact(repository=repository, digest=digest_of(f"s{i}")) for i in range(120))
    Tag.objects.bulk_create(
        [Tag(repository=repository, name=f"v{i:03}", artifact=image) for i, image in enumerate(images)]
        + [Tag(repository=repository, name=reference_tag(i.digest, ".sig"), artifact=s) for i, s in zip(images, signatures)]
    )
    client = api("guest")

    with django_assert_max_num_queries(MAX_TAG_LIST_QUERIES):
        response = client.get("/api/v1/repositories/acme/signed/-/tags/", {"accessories": "exclude", "page_size": 100})

    rows = response.json()["results"]
    assert response.json()["count"] == 120 and len(rows) == 100
    assert all(row["accessories"][0]["kind"] == "signature" for row in rows)
