"""`list_bench.py`'s other long lists: fill each at scale with one INSERT ... SELECT per table
and time the first and the last page of every order, page and API (server time, median of
`rounds`; the last page by the `last` cursor a client follows), with the ratio last / first.

The lists: a project's repositories, a repository's artifacts, a report's findings, retention
runs, one run's items, the recycle bin, a project's robots, users and a webhook's deliveries;
each beside a neighbour as large where it is scoped (another project, run, webhook), so a
plan that reads the whole table shows in the figures."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.db import connection, models


def _literal(field: models.Field[Any, Any]) -> str:
    """SQL for a NOT NULL column the fill does not choose: the field's default."""
    if isinstance(field, models.JSONField):
        return "'[]'" if field.default is list else "'{}'"
    if isinstance(field, models.BooleanField):
        return "true" if field.default is True else "false"
    if isinstance(field, models.DateTimeField):
        return "now()"
    if isinstance(field, models.BinaryField):
        return "''::bytea"
    if isinstance(
        field, (models.IntegerField, models.BigIntegerField, models.FloatField, models.PositiveIntegerField)
    ):
        return str(field.default if isinstance(field.default, (int, float)) else 0)
    if isinstance(field, models.UUIDField):
        return "gen_random_uuid()"
    default = field.default if isinstance(field.default, str) else ""
    return "'" + default.replace("'", "''") + "'"


def bulk(
    model: type[models.Model], count: int, columns: dict[str, str], params: list[Any] | None = None
) -> None:
    """`count` rows of `model`, `i` running from 1: `columns` gives SQL (over `i`) for some
    columns, NULL or the default fills the others."""
    names, values = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        name = field.column
        if field.name in columns or name in columns:
            expression = columns.get(field.name, columns.get(name, ""))
        elif field.null:
            continue
        else:
            expression = _literal(field)
        names.append(f'"{name}"')
        values.append(expression.replace("%", "%%"))  # the expressions' modulo, not parameters
    table = model._meta.db_table
    # The benchmark's own SQL over its own model metadata: nothing here comes from outside.
    sql = f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(values)} FROM generate_series(1, %s) AS i"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*(params or []), count])


def fill(project: Any, neighbour: Any, artifact_repository: Any, rows: int) -> dict[str, Any]:
    """Every list at `rows` rows (and its neighbour); returns the ids the URLs need."""
    from accounts.models import RobotAccount, User
    from repositories.models import (
        Artifact,
        Finding,
        RecycleBinEntry,
        Repository,
        RetentionRun,
        RetentionRunItem,
        ScanReport,
    )
    from webhooks.models import Delivery, Webhook

    ids: dict[str, Any] = {}
    for owner in (project, neighbour):
        bulk(
            Repository,
            rows,
            {
                "project": str(owner.pk),
                "name": f"'{owner.name}/r' || lpad(i::text, 7, '0')",
                "size": "(i * 7919) % 100000",
                "pull_count": "(i * 13) % 1000",
                "tag_count": "i % 500",
                "last_push_at": "CASE WHEN i % 4 = 0 THEN NULL ELSE now() - i * interval '1 minute' END",
            },
        )
        bulk(
            RetentionRun,
            rows,
            {
                "project": str(owner.pk),
                "status": "'succeeded'",
                "created_at": "now() - i * interval '1 minute'",
            },
        )
        bulk(
            RecycleBinEntry,
            rows,
            {
                "project": str(owner.pk),
                "repository_name": f"'{owner.name}/app'",
                "digest": "'sha256:' || md5(i::text) || md5(i::text)",
                "source": "'manual'",
                "deleted_at": "now() - i * interval '1 minute'",
                "expires_at": "now() + interval '30 days'",
            },
        )
        bulk(
            RobotAccount,
            rows,
            {
                "project": str(owner.pk),
                "name": "'bot' || i",
                "secret_hash": f"md5('{owner.pk}:' || i) || md5(i::text)",
            },
        )
        hook = Webhook.objects.create(project=owner, name="bench", url="https://example.invalid/hook")
        bulk(Delivery, rows, {"webhook": str(hook.pk), "event": "'PUSH_ARTIFACT'", "status": "'succeeded'"})
        run = RetentionRun.objects.filter(project=owner).order_by("pk").first()
        assert run is not None
        bulk(
            RetentionRunItem,
            rows,
            {
                "run": str(run.pk),
                "repository_name": f"'{owner.name}/app'",
                "digest": "'sha256:' || md5(i::text) || md5(i::text)",
                "action": "'delete'",
                "outcome": "CASE WHEN i % 10 = 0 THEN 'failed' ELSE 'deleted' END",
            },
        )
        if owner == project:
            ids["webhook"], ids["run"] = hook.pk, run.pk
    bulk(
        User,
        rows,
        {"username": "'bench' || lpad(i::text, 7, '0')", "password": "'!'", "date_joined": "now()"},
    )
    artifact = Artifact.objects.filter(repository=artifact_repository).order_by("pk").first()
    assert artifact is not None
    report = ScanReport.objects.create(artifact=artifact, status=ScanReport.Status.SUCCEEDED)
    findings = min(rows, 20_000)  # a report of 20,000 findings is already far beyond real images
    bulk(
        Finding,
        findings,
        {
            "report": str(report.pk),
            "vulnerability_id": "'CVE-2027-' || lpad((i % 9000)::text, 4, '0')",
            "package": "'pkg' || (i % 300)",
            "severity": "(ARRAY['critical','high','medium','low','unknown'])[1 + i % 5]",
            "cvss_score": "CASE WHEN i % 4 = 0 THEN NULL ELSE (i % 100) / 10.0 END",
        },
    )
    ids.update(digest=artifact.digest, report=report.pk)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return ids


