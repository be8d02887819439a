"""Benchmark retention: the engine, the real path of a preview and a dry run, and real runs
against the real registry compared with the registry doing the same requests.

Run from the repository root (add DATABASE_URL=postgres://.../EMPTY_DB for PostgreSQL)::

    .venv/bin/python benchmarks/retention_bench.py [--parts engine,path,run] [--tmpdir /dev/shm]

Every section prints the load average beside its figures: on a shared 2-core machine a
ratio is only meaningful next to it.

Part 1 (`engine`), the engine alone on 100,000 generated tags (1,000 repositories x 100:
shared digests, multi-arch indexes, cosign signatures, untagged leftovers; four rules).
Prints the best of 5 evaluations.

Part 2 (`path`), the real path: one repository of 100,000 tags and 1,000 repositories of 10
(`--big-tags`, `--small-repos`, `--small-tags`) are written in bulk to the database, a
four-rule policy is saved, and then, `--repeat` times, the preview as the page and the API
run it (policy read from the database, candidates loaded, evaluated; loading and engine
timed apart as well) and a dry run as a worker runs it (`run_now`, writing its items).
Prints medians and the dry run's SQL statements. Goals: preview <= 1 s, dry run <= 2 s.
Then a summary measured in fresh processes on the same rows: the cold preview (the first
in its process), preview + advisor and the dry run; with `--baseline DIR` (another checkout,
e.g. `git archive REV | tar -x -C DIR`) the same figures for that code, measured alternately
with this checkout's (before, after, before, after), each line with the load average.

Part 3 (`run`), real runs against a `docker-registry` started for it (token auth as
deployed, logging at `warn`): four sets of R repositories x T tags are pushed (`runseq/*`,
`runpar/*`, `regseq/*`, `regpar/*`) and synced into Wharf. A policy keeping the K most
recently pushed runs dry and then for real on `runseq` at WHARF_RETENTION_CONCURRENCY=1
and on `runpar` at `--workers`; the registry gets the same requests per item (HEAD of
the tag, DELETE of the digest) on `regseq` one at a time and on `regpar` from `--workers`
threads, half of the items just before the run and half just after (the load drifts),
through the client a run builds (`job_client`: the same auth, tokens and keep-alive pool). Prints deletions/s, registry requests and SQL statements per deletion (counted
on the run's connection) and run / registry at the same concurrency (goal >= 0.8); checks
that each real run deleted exactly what its dry run listed (the T-K oldest of each
repository), that the registry lists exactly the K newest tags, and that the audit chain
verifies. Part 3 runs before part 2 (its sync removes what the registry lacks).

Needs the Debian package `docker-registry` for part 3. DATABASE_URL must name an empty
database (the run syncs); without it a throwaway SQLite file is used.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# `--measure-only` runs with another checkout's code (the `--baseline` comparison): that
# checkout is imported instead of this one, on the same database.
sys.path.insert(0, os.environ.get("WHARF_BENCH_CODE") or str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (
    Filled,
    client_auth,
    fill,
    interrupts_raise,
    quiet_registry_config,
    registry_version,
    setup_django,
    tag_name,
    token_auth,
)
from repositories.retention import (
    Artifact,
    Evaluation,
    ImmutableRule,
    Policy,
    RepositorySelector,
    Rule,
    Tag,
    TagSelector,
    Template,
    evaluate,
)

REPOSITORIES = 1_000
TAGS_PER_REPOSITORY = 100
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _digest(*parts: object) -> str:
    return "sha256:" + hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


def generate(seed: int = 7) -> list[Artifact]:
    """Exactly TAGS_PER_REPOSITORY tags per repository, spread as described above."""
    rng = random.Random(seed)
    artifacts: list[Artifact] = []
    for r in range(REPOSITORIES):
        repo = f"team-{r % 20}/svc-{r}" if r % 3 else f"app-{r}"
        tag_names = [f"release-{r % 7}.{i}" if i % 4 == 0 else f"build-{i}" for i in range(90)]
        tag_names += ["latest", "stable", "dev", "main"]
        budget = TAGS_PER_REPOSITORY
        i = 0

        def when(days: float) -> datetime:
            return NOW - timedelta(days=days)

        while budget > 0:
            digest = _digest(repo, i)
            pushed = when(rng.uniform(0, 400))
            pulled = when(rng.uniform(0, 60)) if rng.random() < 0.4 else None
            if i % 25 == 3 and budget >= 2:
                # Several tags on one digest.
                names = [tag_names.pop(), tag_names.pop()]
            else:
                names = [tag_names.pop()] if tag_names else [f"x-{i}"]
            tags = tuple(Tag(n, pushed_at=pushed, pulled_at=pulled) for n in names)
            artifacts.append(Artifact(repo, digest, pushed, pulled, tags))
            budget -= len(tags)
            if i % 20 == 5:
                # The tagged artifact above is a multi-arch index: add two children.
                for arch in ("amd64", "arm64"):
                    artifacts.append(
                        Artifact(repo, _digest(repo, i, arch), pushed, None, (), parents=(digest,))
                    )
            if i % 10 == 7 and budget >= 1:
                # A cosign signature tag of that image.
                sig = f"sha256-{digest.split(':')[1]}.sig"
                artifacts.append(Artifact(repo, _digest(repo, i, "sig"), pushed, None, (Tag(sig, pushed),)))
                budget -= 1
            if i % 30 == 11:
                artifacts.append(Artifact(repo, _digest(repo, i, "dangling"), when(rng.uniform(0, 90))))
            i += 1
    return artifacts


POLICY = Policy(
    rules=(
        Rule(Template.LATEST_PUSHED_N, 10, tags=TagSelector(include=("release-*",))),
        Rule(
            Template.PUSHED_WITHIN_DAYS,
            30,
            tags=TagSelector(include=("**",), exclude=("x-*",), untagged=True),
        ),
        Rule(Template.LATEST_PULLED_N, 5, RepositorySelector(include=("team-*/**",))),
        Rule(Template.ALWAYS, None, tags=TagSelector(include=("{latest,stable}",))),
    )
)
IMMUTABLE = (ImmutableRule(RepositorySelector(include=("app-*",)), TagSelector(include=("release-1.*",))),)


def evaluation() -> None:
    """Part 1: the engine alone on 100,000 generated tags."""
    artifacts = generate()
    n_tags = sum(len(a.tags) for a in artifacts)
    n_repos = len({a.repository for a in artifacts})
    best = float("inf")
    result: Evaluation | None = None
    for _ in range(5):
        started = time.perf_counter()
        result = evaluate(POLICY, artifacts, now=NOW, immutable_rules=IMMUTABLE)
        best = min(best, time.perf_counter() - started)
    assert result is not None
    deleted = result.deleted
    deleted_tags = sum(1 for t in result.tags if not t.kept)
    print(
        f"retention eval: {n_tags} tags / {n_repos} repos in {best:.2f} s "
        f"({n_tags / best:,.0f} tags/s; best of 5)"
    )
    print(
        f"  {len(artifacts):,} artifacts: {len(artifacts) - len(deleted):,} kept, {len(deleted):,} deleted; "
        f"{n_tags - deleted_tags:,} tags kept, {deleted_tags:,} deleted"
    )


# --- shared measuring helpers -------------------------------------------------------------------


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} cores)"


class StatementCounter:
    """Counts the SQL statements this thread's connection sends (`connection.execute_wrapper`)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        return execute(sql, params, many, context)

    @contextmanager
    def counting(self) -> Iterator[StatementCounter]:
        from django.db import connection

        self.count = 0
        with connection.execute_wrapper(self):
            yield self


