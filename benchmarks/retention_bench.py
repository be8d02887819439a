"""Benchmark retention: the engine on 100,000 tags, then a real run against the real registry.

Run from the repository root::

    .venv/bin/python benchmarks/retention_bench.py [--repos 20 --tags 50 --keep 10] [--no-real-run]

Part 1, the engine alone: 1,000 repositories x 100 tags = 100,000 tags, generated with a
fixed seed: in every repository about 70 single-tag images, some images carrying several
tags (shared digests), a few multi-arch indexes with their untagged platform children,
cosign signatures (`sha256-<hex>.sig`) of some images and a few untagged leftovers. The
policy has four rules, like a realistic project's. Prints the best of 5 evaluations
(time.perf_counter), with deletions and tag rate. Its first line is the headline figure.

Part 2, a real run (skip it with `--no-real-run`), in one process:

1. starts its own `docker-registry` (as `sync_bench.py` does: temporary storage, logging at
   `warn`, trusting Wharf's self-minted tokens unless `--auth none`) on a throwaway SQLite
   database (or DATABASE_URL, which must hold no repository);
2. fills three sets of R repositories x T tags, each tag a distinct small image whose
   creation time orders the tags: `retbench/*` for the run, `delseq/*` and `delpar/*` for
   the registry's own DELETE throughput; loads them into Wharf with `sync_now()`;
3. saves a policy on project `retbench` keeping the K most recently pushed artifacts of each
   repository, runs it dry, then for real (`execute_run`, timed: evaluation, re-checking
   each tag, a recycle-bin entry, the DELETE by digest, Wharf's rows and audit events),
   and prints deletions/s and registry requests per deletion (the client's `request_count`);
4. DELETEs the same positions (the T-K oldest manifests of each repository, in the run's
   order) by digest with the same kind of client: `delseq/*` one at a time, as
   `execute_run` deletes, and `delpar/*` from 8 worker threads (`--workers`);
5. prints run deletions/s / registry DELETEs/s, and checks that the real run deleted
   exactly what the dry run listed, which is the T-K oldest of each repository, and that
   the registry still lists exactly the K newest tags of each repository;
6. stops the registry and deletes its temporary directories at the end, on failure and on
   Ctrl-C (or SIGTERM).

Needs the Debian package `docker-registry`. The defaults (20 x 50, keep 10: 800 deletions
per set) take about 2.5 minutes on 2 busy cores, most of it filling and syncing the 3,000
tags; `--tmpdir /dev/shm` keeps the disk out of the figures (and saves a minute of cleanup).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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


# --- part 2: a real run against the registry --------------------------------------------------

RUN_NAMESPACE = "retbench"  # one Wharf project: the run's
SEQUENTIAL_NAMESPACE = "delseq"  # DELETEd one at a time, as execute_run does
CONCURRENT_NAMESPACE = "delpar"  # DELETEd from --workers threads


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--real-run",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="part 2: a real run against a registry started for it (default: on)",
    )
    parser.add_argument("--repos", type=int, default=20, help="repositories per set (R)")
    parser.add_argument("--tags", type=int, default=50, help="tags per repository (T)")
    parser.add_argument("--keep", type=int, default=10, help="the policy keeps the K most recently pushed")
    parser.add_argument("--workers", type=int, default=8, help="threads for the concurrent registry DELETEs")
    parser.add_argument("--fill-threads", type=int, default=16, help="concurrent pushes while filling")
    parser.add_argument(
        "--tmpdir",
        default=None,
        help="where the registry storage and SQLite file go (default: the system's; /dev/shm is faster)",
    )
    parser.add_argument(
        "--auth",
        choices=["token", "none"],
        default="token",
        help="token: the registry trusts Wharf's signed tokens, as deployed (default); none: an open registry",
    )
    args = parser.parse_args(argv)
    if not 0 < args.keep < args.tags:
        parser.error("--keep must be at least 1 and below --tags, so that the run deletes something")
    return args


@dataclass(frozen=True)
class RunFigures:
    run: Any  # RetentionRun
    seconds: float
    requests: int


def _run(project: Any, *, dry_run: bool) -> RunFigures:
    """Request, claim and execute a run with the shared client, as a worker does; timed."""
    from audit.context import Actor
    from repositories.models import RetentionRun
    from repositories.services.registry import registry_client
    from repositories.services.retention_runs import claim_run, execute_run, request_run

    run, _ = request_run(project, Actor.system("benchmark"), dry_run=dry_run)
    claimed = claim_run(run.pk)
    if claimed is None:
        raise SystemExit(f"run {run.pk} could not be claimed")
    client = registry_client()
    requests = client.request_count
    started = time.perf_counter()
    finished = execute_run(claimed, client)
    seconds = time.perf_counter() - started
    if finished.status != RetentionRun.Status.SUCCEEDED:
        raise SystemExit(
            f"the {'dry' if dry_run else 'real'} run ended {finished.status}: {finished.message}"
        )
    return RunFigures(finished, seconds, client.request_count - requests)


def _item_set(run: Any, **filters: Any) -> set[tuple[str, str]]:
    from repositories.models import RetentionRunItem

    return set(RetentionRunItem.objects.filter(run=run, **filters).values_list("repository_name", "digest"))


@dataclass(frozen=True)
class DeleteFigures:
    deletes: int
    seconds: float
    requests: int

    @property
    def rate(self) -> float:
        return self.deletes / self.seconds


def _delete_directly(url: str, targets: list[tuple[str, str]], workers: int) -> DeleteFigures:
    """DELETE each (repository, digest) with a client built as `registry_client()` builds its own;
    from `workers` threads when above 1, else one at a time."""
    from django.conf import settings

    from repositories.registry import RegistryClient

    client = RegistryClient(
        url, auth=client_auth(), timeout=settings.REGISTRY_TIMEOUT, max_connections=max(20, workers)
    )

    def delete(target: tuple[str, str]) -> None:
        if not client.delete_manifest(*target):
            raise SystemExit(f"registry DELETE of {target} found nothing")

    try:
        started = time.perf_counter()
        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(delete, targets))
        else:
            for target in targets:
                delete(target)
        seconds = time.perf_counter() - started
    finally:
        client.close()
    return DeleteFigures(len(targets), seconds, client.request_count)


def _oldest(filled: Filled, count: int) -> list[tuple[str, str]]:
    """The `count` oldest manifests of each repository, in the order a run deletes them."""
    return sorted((name, filled.digests[name][i]) for name in filled.repositories for i in range(count))


def _registry_keeps_newest(url: str, filled: Filled, keep: int, tags: int) -> bool:
    from repositories.registry import RegistryClient

    expected = sorted(tag_name(i) for i in range(tags - keep, tags))
    with RegistryClient(url, auth=client_auth()) as client:
        return all(sorted(client.tags(name)) == expected for name in filled.repositories)


def _yes(value: bool) -> str:
    return "yes" if value else "NO"


def real_run(args: argparse.Namespace) -> int:
    """Part 2 (see the module docstring); returns the exit status."""
    began = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="wharf-retention-bench-", dir=args.tmpdir))
    server: Any = None
    try:
        with interrupts_raise():
            database = setup_django(workdir)
            from django.conf import settings

            from audit.context import Actor
            from repositories.models import Project, RetentionRunItem, SyncRun
            from repositories.services.registry import reset_registry_client
            from repositories.services.retention import save_policy
            from repositories.services.sync import sync_now
            from tests.support.registry import RegistryServer

            server = RegistryServer(workdir / "registry", token_auth=token_auth(args.auth == "token"))
            quiet_registry_config(server.config_path)
            server.start()
            auth = "token auth, Wharf-minted tokens" if args.auth == "token" else "no auth"
            print(
                f"registry   Distribution {registry_version()} at {server.url} ({auth}); database {database}; "
                f"set up in {time.perf_counter() - began:.1f} s"
            )

            sets = (RUN_NAMESPACE, SEQUENTIAL_NAMESPACE, CONCURRENT_NAMESPACE)
            filled = {
                ns: fill(server.url, args.repos, args.tags, args.fill_threads, namespace=ns) for ns in sets
            }
            total = len(sets) * args.repos * args.tags
            fill_seconds = sum(f.seconds for f in filled.values())
            print(
                f"fill       {len(sets)} sets ({', '.join(f'{ns}/*' for ns in sets)}) x {args.repos} repositories "
                f"x {args.tags} tags = {total:,} tags in {fill_seconds:.1f} s ({args.fill_threads} threads)"
            )

            settings.REGISTRY_URL = server.url
            reset_registry_client()
            started = time.perf_counter()
            sync = sync_now(trigger=SyncRun.Trigger.SYSTEM)
            if sync.status != SyncRun.Status.SUCCEEDED or sync.tags_seen != total:
                raise SystemExit(
                    f"the sync did not load every tag ({sync.status}, {sync.tags_seen}): {sync.message}"
                )
            print(
                f"sync       {sync.tags_seen:,} tags loaded into Wharf in {time.perf_counter() - started:.1f} s"
            )

            project = Project.objects.get(name=RUN_NAMESPACE)
            actor = Actor.system("benchmark")
            save_policy(
                project,
                actor,
                enabled=True,
                schedule="",
                allow_empty_repository=False,
                rules=[
                    {
                        "repositories": {"include": ["**"]},
                        "tags": {"include": ["**"]},
                        "template": "latest_pushed_n",
                        "n": args.keep,
                    }
                ],
            )
            planned = args.repos * (args.tags - args.keep)
            dry = _run(project, dry_run=True)
            print(
                f"dry run    project {RUN_NAMESPACE} ({args.repos * args.tags:,} tags), keep the {args.keep} most "
                f"recently pushed per repository: {dry.run.artifacts_planned:,} would be deleted; {dry.seconds:.2f} s"
            )
            real = _run(project, dry_run=False)
            deleted = real.run.artifacts_deleted
            run_rate = deleted / real.seconds
            print(
                f"real run   {deleted:,} artifacts ({real.run.tags_deleted:,} tags) deleted in {real.seconds:.1f} s = "
                f"{run_rate:,.0f} deletions/s; {real.requests:,} registry requests = "
                f"{real.requests / max(deleted, 1):.2f} per deletion (sequential, as execute_run deletes)"
            )

            sequential = _delete_directly(
                server.url, _oldest(filled[SEQUENTIAL_NAMESPACE], args.tags - args.keep), workers=1
            )
            concurrent = _delete_directly(
                server.url, _oldest(filled[CONCURRENT_NAMESPACE], args.tags - args.keep), workers=args.workers
            )
            print(
                f"registry   its own DELETE by digest, {sequential.deletes:,} manifests per set: sequential "
                f"{sequential.seconds:.1f} s = {sequential.rate:,.0f} deletes/s; {args.workers} workers "
                f"{concurrent.seconds:.1f} s = {concurrent.rate:,.0f} deletes/s "
                f"({(sequential.requests + concurrent.requests) / (sequential.deletes + concurrent.deletes):.2f} "
                f"requests per delete)"
            )
            print(
                f"ratio      run deletions/s / registry DELETEs/s: {run_rate / sequential.rate:.2f} at the same "
                f"concurrency (sequential); {run_rate / concurrent.rate:.2f} against {args.workers} workers"
            )

            dry_set = _item_set(dry.run, action=RetentionRunItem.Action.DELETE)
            real_set = _item_set(real.run, outcome=RetentionRunItem.Outcome.DELETED)
            expected = set(_oldest(filled[RUN_NAMESPACE], args.tags - args.keep))
            left = _registry_keeps_newest(server.url, filled[RUN_NAMESPACE], args.keep, args.tags)
            print(
                f"check      dry run == real run: {_yes(dry_set == real_set)}; "
                f"= the {args.tags - args.keep} oldest of each repository ({planned:,}): {_yes(real_set == expected)}; "
                f"the registry lists the {args.keep} newest tags of each repository: {_yes(left)}"
            )
            reset_registry_client()
            ok = dry_set == real_set == expected and left
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        cleanup = time.perf_counter()
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        cleanup = time.perf_counter() - cleanup
    print(
        f"total      {time.perf_counter() - began:.0f} s, of which {cleanup:.0f} s deleting the registry's storage"
    )
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    evaluation()
    if not args.real_run:
        return 0
    if shutil.which("docker-registry") is None:
        raise SystemExit("docker-registry not found: apt-get install docker-registry (or --no-real-run)")
    return real_run(args)


if __name__ == "__main__":
    sys.exit(main())