def cases(
    project: Any, artifact_repository: Any, ids: dict[str, Any]
) -> list[tuple[str, str, list[dict[str, str]]]]:
    """(label, path, the query parameters of each order) of every page and API list."""
    from repositories.api.registry_filters import ARTIFACT_API_ORDERINGS, REPOSITORY_API_ORDERINGS
    from repositories.api.scanning_filters import ORDERINGS as FINDING_ORDERINGS
    from repositories.views.repositories import REPOSITORY_SORTS
    from repositories.views.scans import SORTS as FINDING_SORTS

    p, short = project.name, artifact_repository.short_name
    artifact = f"/api/v1/repositories/{artifact_repository.name}/-/artifacts/"
    findings_api = f"{artifact}{ids['digest']}/scans/{ids['report']}/findings/"
    findings_page = f"/projects/{p}/repositories/{short}/-/artifacts/{ids['digest']}/vulnerabilities/"
    one: list[dict[str, str]] = [{}]
    return [
        ("repositories page", f"/projects/{p}/repositories/", [{"sort": s} for s in REPOSITORY_SORTS]),
        (
            "repositories api",
            f"/api/v1/projects/{p}/repositories/",
            [{"ordering": o} for o in REPOSITORY_API_ORDERINGS],
        ),
        ("repositories search", f"/api/v1/projects/{p}/repositories/", [{"q": "r00123"}]),
        ("artifacts api", artifact, [{"ordering": o} for o in ARTIFACT_API_ORDERINGS]),
        ("findings page", findings_page, [{"sort": s} for s in FINDING_SORTS]),
        ("findings api", findings_api, [{"ordering": o} for o in FINDING_ORDERINGS]),
        ("retention runs page", f"/projects/{p}/retention/runs/", one),
        ("retention runs api", f"/api/v1/projects/{p}/retention-runs/", one),
        ("run items page", f"/projects/{p}/retention/runs/{ids['run']}/", [{}, {"outcome": "failed"}]),
        (
            "run items api",
            f"/api/v1/projects/{p}/retention-runs/{ids['run']}/items/",
            [{}, {"outcome": "failed"}],
        ),
        ("recycle bin page", f"/projects/{p}/retention/deleted/", one),
        ("recycle bin api", f"/api/v1/projects/{p}/recycle-bin/", one),
        ("robots page", f"/projects/{p}/robots/", one),
        ("robots api", f"/api/v1/projects/{p}/robots/", one),
        ("users page", "/users/", one),
        ("users api", "/api/v1/users/", one),
        ("deliveries page", f"/projects/{p}/webhooks/{ids['webhook']}/", one),
        ("deliveries api", f"/api/v1/projects/{p}/webhooks/{ids['webhook']}/deliveries/", one),
    ]


def last_cursor(client: Any, path: str, params: dict[str, str]) -> dict[str, str]:
    """The parameters of the last page, from the first page's Last link (outside the timing)."""
    response = client.get(path + "?" + urlencode(params))
    if response["Content-Type"].startswith("application/json"):
        last = json.loads(response.content)["last"]
        return params | ({"cursor": last.split("cursor=")[1].split("&")[0]} if last else {})
    found = re.search(rb'data-page="last" href="[^"]*cursor=([^"&]+)', response.content)
    return params | ({"cursor": found.group(1).decode()} if found else {})


def run(
    client: Any,
    project: Any,
    artifact_repository: Any,
    rows: int,
    rounds: int,
    measure: Callable[[Any, str, int], tuple[float, int, int]],
    load: Callable[[], str],
) -> None:
    from django.db.models import Q  # noqa: F401  (Django is set up by now)

    from repositories.models import Project

    started = time.perf_counter()
    neighbour = Project.objects.create(name=f"{project.name}-neighbour")
    ids = fill(project, neighbour, artifact_repository, rows)
    print(
        f"filled the other lists with {rows} rows each (and a neighbour) in {time.perf_counter() - started:.1f} s  {load()}"
    )
    for label, path, orders in cases(project, artifact_repository, ids):
        for params in orders:
            first = measure(client, path + "?" + urlencode(params), rounds)
            last = measure(client, path + "?" + urlencode(last_cursor(client, path, params)), rounds)
            what = f"{label} {urlencode(params)}".strip()
            print(
                f"{rows:>7} {what:44} first {first[0]:6.1f} ms {first[1]:2}q {first[2]:3}r  "
                f"last {last[0]:6.1f} ms {last[1]:2}q {last[2]:3}r  last/first {last[0] / first[0]:4.2f}x  {load()}"
            )
