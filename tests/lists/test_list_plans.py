"""On PostgreSQL every converted list reads its page through an index in every order it
offers (API orders; the page's sorts are the same keys), at the first, the next and the
last page: no sequential scan of the list's table and no sort of it, with a neighbour as
large beside it, so a scan of the whole table would show. The findings' orders and the
project list's member count and role are computed per row and are not here (a report's
findings and a user's projects are read through their own indexes and sorted).

Also the substring searches: a repository name or description and a tag name are looked
up through the pg_trgm indexes (`portal.search`), not by reading every row.

The statistics are read again right before each EXPLAIN (`ANALYZE`): an autovacuum
ANALYZE since the fill could have seen this test's uncommitted rows as absent."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import RobotAccount, User
from repositories.api.registry_filters import ARTIFACT_API_ORDERINGS, REPOSITORY_API_ORDERINGS
from repositories.models import (
    Artifact,
    Project,
    RecycleBinEntry,
    Repository,
    RetentionRun,
    RetentionRunItem,
    Tag,
)
from tests.conftest import World
from webhooks.models import Delivery, Webhook

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="EXPLAIN output is vendor-specific: this checks PostgreSQL's planner",
)

ROWS = 20_000
SEARCHED = 100_000  # where a search through the index beats reading the rows in name order
NOW = timezone.now()


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        if child.get("Parent Relationship") not in ("SubPlan", "InitPlan"):
            yield from _nodes(child)


def _explain(sql: str, tables: tuple[str, ...]) -> dict[str, Any]:
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {table}")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
        row = cursor.fetchone()[0]
    return (row if isinstance(row, list) else json.loads(row))[0]["Plan"]


def _row_queries(client: Any, url: str, table: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.content[:300])
    found = [
        q["sql"]
        for q in captured.captured_queries
        if f'FROM "{table}"' in q["sql"]
        and "ORDER BY" in q["sql"]
        and not q["sql"].startswith("SELECT COUNT(")  # the bounded count
        and not re.search(r'_id" IN \(\d', q["sql"])  # a prefetch of the page's related rows
    ]
    assert found, url
    return found


def _assert_indexed(client: Any, url: str, table: str, tables: tuple[str, ...]) -> None:
    for sql in _row_queries(client, url, table):
        plan = _explain(sql, tables)
        nodes = list(_nodes(plan))
        scans = [n for n in nodes if n.get("Relation Name") == table]
        assert scans and not [n for n in scans if n["Node Type"] == "Seq Scan"], (
            url,
            json.dumps(plan)[:2000],
        )
        assert not [n for n in nodes if n["Node Type"] == "Sort"], (url, json.dumps(plan)[:2000])


def _walk(client: Any, url: str, table: str, tables: tuple[str, ...]) -> None:
    """The first, the next and the last page of the API list at `url` read through an index."""
    body = client.get(url).json()
    assert body["next"] and body["last"], url
    for where in (url, body["next"], body["last"]):
        _assert_indexed(client, where, table, tables)


def _bulk(model: Any, rows: Callable[[int], Any], count: int = ROWS) -> None:
    model.objects.bulk_create((rows(i) for i in range(count)), batch_size=5000)


def test_repository_list_orders_use_an_index(world: World, api: Any) -> None:
    neighbour = Project.objects.create(name="neighbour")
    for project in (world.private, neighbour):
        _bulk(
            Repository,
            lambda i, p=project: Repository(
                project=p,
                name=f"{p.name}/r{i:05d}",
                size=i % 700,
                pull_count=i % 300,
                tag_count=i % 50,
                last_push_at=None if i % 4 == 0 else NOW - timedelta(minutes=i % 900),
            ),
        )
    client = api("guest")
    for ordering in REPOSITORY_API_ORDERINGS:
        _walk(
            client,
            f"/api/v1/projects/acme/repositories/?ordering={ordering}",
            "repositories_repository",
            ("repositories_repository",),
        )


def test_artifact_list_orders_use_an_index(world: World, api: Any) -> None:
    repositories = [
        Repository.objects.create(project=world.private, name=f"acme/{n}") for n in ("big", "other")
    ]
    for repository in repositories:
        _bulk(
            Artifact,
            lambda i, r=repository: Artifact(
                repository=r,
                digest=f"sha256:{r.pk:08d}{i:056d}",
                size=i % 700,
                pull_count=i % 300,
                pushed_at=NOW - timedelta(minutes=i % 900),
                last_pull_at=None if i % 3 == 0 else NOW - timedelta(minutes=i % 500),
            ),
        )
    client = api("guest")
    for ordering in ARTIFACT_API_ORDERINGS:
        _walk(
            client,
            f"/api/v1/repositories/acme/big/-/artifacts/?ordering={ordering}",
            "repositories_artifact",
            ("repositories_artifact",),
        )


def test_project_and_user_lists_use_an_index(world: World, api: Any) -> None:
    _bulk(Project, lambda i: Project(name=f"p{i:05d}", created_at=NOW - timedelta(minutes=i % 900)))
    _bulk(User, lambda i: User(username=f"u{i:05d}"))
    client = api("sysadmin")
    for ordering in ("name", "-name", "created_at", "-created_at"):
        _walk(
            client,
            f"/api/v1/projects/?ordering={ordering}",
            "repositories_project",
            ("repositories_project",),
        )
    _walk(client, "/api/v1/users/", "accounts_user", ("accounts_user",))


def test_retention_lists_use_an_index(world: World, api: Any) -> None:
    neighbour = Project.objects.create(name="neighbour")
    runs = []
    for project in (world.private, neighbour):
        _bulk(
            RetentionRun,
            lambda i, p=project: RetentionRun(
                project=p, status="succeeded", policy={}, created_at=NOW - timedelta(minutes=i % 900)
            ),
        )
        runs.append(RetentionRun.objects.filter(project=project).first())
        _bulk(
            RecycleBinEntry,
            lambda i, p=project: RecycleBinEntry(
                project=p,
                repository_name=f"{p.name}/app",
                digest=f"sha256:{i:064d}",
                media_type="x",
                manifest=b"{}",
                source="manual",
                deleted_at=NOW - timedelta(minutes=i % 900),
            ),
        )
    for run in runs:
        _bulk(
            RetentionRunItem,
            lambda i, r=run: RetentionRunItem(
                run=r,
                repository_name="acme/app",
                digest=f"sha256:{i:064d}",
                action="delete",
                outcome="deleted",
            ),
        )
    client = api("guest")
    tables = ("repositories_retentionrun", "repositories_retentionrunitem", "repositories_recyclebinentry")
    _walk(client, "/api/v1/projects/acme/retention-runs/", "repositories_retentionrun", tables)
    _walk(
        client,
        f"/api/v1/projects/acme/retention-runs/{runs[0].pk}/items/",
        "repositories_retentionrunitem",
        tables,
    )
    _walk(
        client,
        f"/api/v1/projects/acme/retention-runs/{runs[0].pk}/items/?outcome=deleted",
        "repositories_retentionrunitem",
        tables,
    )
    _walk(client, "/api/v1/projects/acme/recycle-bin/", "repositories_recyclebinentry", tables)


def test_robot_and_delivery_lists_use_an_index(world: World, api: Any) -> None:
    neighbour = Project.objects.create(name="neighbour")
    hooks = []
    for project in (world.private, neighbour):
        _bulk(
            RobotAccount,
            lambda i, p=project: RobotAccount(
                project=p, name=f"bot{i:05d}", secret_hash=f"{p.pk:08d}{i:056d}"
            ),
        )
        hook = Webhook.objects.create(project=project, name="hook", url="https://example.invalid/")
        _bulk(Delivery, lambda i, h=hook: Delivery(webhook=h, event="PUSH_ARTIFACT", payload={}))
        hooks.append(hook)
    client = api("padmin")
    _walk(client, "/api/v1/projects/acme/robots/", "accounts_robotaccount", ("accounts_robotaccount",))
    _walk(
        client,
        f"/api/v1/projects/acme/webhooks/{hooks[0].pk}/deliveries/",
        "webhooks_delivery",
        ("webhooks_delivery",),
    )


def _trigram_scans(client: Any, url: str, table: str, index: str) -> None:
    for sql in _row_queries(client, url, table):
        plan = _explain(sql, (table,))
        used = {n.get("Index Name") for n in _nodes(plan)}
        assert index in used, (url, json.dumps(plan)[:2000])


def _hex(i: int) -> str:
    return hashlib.md5(str(i).encode()).hexdigest()[:12]


def test_substring_searches_use_the_trigram_indexes(world: World, api: Any) -> None:
    """Names whose trigrams are mostly rare, as real names' are: the index is the cheap way."""
    _bulk(
        Repository,
        lambda i: Repository(project=world.private, name=f"acme/svc-{_hex(i)}", description=f"team {i % 97}"),
        SEARCHED,
    )
    big = Repository.objects.get(name=f"acme/svc-{_hex(1)}")
    artifact = Artifact.objects.create(repository=big, digest="sha256:" + "a" * 64)
    _bulk(Tag, lambda i: Tag(repository=big, artifact=artifact, name=f"build-{_hex(i)}"), SEARCHED)
    client = api("guest")
    wanted = _hex(12345)[2:9]
    table, index = "repositories_repository", "repo_name_trgm"
    _trigram_scans(client, f"/api/v1/projects/acme/repositories/?q={wanted}", table, index)
    # The page's search also reads descriptions (name OR description): PostgreSQL weighs the
    # two trigram scans against one pass over 100,000 rows and may take either; the name
    # search of the API and the tag filter are the ones that must stay flat.
    page = world.client("guest")
    _trigram_scans(
        page, f"/projects/acme/repositories/svc-{_hex(1)}/?tag={wanted}", "repositories_tag", "tag_name_trgm"
    )