def _median(values: list[float]) -> float:
    return statistics.median(values)


# --- part 2: the real path of a preview and a dry run, loaded from the database ------------------

LOAD_PROJECT = "retload"


def _load_rows(big_tags: int, small_repos: int, small_tags: int) -> tuple[Any, int]:
    """One repository of `big_tags` tags and `small_repos` repositories of `small_tags` tags,
    written in bulk (no registry): one image per tag, every 50th image carrying a second tag,
    pushes spread over 400 days, a third of the images pulled. Each image has a manifest, a
    config and three layers (a base shared by all, one of 100 shared middles, its own), stored
    as sync stores them (blob rows too), so the advisor reads realistic storage rows.
    Returns (project, tags)."""
    import json

    from repositories.models import Artifact, ArtifactBlob, Project, PushedAtSource, Repository, Tag
    from repositories.services.usage import blob_rows

    rng = random.Random(11)
    project = Project.objects.create(name=LOAD_PROJECT)
    repos = [Repository(project=project, name=f"{LOAD_PROJECT}/big")]
    repos += [Repository(project=project, name=f"{LOAD_PROJECT}/svc-{r:04d}") for r in range(small_repos)]
    repos = Repository.objects.bulk_create(repos, batch_size=1000)
    now = datetime.now(UTC)
    tag_count = 0
    for repo in repos:
        wanted = big_tags if repo.name.endswith("/big") else small_tags
        artifacts: list[Any] = []
        names: list[list[str]] = []
        i = made_tags = 0
        while made_tags < wanted:
            pushed = now - timedelta(days=rng.uniform(0, 400), seconds=i)
            pulled = now - timedelta(days=rng.uniform(0, 60)) if rng.random() < 0.33 else None
            layers = [
                {"digest": _digest("base", 0), "size": 30_000_000},
                {"digest": _digest("middle", i % 100), "size": 5_000_000},
                {"digest": _digest(f"own-{repo.name}", i), "size": 1_000_000 + i},
            ]
            manifest = json.dumps(
                {"schemaVersion": 2, "config": {"digest": _digest(f"config-{repo.name}", i), "size": 1500},
                 "layers": layers}
            ).encode()
            artifacts.append(
                Artifact(
                    repository=repo,
                    digest=_digest(repo.name, i),
                    manifest=manifest,
                    layers=layers,
                    pushed_at=pushed,
                    last_pull_at=pulled,
                    pushed_at_source=PushedAtSource.PUSH,
                    media_type="application/vnd.oci.image.manifest.v1+json",
                    size=1000 + i,
                )
            )
            own = [f"release-{i // 100}.{i % 100}" if i % 10 == 0 else f"build-{i}"]
            if i % 50 == 7 and made_tags + 2 <= wanted:
                own.append(f"alias-{i}")
            names.append(own)
            made_tags += len(own)
            i += 1
        made = Artifact.objects.bulk_create(artifacts, batch_size=2000)
        ArtifactBlob.objects.bulk_create(
            (
                ArtifactBlob(artifact_id=a.pk, digest=d, size=size, kind=kind)
                for a in made
                for d, size, kind in blob_rows(a.digest, a.manifest, a.layers)
            ),
            batch_size=5000,
        )
        tags = [
            Tag(
                repository=repo,
                artifact=artifact,
                name=name,
                pushed_at=artifact.pushed_at,
                last_pull_at=artifact.last_pull_at,
                pushed_at_source=PushedAtSource.PUSH,
            )
            for artifact, own in zip(made, names, strict=True)
            for name in own
        ]
        Tag.objects.bulk_create(tags, batch_size=2000)
        tag_count += len(tags)
        repo.tag_count, repo.artifact_count = len(tags), len(made)
    Repository.objects.bulk_update(repos, ["tag_count", "artifact_count"], batch_size=1000)
    # Statistics, as autovacuum (PostgreSQL) keeps them on a live database: without them the
    # planner guesses a few hundred rows per table and the figures measure plans no
    # deployment runs.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return project, tag_count


