"""The Repositories tab and a repository's tag table cost a fixed number of queries
with 5,000 tags present (indexes with children included): no N+1 per row."""

from __future__ import annotations

from repositories.models import Artifact, Repository, SyncRun, Tag
from tests.pages.repository_content import digest

TAGS = 5_000
# Measured 13 for a maintainer: session, user, project, repository, count, page, index
# children, accessories of the page, last covering sync run, last notification, the
# sync status box's run, and two for the scan summaries. On PostgreSQL the count is two
# (portal.keyset.count: a probe bounded at 10,000 rows without the accessory check, then the
# exact count, or the planner's estimate past the bound); plus two for labels (the page's
# artifacts' labels, and the labels usable in the project for the filter and bulk action), so 16; one more for storage usage.
MAX_QUERIES = 17


def _fill(world) -> Repository:
    repository = Repository.objects.create(project=world.private, name="acme/big", tag_count=TAGS)
    Repository.objects.bulk_create(
        [Repository(project=world.private, name=f"acme/r{i:04}", size=i, tag_count=i) for i in range(1000)]
    )
    artifacts = Artifact.objects.bulk_create(
        [
            Artifact(
                repository=repository,
                digest=digest(f"big-{i}"),
                kind=Artifact.Kind.INDEX if i % 2 else Artifact.Kind.IMAGE,
                size=i,
                os="linux",
                architecture="amd64",
            )
            for i in range(TAGS)
        ]
    )
    Artifact.objects.bulk_create(
        [
            Artifact(repository=repository, digest=digest(f"child-{i}-{arch}"), parent=parent, os="linux", architecture=arch)
            for i, parent in enumerate(artifacts)
            if i % 2
            for arch in ("amd64", "arm64")
        ]
    )
    Tag.objects.bulk_create(
        [Tag(repository=repository, name=f"t{i:05}", artifact=artifact) for i, artifact in enumerate(artifacts)]
    )
    SyncRun.objects.create(scope=SyncRun.Scope.PROJECT, project=world.private)
    return repository


def test_tag_list_queries_are_bounded_with_5000_tags(world, django_assert_max_num_queries):
    _fill(world)
    client = world.client("maintainer")
    client.get("/projects/acme/repositories/big/")  # warm the session

    with django_assert_max_num_queries(MAX_QUERIES):
        first = client.get("/projects/acme/repositories/big/", {"sort": "-size"})
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get("/projects/acme/repositories/big/" + dict(first.context["page_links"])["Next"])
    with django_assert_max_num_queries(MAX_QUERIES):
        last = client.get("/projects/acme/repositories/big/" + dict(first.context["page_links"])["Last"])

    page = response.context["page"]
    assert response.context["total"].count == TAGS
    assert len(page.rows) == 50 and len(last.context["page"].rows) == 50
    html = response.content.decode()
    assert html.count("platform-chip") >= 25 * 2  # the indexes' children were shown


def test_tag_list_filtered_by_glob_queries_are_bounded(world, django_assert_max_num_queries):
    _fill(world)
    client = world.client("guest")
    client.get("/projects/acme/repositories/big/")

    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get("/projects/acme/repositories/big/", {"tag": "t0*9", "sort": "-pushed"})

    assert response.context["total"].count == 500


def test_repositories_tab_queries_are_bounded(world, django_assert_max_num_queries):
    _fill(world)
    client = world.client("maintainer")
    cursor = client.get("/projects/acme/repositories/", {"sort": "-tags"}).context["page"].next

    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get("/projects/acme/repositories/", {"sort": "-tags", "cursor": cursor})

    assert response.context["total"].count == 1001
    assert len(response.context["page"].object_list) == 25
