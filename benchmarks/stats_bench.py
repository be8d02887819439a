"""Benchmark the operations pieces of issue 13 that run on Wharf's data alone:

1. `record_daily` (the hourly statistics snapshot) over P projects of R repositories x A
   artifacts (4 blobs each, a base layer shared per project), E push/pull notifications
   today and a scan report per artifact. Goal: <= 50 ms per project.
2. The Statistics page (all three charts and their tables) for 30 and for 365 recorded
   days, median of `--repeat` renders through the test client. Goal: 365 days <= 300 ms,
   and the ratio 365/30 printed (the page grows with the days, not with the data).
3. Marking the recycle bin after a GC (`recycle.collected_by_blobs` + `mark_collected`) over
   N entries whose manifests are parsed from the stored bytes, a tenth of them hit.
   Goal: >= 5,000 entries/s (no registry request at all, against one HEAD per blob before).

    .venv/bin/python benchmarks/stats_bench.py [--projects 100] [--entries 10000]

Add DATABASE_URL=postgres://.../EMPTY_DB for PostgreSQL; without it a throwaway SQLite file
is used. Prints the load average beside the figures (a shared 2-core machine moves them).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import setup_django


def _digest(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def fill(projects: int, repos: int, artifacts: int, events: int) -> None:
    from django.utils import timezone

    from repositories.models import Artifact, ArtifactBlob, Project, RegistryEvent, Repository, ScanReport

    now = timezone.now()
    for p in range(projects):
        project = Project.objects.create(name=f"p{p:04d}")
        base = _digest(f"base{p}")
        for r in range(repos):
            repository = Repository.objects.create(project=project, name=f"{project.name}/r{r}")
            rows = Artifact.objects.bulk_create(
                [
                    Artifact(repository=repository, digest=_digest(f"{p}/{r}/{a}"), size=4000)
                    for a in range(artifacts)
                ]
            )
            blobs = []
            for artifact in rows:
                blobs += [
                    ArtifactBlob(artifact=artifact, digest=artifact.digest, size=500, kind="manifest"),
                    ArtifactBlob(
                        artifact=artifact, digest=_digest(artifact.digest + "c"), size=500, kind="config"
                    ),
                    ArtifactBlob(artifact=artifact, digest=base, size=2000, kind="layer"),
                    ArtifactBlob(
                        artifact=artifact, digest=_digest(artifact.digest + "l"), size=1000, kind="layer"
                    ),
                ]
            ArtifactBlob.objects.bulk_create(blobs)
            ScanReport.objects.bulk_create(
                [
                    ScanReport(
                        artifact=a, status="succeeded", counts={"critical": 1, "high": 2}, finished_at=now
                    )
                    for a in rows
                ]
            )
    RegistryEvent.objects.bulk_create(
        [
            RegistryEvent(
                event_id=f"e{i}",
                action="push" if i % 3 else "pull",
                repository=f"p{i % projects:04d}/r0",
                received_at=now,
            )
            for i in range(events)
        ],
        batch_size=5000,
    )


def bench_snapshot(projects: int) -> None:
    from repositories.services import stats

    started = time.perf_counter()
    written = stats.record_daily()
    elapsed = time.perf_counter() - started
    per = elapsed / max(written, 1) * 1000
    print(
        f"record_daily: {written} projects in {elapsed:.2f} s = {per:.1f} ms/project (goal <= 50)  load {_load()}"
    )


def bench_page(repeat: int) -> None:
    from django.conf import settings
    from django.test import Client
    from django.utils import timezone

    from accounts.models import User
    from repositories.models import Project, ProjectDailyStats

    project = Project.objects.order_by("pk").first()
    assert project is not None
    today = timezone.localdate()
    ProjectDailyStats.objects.filter(project=project).delete()
    ProjectDailyStats.objects.bulk_create(
        [
            ProjectDailyStats(
                project=project,
                day=today - timedelta(days=i),
                logical_bytes=10**9 - i,
                unique_bytes=10**8 - i,
                pushes=i % 9,
                pulls=i % 13,
                findings={"critical": i % 3, "high": 4, "medium": 5, "low": 1},
            )
            for i in range(365)
        ]
    )
    # No collectstatic here: plain static URLs, as the tests use.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    admin = User.objects.create_superuser("benchadmin", "b@example.com", "x")
    client = Client(HTTP_HOST="localhost")
    client.force_login(admin)
    medians = {}
    for days in (30, 365):
        url = f"/projects/{project.name}/statistics/?days={days}"
        assert client.get(url).status_code == 200  # warm templates
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        medians[days] = statistics.median(times)
        print(f"statistics page, {days:3d} days: median {medians[days]:.0f} ms of {repeat}  load {_load()}")
    print(f"  365/30 days: x{medians[365] / medians[30]:.2f} (goal: 365 days <= 300 ms)")


def bench_recycle(entries: int) -> None:
    from repositories.models import Project, RecycleBinEntry
    from repositories.services import recycle

    project = Project.objects.order_by("pk").first()
    assert project is not None
    rows = []
    removed: set[str] = set()
    for i in range(entries):
        layers = [_digest(f"rl{i}/{k}") for k in range(3)]
        config = _digest(f"rc{i}")
        body = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": config,
                    "size": 10,
                },
                "layers": [
                    {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": 100}
                    for d in layers
                ],
            }
        ).encode()
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        rows.append(
            RecycleBinEntry(
                project=project,
                repository_name=f"{project.name}/r0",
                digest=digest,
                media_type="application/vnd.oci.image.manifest.v1+json",
                manifest=body,
                source="manual",
            )
        )
        if i % 10 == 0:
            removed.add(layers[1])
    RecycleBinEntry.objects.bulk_create(rows, batch_size=2000)
    started = time.perf_counter()
    hit = recycle.collected_by_blobs(removed)
    marked = recycle.mark_collected(hit)
    elapsed = time.perf_counter() - started
    print(
        f"recycle bin after GC: {entries} entries read, {marked} marked in {elapsed:.2f} s = "
        f"{entries / elapsed:,.0f} entries/s (goal >= 5,000)  load {_load()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=100)
    parser.add_argument("--repos", type=int, default=5)
    parser.add_argument("--artifacts", type=int, default=20)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        label = setup_django(Path(workdir))
        print(f"database: {label}")
        started = time.perf_counter()
        fill(args.projects, args.repos, args.artifacts, args.events)
        print(
            f"filled {args.projects} projects x {args.repos} repositories x {args.artifacts} artifacts, "
            f"{args.events} events in {time.perf_counter() - started:.1f} s"
        )
        bench_snapshot(args.projects)
        bench_page(args.repeat)
        bench_recycle(args.entries)


if __name__ == "__main__":
    main()