LOAD_POLICY = [
    {"repositories": {"include": ["**"]}, "tags": {"include": ["**"]}, "template": "latest_pushed_n", "n": 1000},
    {"repositories": {"include": ["**"]}, "tags": {"include": ["release-*"]}, "template": "pushed_within_days", "n": 30},
    {"repositories": {"include": ["svc-*"]}, "tags": {"include": ["**"]}, "template": "latest_pulled_n", "n": 3},
    {"repositories": {"include": ["**"]}, "tags": {"include": ["{latest,stable}"]}, "template": "always", "n": None},
]


def _advice_by_parsing(project: Any, evaluation: Any) -> Any:
    """The baseline: the first advisor's way, every artifact's manifest parsed in Python for
    its blobs and the pure advisor summing them (project-scoped, an upper bound)."""
    import json

    from django.utils import timezone

    from repositories.models import Artifact as ArtifactRow
    from repositories.retention.advisor import advise
    from repositories.services.retention import repository_path

    blobs: dict[tuple[str, str], list[tuple[str, int]]] = {}
    rows = ArtifactRow.objects.filter(repository__project=project).values_list(
        "repository__name", "digest", "layers", "manifest"
    )
    for repository, digest, layers, manifest in rows.iterator(chunk_size=2000):
        found = [(digest, len(manifest or b""))]
        found += [(layer["digest"], int(layer.get("size") or 0)) for layer in layers or ()]
        config = json.loads(bytes(manifest)).get("config") if manifest else None
        if config:
            found.append((config["digest"], config["size"]))
        blobs[(repository_path(project, repository), digest)] = found
    return advise(evaluation, blobs, {}, now=timezone.now())


