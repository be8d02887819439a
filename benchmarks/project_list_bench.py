"""The project list (page and API) with 1,000 projects, as a system admin and as a member.

Prints the server time of each request (median of --rounds, measured in-process through
Django's test client, so it is the view, the queries and the template, no network), the
number of queries, the list query's own database time, and the ratio of the member's time
to the admin's measured in the same run (the admin's list has no membership filter, so it
is the baseline the member's list is judged against). Ends with the load average.

PostgreSQL only (the question is what its planner does with the member query): it uses its
own database (dropped and created afresh on each run), by default
postgres://postgres@127.0.0.1:5432/wharf_projbench; `--database-url` names another.

    .venv/bin/python benchmarks/project_list_bench.py [--projects 1000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/wharf_projbench"


def load() -> str:
    return "load " + "/".join(f"{value:.1f}" for value in os.getloadavg())


def fresh_database(url: str) -> None:
    """Drop and create the benchmark's own database, so each run migrates from scratch with
    the checkout's migrations (and indexes). Refuses a name without "bench" in it."""
    import psycopg2
    from psycopg2 import sql

    base, _, name = url.rpartition("/")
    if "bench" not in name:
        raise SystemExit(f"{name}: the benchmark drops its database; give one named *bench*.")
    conn = psycopg2.connect(f"{base}/postgres")
    try:
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        conn.close()

def setup_django(url: str, workdir: Path) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("WHARF_VAR_DIR", str(workdir / "var"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # No collectstatic here: plain static URLs, as in the tests.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

    call_command("migrate", verbosity=0, interactive=False)


def fill(projects: int, seed: int) -> tuple[Any, Any]:
    """`projects` projects (a third public), 60 other users with 2-8 members per project, and
    the member under test in every fifth project, in every role. Returns (admin, member)."""
    from django.db import connection

    from accounts.models import User
    from accounts.permissions import Role
    from repositories.models import Membership, Project

    rng = random.Random(seed)
    admin = User.objects.create(username="root", is_superuser=True, is_staff=True)
    member = User.objects.create(username="member")
    others = User.objects.bulk_create(User(username=f"user{i:03}") for i in range(60))
    rows = Project.objects.bulk_create(
        Project(name=f"project-{i:04}", description=f"Project number {i}", is_public=i % 3 == 0)
        for i in range(projects)
    )
    roles = list(Role)
    memberships = []
    for i, project in enumerate(rows):
        for user in rng.sample(others, rng.randint(2, 8)):
            memberships.append(Membership(project=project, user=user, role=rng.choice(roles)))
        if i % 5 == 0:
            memberships.append(Membership(project=project, user=member, role=roles[(i // 5) % len(roles)]))
    Membership.objects.bulk_create(memberships, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return admin, member


def measure(client: Any, path: str, rounds: int) -> tuple[float, int, float]:
    """Median server time (ms), query count, and the median time of the slowest query (ms)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(path)  # warm: session, template loading, connection
    times: list[float] = []
    slowest: list[float] = []
    count = 0
    for _ in range(rounds):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path}: HTTP {response.status_code}")
        count = len(captured.captured_queries)
        slowest.append(max(float(q["time"]) for q in captured.captured_queries) * 1000)
    return statistics.median(times), count, statistics.median(slowest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default=os.environ.get("PROJBENCH_DATABASE_URL", DEFAULT_URL))
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        raise SystemExit("PostgreSQL only: the benchmark is about its planner.")
    fresh_database(args.database_url)
    with tempfile.TemporaryDirectory(prefix="projbench-") as tmp:
        setup_django(args.database_url, Path(tmp))
        from django.test import Client

        admin, member = fill(args.projects, args.seed)
        print(f"{args.projects} projects, {load()}")
        paths = {
            "page": "/projects/",
            "page ?sort=role": "/projects/?sort=role",
            "api": "/api/v1/projects/",
        }
        results: dict[tuple[str, str], float] = {}
        for who, user in (("admin", admin), ("member", member)):
            client = Client(HTTP_HOST="localhost")
            client.force_login(user)
            for label, path in paths.items():
                ms, queries, slowest = measure(client, path, args.rounds)
                results[(who, label)] = ms
                print(
                    f"{who:6} {label:16} {ms:7.1f} ms  {queries:2} queries  "
                    f"slowest query {slowest:6.1f} ms  {load()}"
                )
        for label in paths:
            ratio = results[("member", label)] / results[("admin", label)]
            print(f"member/admin {label:16} {ratio:.2f}x")
        print(load())


if __name__ == "__main__":
    main()
