"""The Repositories tab and a repository's tag table cost a fixed number of queries
with 5,000 tags present (indexes with children included): no N+1 per row."""

from __future__ import annotations

from repositories.models import Artifact, Repository, SyncRun, Tag
from tests.pages.repository_content import digest

TAGS = 5_000
# Measured 13 for a maintainer: session, user, project, repository, count, page, index
# children (only when the page shows an index), accessories of the page, last covering
# sync run, last notification, the sync status box's run, and one or two for the scan
# summaries (the second only for artifacts whose newest scan did not succeed). On PostgreSQL the count is two
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


def test_a_page_without_indexes_or_unfinished_scans_skips_their_queries(world):
    """The index children are read only for a page that shows an index, and earlier
    successful scans only for artifacts whose newest scan did not succeed: a page of
    images, scanned or not, costs neither query; one with a failed rescan asks the second,
    and shows the earlier counts with the failure."""
    from datetime import timedelta

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from repositories.models import ScanReport

    repository = Repository.objects.create(project=world.private, name="acme/images")
    artifacts = Artifact.objects.bulk_create(
        [Artifact(repository=repository, digest=digest(f"image-{i}"), size=i, os="linux", architecture="amd64") for i in range(60)]
    )
    Tag.objects.bulk_create([Tag(repository=repository, name=f"t{i:02}", artifact=a) for i, a in enumerate(artifacts)])
    now = timezone.now()
    ScanReport.objects.create(
        artifact=artifacts[59], status=ScanReport.Status.SUCCEEDED, created_at=now, counts={"high": 2}
    )
    client = world.client("maintainer")
    url = "/projects/acme/repositories/images/"
    client.get(url)

    def queries(**params: str) -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url, {"sort": "-name", **params})
        assert response.status_code == 200
        return [q["sql"] for q in captured.captured_queries]

    sql = queries()
    assert not [q for q in sql if '"parent_id" IN' in q]
    assert len([q for q in sql if 'FROM "repositories_scanreport"' in q]) == 1

    ScanReport.objects.create(
        artifact=artifacts[59], status=ScanReport.Status.FAILED, created_at=now + timedelta(minutes=1)
    )
    sql = queries()
    assert len([q for q in sql if 'FROM "repositories_scanreport"' in q]) == 2
    html = client.get(url, {"sort": "-name"}).content.decode()
    row = html[html.index('data-tag="t59"') :]
    row = row[: row.index("</tr>")]
    assert "last scan failed" in row and "sev-high" in row
