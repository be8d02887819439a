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
        # Size and pulls are the artifact's: PostgreSQL walks its index and joins the tags,
        # which come in order but for an incremental sort of each size's few tags by name. It
        # does not read all the repository's tags and sort them (`tag_lists.ordered_tags`).
        for where, url in (("first", f"?sort={sort}"), ("last", links["Last"]), ("next", links["Next"])):
            plans = _row_plans(client, "/projects/acme/repositories/big/" + url)
            _assert_indexed(plans, f"{sort} {where}")


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


def _with_signatures(repository: Repository, every: int) -> int:
    """Turn every `every`-th tag of `repository` into a cosign signature of its own artifact
    (`sha256-<hex>.sig`), and give as many other artifacts an OCI `subject`; returns how many
    accessory tags there are."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE repositories_tag t SET name = 'sha256-' || substr(a.digest, 8) || '.sig'
            FROM repositories_artifact a
            WHERE a.id = t.artifact_id AND t.repository_id = %s AND t.id %% %s = 0
            """,
            [repository.pk, every],
        )
        signatures = cursor.rowcount
        cursor.execute(
            """
            UPDATE repositories_artifact SET subject_digest = digest
            WHERE repository_id = %s AND id %% %s = 1
            """,
            [repository.pk, every],
        )
        return signatures + cursor.rowcount


def _analysed(client: Client, url: str, wanted: str) -> list[dict[str, Any]]:
    """EXPLAIN ANALYZE of the queries of `url` whose SQL contains `wanted`."""
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200, url
    queries = [q["sql"] for q in captured.captured_queries if wanted in q["sql"] and not q["sql"].startswith("EXPLAIN")]
    assert queries, (url, wanted)
    plans = []
    with connection.cursor() as cursor:
        _analyze(cursor)
        for sql in queries:
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
            row = cursor.fetchone()[0]
            plans.append((row if isinstance(row, list) else json.loads(row))[0]["Plan"])
    return plans


def _rows_read(plans: list[dict[str, Any]], table: str) -> int:
    """How many rows the scans of `table` in `plans` read (returned or filtered out), in all."""
    return sum(
        (int(n.get("Actual Rows", 0)) + int(n.get("Rows Removed by Filter", 0))) * int(n.get("Actual Loops", 1))
        for plan in plans
        for n in _nodes(plan)
        if n.get("Relation Name") == table
    )


def test_accessory_tags_alone_are_read_through_indexes_at_any_page(world: World, crowded: Repository) -> None:
    """`accessories=only` reads the accessory tags (reference names as a (repository, name)
    range, artifacts with a subject by the (repository, subject) index) rather than walking
    every tag in the page's order and joining each to its artifact: its page and its count
    read about as many tag rows as there are accessories, on the first and the last page."""
    accessories = _with_signatures(crowded, 97)
    client = world.client("guest")
    first = client.get("/projects/acme/repositories/big/", {"sort": "-pushed", "accessories": "only"})
    assert first.context["total"].count == accessories
    last = dict(first.context["page_links"])["Last"]
    for url in ("?sort=-pushed&accessories=only", last, "?sort=name&accessories=only"):
        page = "/projects/acme/repositories/big/" + url
        for wanted in ("ORDER BY", "COUNT("):
            plans = _analysed(client, page, wanted)
            read = _rows_read(plans, "repositories_tag")
            assert read <= 3 * accessories, (url, wanted, read, accessories)
            artifacts = [n for p in plans for n in _nodes(p) if n.get("Relation Name") == "repositories_artifact"]
            assert not [n for n in artifacts if n["Node Type"] == "Seq Scan"], (url, wanted)


def test_api_counts_a_filtered_list_without_joining_every_tag_to_its_artifact(world: World, crowded: Repository) -> None:
    """The API's `exclude` (and `include`) total is counted as the page's is: the matching tags
    less the nested accessories, without reading each matching tag's artifact."""
    _with_signatures(crowded, 97)
    client = world.client("guest")
    for query in ("pattern=99&accessories=exclude", "pattern=99&accessories=include", "accessories=include"):
        plans = _analysed(client, f"/api/v1/repositories/acme/big/-/tags/?{query}", "COUNT(")
        read = _rows_read(plans, "repositories_artifact")
        assert read <= 500, (query, read)


def test_connections_leave_statements_uncompiled_by_the_jit(world: World, crowded: Repository) -> None:
    """A filtered page's keyset query over 100k tags costs above `jit_above_cost` on paper
    while it reads 50 rows; compiling it took 25 of its 28 ms. Wharf's connections turn the
    JIT off (portal/settings.py), so even a zero threshold compiles nothing."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
        cursor.execute("SET jit_above_cost = 0")
        try:
            cursor.execute(
                "EXPLAIN (ANALYZE, FORMAT JSON) SELECT count(*) FROM repositories_tag WHERE repository_id = %s AND name LIKE %s",
                [crowded.pk, "%99%"],
            )
            plan = cursor.fetchone()[0]
        finally:
            cursor.execute("RESET jit_above_cost")
    plan = json.loads(plan) if isinstance(plan, str) else plan
    assert "JIT" not in plan[0]
