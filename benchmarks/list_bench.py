"""The long lists at scale: a repository's tags (page and API), the project list, the audit log,
and the other long lists (`other_lists.py`: repositories, artifacts, findings, retention runs and
items, recycle bin, robots, users, webhook deliveries; first and last page of every order).

Fills its own PostgreSQL database (dropped and created afresh on each run, so it migrates the
checkout's indexes) with one repository each of 1k, 10k and 100k tags (bulk SQL, seconds),
1,000 projects with memberships and 1M audit events. Then prints, for every sort and filter
of the tag page and the tags API at the first, middle and last page, the server time (median
of --rounds, in-process through Django's test client: the view, its queries and the template,
no network), the number of queries, the rows the list shows, and the ratio last page / first
page; then the project list as a system admin and as a member, and the audit log. Every line
ends with the load average.

Pages are reached the way a client reaches them: with `?page=N` while the lists paginate by
page number, with the cursors of `portal.keyset` once they do (the middle page's cursor is
built from the row at the middle, outside the timing).

    .venv/bin/python benchmarks/list_bench.py [--sizes 1000,10000,100000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from project_list_bench import fill as fill_projects  # noqa: E402
from project_list_bench import fresh_database, load, setup_django  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/wharf_listbench"
TAG_FILTERS = {"glob v1.*": {"tag": "v1.*"}, "substring 99": {"tag": "99"}, "accessories=only": {"accessories": "only"}}


def fill_tags(project: Any, size: int) -> Any:
    """A repository `<project>/tags-<size>` with `size` tags, each on its own artifact (sizes,
    pulls, push and pull times spread; a third never pulled), one in a hundred of them a
    cosign signature: its tag names the digest of the artifact before it (its subject, which
    has an ordinary tag), as cosign names it, so it nests under that row. (Until 2026-12-07
    each signature tag named its own artifact, an accessory of itself with no ordinary tag:
    all 1,000 were rows of their own and filled the first pages by name and by pulls.)
    One INSERT ... SELECT per table."""
    from django.db import connection

    from repositories.models import Repository

    repository = Repository.objects.create(project=project, name=f"{project.name}/tags-{size}", tag_count=size)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO repositories_artifact (repository_id, digest, media_type, artifact_type, kind, size, os,
                architecture, variant, created, pushed_at, pushed_at_source, last_pull_at, pull_count, annotations,
                labels, config, layers, manifest, subject_digest, error, details_synced, updated_at)
            SELECT %s, 'sha256:' || md5(%s || ':' || i) || md5(i::text), 'application/vnd.oci.image.manifest.v1+json',
                '', 'image', (i * 7919) %% 500000000, 'linux', 'amd64', '', now() - i * interval '1 minute',
                now() - i * interval '1 minute', 'push',
                CASE WHEN i %% 3 = 0 THEN NULL ELSE now() - ((i * 31) %% 100000) * interval '1 second' END,
                (i * 13) %% 1000, '{}', '{}', '{}', '[]', '', '', '', true, now()
            FROM generate_series(1, %s) AS i
            """,
            [repository.pk, repository.name, size],
        )
        cursor.execute(
            """
            INSERT INTO repositories_tag (repository_id, name, artifact_id, pushed_at, pushed_at_source,
                last_pull_at, overwritten_protected_at)
            SELECT a.repository_id,
                CASE WHEN row_number() OVER (ORDER BY a.id) %% 100 = 0
                     THEN 'sha256-' || substr(lag(a.digest) OVER (ORDER BY a.id), 8) || '.sig'
                     ELSE 'v' || (row_number() OVER (ORDER BY a.id) %% 7) || '.' || row_number() OVER (ORDER BY a.id)
                END,
                a.id, a.pushed_at, 'push', a.last_pull_at, NULL
            FROM repositories_artifact a WHERE a.repository_id = %s
            """,
            [repository.pk],
        )
    return repository


def fill_audit(rows: int) -> None:
    """`rows` audit events spread over the projects (hashes are not chained: the log is read,
    not verified, here)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id), count(*) FROM repositories_project")
        low, _high, count = cursor.fetchone()
        cursor.execute(
            """
            INSERT INTO audit_auditevent (created_at, actor_kind, actor_name, actor_ip, action, project_id,
                project_name, target_type, target_name, details, request_id, prev_hash, hash)
            SELECT now() - (%s - i) * interval '1 second', 'user', 'user' || (i %% 60), '127.0.0.1',
                'repository.pull', %s + i %% %s, 'project', 'repository', 'project/app', '{}', '',
                repeat('0', 64), md5(i::text) || md5(i::text)
            FROM generate_series(1, %s) AS i
            """,
            [rows, low, count, rows],
        )
        cursor.execute("ANALYZE")


def measure(client: Any, path: str, rounds: int) -> tuple[float, int, int]:
    """Median server time (ms), query count, and rows shown (API `results`, or table rows)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(path)  # warm
    times: list[float] = []
    count = 0
    response: Any = None
    for _ in range(rounds):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path}: HTTP {response.status_code}")
        count = len(captured.captured_queries)
    if response["Content-Type"].startswith("application/json"):
        rows = len(json.loads(response.content)["results"])
    else:
        rows = response.content.count(b"<tr data-tag=") or response.content.count(b"<tr") - 1
    return statistics.median(times), count, rows