def real_path(args: argparse.Namespace) -> bool:
    """Part 2: preview and dry run of a saved policy on rows loaded from the database."""
    from django.db import connection

    from audit.context import Actor
    from repositories.models import RetentionPolicy, RetentionRun
    from repositories.services import retention as service
    from repositories.services.retention_advisor import advice_for
    from repositories.services.retention_runs import run_now

    started = time.perf_counter()
    project, tags = _load_rows(args.big_tags, args.small_repos, args.small_tags)
    print(
        f"load rows  {tags:,} tags: one repository of {args.big_tags:,} + {args.small_repos:,} of {args.small_tags} "
        f"({connection.vendor}), written in {time.perf_counter() - started:.1f} s"
    )
    service.save_policy(
        project, Actor.system("benchmark"), enabled=True, schedule="", allow_empty_repository=False, rules=LOAD_POLICY
    )
    counter = StatementCounter()
    loads, engines, previews = [], [], []
    evaluation: Any = None
    for _ in range(args.repeat):
        # What the preview page and API do: the saved policy from the database, then `preview`,
        # the collector paused while its objects live (here, until the next round's pause: the
        # collection that then scans the one kept for the advisor below falls outside the timers).
        with service.engine.gc_paused():
            began = time.perf_counter()
            data = service.policy_data(RetentionPolicy.objects.get(project=project))
            evaluation = service.preview(project, data)
            previews.append(time.perf_counter() - began)
            began = time.perf_counter()
            candidates = service.candidates_for(project)
            loads.append(time.perf_counter() - began)
            began = time.perf_counter()
            policy, _ = service.parse_policy(data)
            service.engine.evaluate(
                policy, candidates, now=datetime.now(UTC), immutable_rules=service.immutable_rules_for(project)
            )
            engines.append(time.perf_counter() - began)
            del candidates
    print(
        f"preview    {len(evaluation.artifacts):,} artifacts, {len(evaluation.deleted):,} to delete: "
        f"median {_median(previews):.2f} s of {args.repeat} (loading {_median(loads):.2f} s, engine "
        f"{_median(engines):.2f} s); goal <= 1 s; {load_average()}"
    )
    advices, parsed, advice = [], [], None
    for _ in range(args.repeat):
        began = time.perf_counter()
        advice = advice_for(project, evaluation)
        advices.append(time.perf_counter() - began)
        began = time.perf_counter()
        _advice_by_parsing(project, evaluation)
        parsed.append(time.perf_counter() - began)
    assert advice is not None
    print(
        f"advisor    {advice.deleted_artifacts:,} deleted artifacts, {advice.bytes_freed:,} bytes freed: median "
        f"{_median(advices):.2f} s of {args.repeat} after the preview's {_median(previews):.2f} s, as `advice_for` "
        f"runs it for an evaluation in hand (together {_median(previews) + _median(advices):.2f} s; the page and "
        f"the API begin it during the preview: see the summary's preview + advisor); "
        f"baseline, parsing every manifest as the first advisor did: {_median(parsed):.2f} s "
        f"(ratio {_median(parsed) / _median(advices):.1f}x); {load_average()}"
    )
    dries, statements = [], []
    run: Any = None
    for _ in range(args.repeat):
        with counter.counting():
            began = time.perf_counter()
            run = run_now(project, Actor.system("benchmark"), dry_run=True)
            dries.append(time.perf_counter() - began)
        statements.append(counter.count)
        if run.status != RetentionRun.Status.SUCCEEDED:
            raise SystemExit(f"the dry run ended {run.status}: {run.message}")
    print(
        f"dry run    {run.artifacts_planned:,} items planned: median {_median(dries):.2f} s of {args.repeat} "
        f"({min(statements)} SQL statements); goal <= 2 s; {load_average()}"
    )
    ok = run.artifacts_planned == len(evaluation.deleted)
    figures: list[tuple[str, dict[str, float]]] = []
    for _ in range(args.rounds):
        if args.baseline:
            figures.append(("before", _measure_elsewhere(args.baseline, args.repeat)))
        figures.append(("after" if args.baseline else "summary", _measure_elsewhere("", args.repeat)))
    for label, got in figures:
        print(
            f"{label:<10} cold preview {got['cold']:.2f} s (median {got['preview']:.2f} s), preview + advisor "
            f"{got['advised']:.2f} s, dry run {got['dry']:.2f} s; goals 1 / 1 / 2 s; the page's whole preview "
            f"request (rows and HTML too) {got.get('page', 0):.2f} s, {got.get('page_bytes', 0) / 1e6:.2f} MB; "
            f"load average {got['load1']:.2f} {got['load5']:.2f}"
        )
    return ok


