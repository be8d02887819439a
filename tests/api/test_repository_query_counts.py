"""The repository, tag and artifact lists run a fixed number of queries with 5,000
tags present, whatever the page size."""

from __future__ import annotations

from typing import Any

import pytest

from repositories.models import Artifact, Repository, Tag
from tests.api.conftest import digest_of
from tests.conftest import World
from tests.support.shared_rows import fresh, shared

TAGS = 5000
INDEXES = 500
# Session, user, repository, project (get_project), COUNT(*), the page, and its
# prefetches: index children and accessories (tags); children and tags (artifacts); the
# page's Wharf labels (both). A tag page that crosses from pulled to never-pulled tags reads
# each part (portal.keyset). The first read after a change of the repository's tags also
# works out which accessory look-alikes are rows (`accessories.lookalike_rows`, then cached).
# Never one per row.
MAX_TAG_LIST_QUERIES = 11
MAX_ARTIFACT_LIST_QUERIES = 9
# One more where the page crosses from pushed to never-pushed repositories (`portal.keyset`).
MAX_REPOSITORY_LIST_QUERIES = 6


@pytest.fixture(scope="module")
def _module_crowded(module_rows: Any, _module_world: World | None) -> Repository | None:
    return shared(module_rows, "crowded", lambda: _crowd(_module_world)) if _module_world else None


@pytest.fixture
def crowded(world: World, _module_crowded: Repository | None) -> Repository:
    """`acme/big` with 5,000 tags: 500 on two-platform indexes, the rest on images;
    plus 300 more repositories in `acme` (made once per module: tests/support/shared_rows.py)."""
    return fresh(_module_crowded, lambda: _crowd(world))


def _crowd(world: World) -> Repository:
    repository = Repository.objects.create(project=world.private, name="acme/big", tag_count=TAGS)
    images = Artifact.objects.bulk_create(
        Artifact(repository=repository, digest=digest_of(f"image-{i}"), os="linux", architecture="amd64")
        for i in range(TAGS - INDEXES)
    )
    indexes = Artifact.objects.bulk_create(
        Artifact(repository=repository, digest=digest_of(f"index-{i}"), kind=Artifact.Kind.INDEX)
        for i in range(INDEXES)
    )
    Artifact.objects.bulk_create(
        Artifact(repository=repository, parent=index, digest=digest_of(f"child-{i}-{arch}"), os="linux", architecture=arch)
        for i, index in enumerate(indexes)
        for arch in ("amd64", "arm64")
    )
    Tag.objects.bulk_create(
        Tag(repository=repository, name=f"t{i:05}", artifact=artifact)
        for i, artifact in enumerate([*images, *indexes])
    )
    Repository.objects.bulk_create(
        Repository(project=world.private, name=f"acme/r{i:03}", tag_count=i) for i in range(300)
    )
    return repository


@pytest.mark.parametrize("page_size", [50, 500])
@pytest.mark.parametrize("ordering", ["name", "-pushed_at", "last_pull_at"])
def test_tag_list_queries_are_bounded(
    crowded: Repository, api: Any, django_assert_max_num_queries: Any, page_size: int, ordering: str
) -> None:
    client = api("guest")
    first = client.get("/api/v1/repositories/acme/big/-/tags/", {"page_size": page_size, "ordering": ordering})

    with django_assert_max_num_queries(MAX_TAG_LIST_QUERIES):
        response = client.get(first.json()["next"])
    with django_assert_max_num_queries(MAX_TAG_LIST_QUERIES):
        last = client.get(first.json()["last"])

    body = response.json()
    assert body["count"] == TAGS and body["count_exact"] is True
    assert len(body["results"]) == page_size and len(last.json()["results"]) == page_size


def test_tag_list_page_of_indexes_shows_their_platforms_within_the_bound(
    crowded: Repository, api: Any, django_assert_max_num_queries: Any
) -> None:
    client = api("guest")
    first = client.get("/api/v1/repositories/acme/big/-/tags/", {"page_size": 500})

    with django_assert_max_num_queries(MAX_TAG_LIST_QUERIES):
        response = client.get(first.json()["last"])

    rows = response.json()["results"]
    assert rows[0]["name"] == "t04500" and rows[0]["kind"] == "index"
    assert all([p["architecture"] for p in row["platforms"]] == ["amd64", "arm64"] for row in rows)


def test_glob_filtered_tag_list_queries_are_bounded(
    crowded: Repository, api: Any, django_assert_max_num_queries: Any
) -> None:
    client = api("guest")

    with django_assert_max_num_queries(MAX_TAG_LIST_QUERIES):
        response = client.get("/api/v1/repositories/acme/big/-/tags/", {"pattern": "t04[5-9]*"})

    assert response.json()["count"] == 500


@pytest.mark.parametrize("page_size", [50, 500])
def test_artifact_list_queries_are_bounded(
    crowded: Repository, api: Any, django_assert_max_num_queries: Any, page_size: int
) -> None:
    client = api("guest")

    with django_assert_max_num_queries(MAX_ARTIFACT_LIST_QUERIES):
        response = client.get("/api/v1/repositories/acme/big/-/artifacts/", {"page_size": page_size})

    body = response.json()
    assert body["count"] == TAGS
    assert len(body["results"]) == page_size
    assert all(len(row["tags"]) == 1 for row in body["results"])


@pytest.mark.parametrize("ordering", ["name", "-tag_count", "last_push_at"])
def test_repository_list_queries_are_bounded(
    crowded: Repository, api: Any, django_assert_max_num_queries: Any, ordering: str
) -> None:
    client = api("guest")

    with django_assert_max_num_queries(MAX_REPOSITORY_LIST_QUERIES):
        response = client.get("/api/v1/projects/acme/repositories/", {"page_size": 500, "ordering": ordering})

    body = response.json()
    assert body["count"] == 301
    assert len(body["results"]) == 301
