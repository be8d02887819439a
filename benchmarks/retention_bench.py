"""Benchmark the retention engine: 1,000 repositories x 100 tags = 100,000 tags.

Run from the repository root: `.venv/bin/python benchmarks/retention_bench.py`.
The data is generated with a fixed seed: in every repository about 70 single-tag images,
some images carrying several tags (shared digests), a few multi-arch indexes with their
untagged platform children, cosign signatures (`sha256-<hex>.sig`) of some images and a
few untagged leftovers. The policy has four rules, like a realistic project's.
Prints the best of 5 evaluations (time.perf_counter), with deletions and tag rate.
"""

from __future__ import annotations

import hashlib
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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


def main() -> None:
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


if __name__ == "__main__":
    main()
