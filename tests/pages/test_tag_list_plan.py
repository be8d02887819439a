"""The tag list pages by cursor (`portal.keyset`): on PostgreSQL every sort of the page
and the API reads its rows through an index, never a sequential scan of the tag table,
at the first, the next and the last page; the tag's own columns (name, push, last pull)
also come in index order, without a sort."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from repositories.models import Repository
from repositories.tag_lists import TAG_ORDERINGS
from repositories.views.repositories import TAG_SORTS
from tests.conftest import World

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="EXPLAIN output is vendor-specific: this checks PostgreSQL's planner"
)

TAGS = 20_000


def _fill(repository: Repository, size: int) -> None:
    """`size` tags on their own artifacts (a third never pulled; sizes and pulls repeat, so
    the tie-breaker matters), in one INSERT ... SELECT per table."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO repositories_artifact (repository_id, digest, media_type, artifact_type, kind, size, os,
                architecture, variant, pushed_at, pushed_at_source, pull_count, annotations, labels, config,
                layers, manifest, subject_digest, error, details_synced, updated_at, last_pull_at)
            SELECT %s, 'sha256:' || md5(%s || i) || md5(i::text), '', '', 'image', (i * 7919) %% 5000, 'linux',
                'amd64', '', now() - i * interval '1 minute', 'push', (i * 13) %% 100, '{}', '{}', '{}', '[]', '',
                '', '', true, now(), NULL
            FROM generate_series(1, %s) AS i
            """,
            [repository.pk, repository.name, size],
        )
        cursor.execute(
            """
            INSERT INTO repositories_tag (repository_id, name, artifact_id, pushed_at, pushed_at_source, last_pull_at)
            SELECT repository_id, 'v' || id, id, pushed_at, 'push',
                CASE WHEN id %% 3 = 0 THEN NULL ELSE now() - (id %% 1000) * interval '1 minute' END
            FROM repositories_artifact WHERE repository_id = %s
            """,
            [repository.pk],
        )


def _nodes(plan: dict[str, Any], *, subplans: bool = True) -> Iterator[dict[str, Any]]:
    """The nodes of `plan`; without those of its sub-plans (the accessory checks) unless `subplans`."""
    yield plan
    for child in plan.get("Plans", []):
        if subplans or child.get("Parent Relationship") not in ("SubPlan", "InitPlan"):
            yield from _nodes(child, subplans=subplans)


def _row_plans(client: Client, url: str) -> list[dict[str, Any]]:
    """The plans of the queries that read a page of tags (not the bounded count)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    queries = [
        q["sql"]
        for q in captured.captured_queries
        if 'FROM "repositories_tag"' in q["sql"] and "ORDER BY" in q["sql"] and "COUNT(" not in q["sql"]
    ]
    assert queries, url
    plans = []
    with connection.cursor() as cursor:
        # The rows are this test's, uncommitted: an autovacuum ANALYZE of the tables since the
        # fixture's (left by earlier tests' rolled-back rows) would see them empty and steer the
        # planner. Read the statistics again right before explaining.
        _analyze(cursor)
        for sql in queries:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
            row = cursor.fetchone()[0]
            plans.append((row if isinstance(row, list) else json.loads(row))[0]["Plan"])
    return plans


def _assert_indexed(plans: list[dict[str, Any]], where: str, *, in_order: bool = True) -> None:
    """No sequential scan of the tags or artifacts; with `in_order`, no full sort either."""
    for plan in plans:
        nodes = list(_nodes(plan, subplans=False))
        scans = [n for n in nodes if n.get("Relation Name") in ("repositories_tag", "repositories_artifact")]
        assert scans, where
        assert not [n for n in scans if n["Node Type"] == "Seq Scan"], (where, [(n.get("Relation Name"), n.get("Parent Relationship"), n.get("Subplan Name"), n.get("Filter")) for n in scans])
        # Rows come in index order: no full sort (an incremental sort of equal sizes is fine).
        assert not in_order or not [n for n in nodes if n["Node Type"] == "Sort"], (where, json.dumps(plan)[:3000])


@pytest.fixture
def crowded(world: World) -> Repository:
    repository = Repository.objects.create(project=world.private, name="acme/big")
    _fill(repository, TAGS)
    _fill(Repository.objects.create(project=world.private, name="acme/neighbour"), TAGS)
    with connection.cursor() as cursor:
        _analyze(cursor)
    return repository


def _analyze(cursor: Any) -> None:
    cursor.execute("ANALYZE repositories_tag")
    cursor.execute("ANALYZE repositories_artifact")


def test_every_page_sort_reads_the_tags_through_an_index(world: World, crowded: Repository) -> None:
    client = world.client("guest")
    for sort in TAG_SORTS:
        first = client.get("/projects/acme/repositories/big/", {"sort": sort})
        links = dict(first.context["page_links"])
        assert len(first.context["page"].rows) == 50
        # Size and pulls are the artifact's: PostgreSQL may walk its index and join the tags
        # (the plan at 100,000 tags) or read the repository's tags by index and sort them.
        in_order = sort.lstrip("-") not in ("size", "pulls")
        for where, url in (("first", f"?sort={sort}"), ("last", links["Last"]), ("next", links["Next"])):
            plans = _row_plans(client, "/projects/acme/repositories/big/" + url)
            _assert_indexed(plans, f"{sort} {where}", in_order=in_order)


def test_every_api_ordering_reads_the_tags_through_an_index(world: World, crowded: Repository) -> None:
    client = world.client("guest")
    for ordering in TAG_ORDERINGS:
        url = f"/api/v1/repositories/acme/big/-/tags/?ordering={ordering}"
        body = client.get(url).json()
        assert body["count_exact"] is False and body["count"] > 10_000
        in_order = ordering.lstrip("-") not in ("size", "pull_count")
        _assert_indexed(_row_plans(client, url), f"{ordering} first", in_order=in_order)
        _assert_indexed(_row_plans(client, body["last"]), f"{ordering} last", in_order=in_order)


def test_a_glob_reads_its_prefix_as_an_index_range(world: World, crowded: Repository) -> None:
    client = world.client("guest")
    plans = _row_plans(client, "/projects/acme/repositories/big/?tag=v12*")
    conditions = " ".join(n.get("Index Cond", "") for plan in plans for n in _nodes(plan))
    assert "'v12'" in conditions and "'v13'" in conditions, conditions