def keyset_positions(kind: str, repository: Any, params: dict[str, str]) -> dict[str, dict[str, str]] | None:
    """The first, middle and last page's query parameters by cursor, or None before cursors."""
    try:
        from repositories import tag_lists
    except ImportError:
        return None
    return tag_lists.benchmark_positions(kind, repository, params)


def page_positions(total: int, per_page: int) -> dict[str, dict[str, str]]:
    pages = max(1, -(-total // per_page))
    return {"first": {}, "middle": {"page": str(max(1, pages // 2))}, "last": {"page": str(pages)}}


def tag_cases(kind: str) -> dict[str, dict[str, str]]:
    """Every sort (and the filters at the default sort) of the page (`kind` page) or API."""
    if kind == "page":
        from repositories.views.repositories import TAG_SORTS

        cases = {f"sort={key}": {"sort": key} for key in TAG_SORTS}
    else:
        fields = ["name", "pushed_at", "last_pull_at"]
        try:
            from repositories.tag_lists import API_ORDERINGS

            fields = list(API_ORDERINGS)
        except ImportError:
            pass
        cases = {f"ordering={p}{f}": {"ordering": f"{p}{f}"} for f in fields for p in ("", "-")}
    filters = {
        label: ({"pattern": v["tag"]} if kind == "api" and "tag" in v else v) for label, v in TAG_FILTERS.items()
    }
    if kind == "api":
        filters = {label: v | ({"accessories": "exclude"} if "accessories" not in v else {}) for label, v in filters.items()}
    return cases | filters


def bench_tags(client: Any, repository: Any, rounds: int, only: re.Pattern[str] | None) -> None:
    from django.http import QueryDict

    from repositories.views.repositories import TAGS_PER_PAGE, tags_page

    page_path = f"/projects/{repository.project.name}/repositories/{repository.short_name}/"
    api_path = f"/api/v1/repositories/{repository.name}/-/tags/"
    for kind, base in (("page", page_path), ("api", api_path)):
        for label, params in tag_cases(kind).items():
            if only is not None and not only.search(f"{kind} {label}"):
                continue
            positions = keyset_positions(kind, repository, params)
            if positions is None:
                if kind == "page":
                    _, page = tags_page(repository, QueryDict(urlencode(params)))
                    total = page.paginator.count
                else:
                    total = json.loads(client.get(base + "?" + urlencode(params)).content)["count"]
                positions = page_positions(total, TAGS_PER_PAGE)
            figures = {}
            for where, extra in positions.items():
                path = base + "?" + urlencode(params | extra)
                figures[where] = measure(client, path, rounds)
            first, last = figures["first"][0], figures["last"][0]
            cells = "  ".join(
                f"{where} {ms:6.1f} ms {queries:2}q {rows:3}r" for where, (ms, queries, rows) in figures.items()
            )
            print(f"{repository.tag_count:>6} {kind:4} {label:28} {cells}  last/first {last / first:4.2f}x  {load()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--audit", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", help="a regex: measure only the tag cases whose 'page|api label' it finds")
    parser.add_argument(
        "--list-rows", type=int, default=100_000, help="rows of each other list (repositories, runs, ...); 0: skip them"
    )
    parser.add_argument("--database-url", default=os.environ.get("LISTBENCH_DATABASE_URL", DEFAULT_URL))
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        raise SystemExit("PostgreSQL only: the benchmark is about its planner at scale.")
    fresh_database(args.database_url)
    with tempfile.TemporaryDirectory(prefix="listbench-") as tmp:
        setup_django(args.database_url, Path(tmp))
        from django.db import connection
        from django.test import Client

        started = time.perf_counter()
        admin, member = fill_projects(args.projects, seed=7)
        from repositories.models import Project

        project = Project.objects.order_by("pk").first()
        assert project is not None
        repositories = [fill_tags(project, int(size)) for size in args.sizes.split(",")]
        fill_audit(args.audit)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(
            f"filled {', '.join(str(r.tag_count) for r in repositories)} tags, {args.projects} projects, "
            f"{args.audit} audit events in {time.perf_counter() - started:.1f} s  {load()}"
        )
        client = Client(HTTP_HOST="localhost")
        client.force_login(admin)
        for repository in repositories:
            bench_tags(client, repository, args.rounds, re.compile(args.only) if args.only else None)
        for who, user in (("admin", admin), ("member", member)):
            other = Client(HTTP_HOST="localhost")
            other.force_login(user)
            for label, path in (("projects page", "/projects/"), ("projects api", "/api/v1/projects/")):
                ms, queries, rows = measure(other, path, args.rounds)
                print(f"{who:6} {label:28} {ms:7.1f} ms {queries:2}q {rows:3}r  {load()}")
        for label, path in (("audit page", "/audit/"), ("audit api", "/api/v1/audit-events/")):
            ms, queries, rows = measure(client, path, args.rounds)
            print(f"admin  {label:28} {ms:7.1f} ms {queries:2}q {rows:3}r  {load()}")
        if args.list_rows:
            import other_lists

            other_lists.run(client, project, repositories[-1], args.list_rows, args.rounds, measure, load)
        print(load())


if __name__ == "__main__":
    main()