def _measure_elsewhere(code: str, repeat: int) -> dict[str, float]:
    """`measure_path` in a fresh process (so the first preview is cold), on `code`'s checkout
    (this one if empty), same database and settings: that checkout's own script, so its
    figures are measured the way its page and API ran then."""
    import json
    import subprocess

    env = {**os.environ, "WHARF_BENCH_CODE": str(Path(code).resolve()) if code else ""}
    done = subprocess.run(  # noqa: S603  (this interpreter running this script)
        [sys.executable, str(Path(code or Path(__file__).parent.parent).resolve() / "benchmarks" / Path(__file__).name),
         "--measure-only", "--repeat", str(repeat)],
        env=env, cwd=code or None, capture_output=True, text=True, check=False,
    )
    if done.returncode:
        raise SystemExit(f"measuring {code or 'this checkout'} failed:\n{done.stderr[-3000:]}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def measure_path(repeat: int) -> dict[str, float]:
    """Cold preview (the first in this process), median preview, preview + advisor and dry run
    of part 2's saved policy, as the page, the API and a worker run them."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    django.setup()
    for name in ("httpx", "httpcore", "repositories"):
        logging.getLogger(name).setLevel(logging.WARNING)
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    from audit.context import Actor
    from repositories.models import Project, RetentionPolicy
    from repositories.retention import engine
    from repositories.services import retention as service
    from repositories.services.retention_advisor import advice_body, advised_preview
    from repositories.services.retention_runs import run_now
    from repositories.views.retention_policy import preview_rows

    project = Project.objects.get(name=LOAD_PROJECT)
    previews, advised, pages, dries = [], [], [], []
    size = 0
    # As the API and the page run them: the collector paused until the evaluation is gone,
    # the advice's statement on a second connection while the rest goes on.
    for _ in range(repeat):  # the preview alone, as the API without `advice=true` runs it
        with engine.gc_paused():
            began = time.perf_counter()
            evaluation = service.preview(project, service.policy_data(RetentionPolicy.objects.get(project=project)))
            previews.append(time.perf_counter() - began)
            del evaluation
    for _ in range(repeat):  # the API's preview with `advice=true` (less its JSON)
        began = time.perf_counter()
        data = service.policy_data(RetentionPolicy.objects.get(project=project))
        with advised_preview(project, data) as (evaluation, finish):
            del evaluation
            assert finish is not None
            finish()
        advised.append(time.perf_counter() - began)
    for _ in range(repeat):  # the page's preview request: its rows and the fragment's HTML too
        began = time.perf_counter()
        data = service.policy_data(RetentionPolicy.objects.get(project=project))
        with advised_preview(project, data) as (evaluation, finish):
            assert finish is not None
            context = {"project": project, **preview_rows(project, evaluation), "advice": advice_body(finish())}
            del evaluation
        size = len(render_to_string("retention/_preview.html", context, request=RequestFactory().get("/")))
        pages.append(time.perf_counter() - began)
    for _ in range(repeat):
        began = time.perf_counter()
        run_now(project, Actor.system("benchmark"), dry_run=True)
        dries.append(time.perf_counter() - began)
    one, five, _ = os.getloadavg()
    return {
        "cold": previews[0], "preview": _median(previews), "advised": _median(advised), "dry": _median(dries),
        "page": _median(pages), "page_bytes": size,
        "load1": one, "load5": five,
    }


# --- part 3: a real run against the registry ----------------------------------------------------

SEQUENTIAL_RUN = "runseq"  # a real run at concurrency 1
CONCURRENT_RUN = "runpar"  # a real run at --workers
SEQUENTIAL_REGISTRY = "regseq"  # the same requests sent straight to the registry, one at a time
CONCURRENT_REGISTRY = "regpar"  # ... from --workers threads


@dataclass(frozen=True)
class RunFigures:
    run: Any  # RetentionRun
    seconds: float
    requests: int
    statements: int


def _run(project: Any, *, dry_run: bool, concurrency: int, counter: StatementCounter) -> RunFigures:
    """Request, claim and execute a run, timed, with the client a run builds for itself
    (`job_client`, sized to its concurrency; created here only to count its requests)."""
    from django.conf import settings

    from audit.context import Actor
    from repositories.models import RetentionRun
    from repositories.services.registry import job_client
    from repositories.services.retention_runs import claim_run, execute_run, request_run

    settings.WHARF_RETENTION_CONCURRENCY = concurrency
    run, _ = request_run(project, Actor.system("benchmark"), dry_run=dry_run)
    claimed = claim_run(run.pk)
    if claimed is None:
        raise SystemExit(f"run {run.pk} could not be claimed")
    with job_client(concurrency + 1) as client, counter.counting():
        started = time.perf_counter()
        finished = execute_run(claimed, client)
        seconds = time.perf_counter() - started
    if finished.status != RetentionRun.Status.SUCCEEDED:
        raise SystemExit(f"the {'dry' if dry_run else 'real'} run ended {finished.status}: {finished.message}")
    return RunFigures(finished, seconds, client.request_count, counter.count)


def _item_set(run: Any, **filters: Any) -> set[tuple[str, str]]:
    from repositories.models import RetentionRunItem

    return set(RetentionRunItem.objects.filter(run=run, **filters).values_list("repository_name", "digest"))


@dataclass(frozen=True)
class DirectFigures:
    deletes: int
    seconds: float
    requests: int

    @property
    def rate(self) -> float:
        return self.deletes / self.seconds


def _registry_directly(url: str, targets: list[tuple[str, str, str]], workers: int) -> DirectFigures:
    """Per (repository, tag, digest): HEAD the tag, then DELETE the digest -- the requests a run
    sends per deletion -- with the client a run builds (`job_client`: same auth and token
    cache, a pool of `workers` connections), from `workers` threads (one at a time when 1)."""
    from django.conf import settings

    from repositories.services.registry import job_client

    assert url == settings.REGISTRY_URL
    client = job_client(workers)

    def head_and_delete(target: tuple[str, str, str]) -> None:
        repository, tag, digest = target
        if client.head_manifest(repository, tag) != digest:
            raise SystemExit(f"registry HEAD of {repository}:{tag} is not {digest}")
        if not client.delete_manifest(repository, digest):
            raise SystemExit(f"registry DELETE of {repository}@{digest} found nothing")

    try:
        started = time.perf_counter()
        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(head_and_delete, targets))
        else:
            for target in targets:
                head_and_delete(target)
        seconds = time.perf_counter() - started
    finally:
        client.close()
    return DirectFigures(len(targets), seconds, client.request_count)


def _oldest(filled: Filled, count: int) -> list[tuple[str, str, str]]:
    """(repository, tag, digest) of the `count` oldest tags of each repository, in a run's order."""
    return sorted(
        (name, tag_name(i), filled.digests[name][i]) for name in filled.repositories for i in range(count)
    )


def _registry_keeps_newest(url: str, filled: Filled, keep: int, tags: int) -> bool:
    from repositories.registry import RegistryClient

    expected = sorted(tag_name(i) for i in range(tags - keep, tags))
    with RegistryClient(url, auth=client_auth()) as client:
        return all(sorted(client.tags(name)) == expected for name in filled.repositories)


def _yes(value: bool) -> str:
    return "yes" if value else "NO"


def real_run(args: argparse.Namespace, workdir: Path) -> bool:
    """Part 3: real runs at concurrency 1 and --workers, each against the registry doing the
    same requests at the same concurrency."""
    from django.conf import settings

    from audit.context import Actor
    from audit.services import verify_chain
    from repositories.models import Project, RetentionRunItem, SyncRun
    from repositories.services.registry import reset_registry_client
    from repositories.services.retention import save_policy
    from repositories.services.sync import sync_now
    from tests.support.registry import RegistryServer

    began = time.perf_counter()
    server = RegistryServer(workdir / "registry", token_auth=token_auth(args.auth == "token"))
    quiet_registry_config(server.config_path)
    server.start()
    try:
        auth = "token auth, Wharf-minted tokens" if args.auth == "token" else "no auth"
        print(f"registry   Distribution {registry_version()} at {server.url} ({auth})")
        runs = (SEQUENTIAL_RUN, CONCURRENT_RUN)
        direct = (SEQUENTIAL_REGISTRY, CONCURRENT_REGISTRY)
        filled = {ns: fill(server.url, args.repos, args.tags, args.fill_threads, namespace=ns) for ns in runs + direct}
        print(
            f"fill       {len(filled)} sets ({', '.join(f'{ns}/*' for ns in filled)}) x {args.repos} repositories "
            f"x {args.tags} tags in {sum(f.seconds for f in filled.values()):.1f} s"
        )
        settings.REGISTRY_URL = server.url
        reset_registry_client()
        started = time.perf_counter()
        sync = sync_now(trigger=SyncRun.Trigger.SYSTEM)
        if sync.status != SyncRun.Status.SUCCEEDED:
            raise SystemExit(f"the sync failed: {sync.message}")
        print(f"sync       {sync.tags_seen:,} tags loaded into Wharf in {time.perf_counter() - started:.1f} s")

        counter = StatementCounter()
        checks: list[bool] = []
        for namespace, other, workers in ((SEQUENTIAL_RUN, SEQUENTIAL_REGISTRY, 1), (CONCURRENT_RUN, CONCURRENT_REGISTRY, args.workers)):
            project = Project.objects.get(name=namespace)
            save_policy(
                project,
                Actor.system("benchmark"),
                enabled=True,
                schedule="",
                allow_empty_repository=False,
                rules=[{"repositories": {"include": ["**"]}, "tags": {"include": ["**"]},
                        "template": "latest_pushed_n", "n": args.keep}],
            )
            dry = _run(project, dry_run=True, concurrency=workers, counter=counter)
            # Half the registry's items just before the run and half just after: on a shared
            # machine the load drifts, and a replay only before or after would carry the drift.
            targets = _oldest(filled[other], args.tags - args.keep)
            before = _registry_directly(server.url, targets[: len(targets) // 2], workers)
            real = _run(project, dry_run=False, concurrency=workers, counter=counter)
            after = _registry_directly(server.url, targets[len(targets) // 2 :], workers)
            registry = DirectFigures(
                before.deletes + after.deletes, before.seconds + after.seconds, before.requests + after.requests
            )
            deleted = real.run.artifacts_deleted
            run_rate = deleted / real.seconds
            label = "sequential" if workers == 1 else f"{workers} workers"
            print(
                f"real run   {label:<10} {deleted:,} deleted in {real.seconds:.1f} s = {run_rate:,.0f}/s; "
                f"{real.requests / max(deleted, 1):.2f} registry requests and "
                f"{real.statements / max(deleted, 1):.2f} SQL statements per deletion (dry run: {dry.statements})"
            )
            print(
                f"registry   {label:<10} HEAD + DELETE of {registry.deletes:,} items in {registry.seconds:.1f} s = "
                f"{registry.rate:,.0f}/s (half before the run: {before.rate:,.0f}/s, half after: {after.rate:,.0f}/s; "
                f"{registry.requests / registry.deletes:.2f} requests per item)"
            )
            print(f"ratio      {label:<10} run / registry = {run_rate / registry.rate:.2f} (goal >= 0.8); {load_average()}")
            dry_set = _item_set(dry.run, action=RetentionRunItem.Action.DELETE)
            real_set = _item_set(real.run, outcome=RetentionRunItem.Outcome.DELETED)
            expected = {(name, digest) for name, _, digest in _oldest(filled[namespace], args.tags - args.keep)}
            left = _registry_keeps_newest(server.url, filled[namespace], args.keep, args.tags)
            print(
                f"check      dry run == real run: {_yes(dry_set == real_set)}; = the {args.tags - args.keep} oldest "
                f"of each repository: {_yes(real_set == expected)}; the registry lists the {args.keep} newest "
                f"tags of each repository: {_yes(left)}"
            )
            checks.append(dry_set == real_set == expected and left)
        checked, broken = verify_chain()
        print(f"audit      {checked:,} events, chain {'verifies' if broken is None else f'BROKEN at {broken}'}")
        reset_registry_client()
        print(f"part 3     {time.perf_counter() - began:.0f} s")
        return all(checks) and broken is None
    finally:
        server.stop()


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--parts", default="engine,path,run", help="comma-separated: engine (part 1), path (part 2), run (part 3)"
    )
    parser.add_argument("--big-tags", type=int, default=100_000, help="part 2: tags of the one big repository")
    parser.add_argument("--small-repos", type=int, default=1_000, help="part 2: small repositories")
    parser.add_argument("--small-tags", type=int, default=10, help="part 2: tags per small repository")
    parser.add_argument("--repeat", type=int, default=3, help="part 2: repetitions (the median is printed)")
    parser.add_argument("--repos", type=int, default=20, help="part 3: repositories per set (R)")
    parser.add_argument("--tags", type=int, default=50, help="part 3: tags per repository (T)")
    parser.add_argument("--keep", type=int, default=10, help="part 3: the policy keeps the K most recently pushed")
    parser.add_argument("--workers", type=int, default=8, help="part 3: the concurrent run's and registry's threads")
    parser.add_argument("--fill-threads", type=int, default=16, help="part 3: concurrent pushes while filling")
    parser.add_argument(
        "--tmpdir", default=None, help="registry storage and SQLite file (default: the system's; /dev/shm is faster)"
    )
    parser.add_argument(
        "--auth",
        choices=["token", "none"],
        default="token",
        help="token: the registry trusts Wharf's signed tokens, as deployed (default); none: an open registry",
    )
    parser.add_argument(
        "--baseline", default="", help="part 2: another checkout to measure alternately with this one (before/after)"
    )
    parser.add_argument("--rounds", type=int, default=2, help="part 2: summary rounds (before and after each)")
    parser.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    if not args.parts <= {"engine", "path", "run"}:
        parser.error("--parts takes engine, path and run")
    if not 0 < args.keep < args.tags:
        parser.error("--keep must be at least 1 and below --tags, so that the run deletes something")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    if args.measure_only:  # a child of `_measure_elsewhere`: one JSON line
        import json

        print(json.dumps(measure_path(args.repeat)))
        return 0
    print(f"start      {load_average()}")
    if "engine" in args.parts:
        evaluation()
    if not args.parts & {"path", "run"}:
        return 0
    if "run" in args.parts and shutil.which("docker-registry") is None:
        raise SystemExit("docker-registry not found: apt-get install docker-registry (or --parts engine,path)")
    began = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="wharf-retention-bench-", dir=args.tmpdir))
    ok = True
    try:
        with interrupts_raise():
            print(f"database   {setup_django(workdir)}")
            # The run goes first: its sync removes whatever the registry lacks, part 2's rows too.
            if "run" in args.parts:
                ok = real_run(args, workdir) and ok
            if "path" in args.parts:
                ok = real_path(args) and ok
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"total      {time.perf_counter() - began:.0f} s; {load_average()}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
