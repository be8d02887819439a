"""Benchmark the retention preview with the advisor on 100,000 tags (issue 16: <= 1 s).

Run from the repository root::

    .venv/bin/python benchmarks/advisor_bench.py

Uses `retention_bench.generate()` (1,000 repositories x 100 tags, fixed seed) and its
policy, and gives each artifact a manifest blob and three layers: a base layer shared
by its whole repository, one shared by every tenth artifact, and its own. Prints, best
of 5 (time.perf_counter): the engine alone, the engine plus the advisor (what the
preview computes from data already loaded), and the engine with a fifth rule keeping
what is labelled `release` (10% of artifacts labelled); then the load average, since
the figures depend on what else the 2 cores are doing.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from retention_bench import IMMUTABLE, NOW, POLICY, generate

from repositories.retention import (
    LabelSelector,
    Policy,
    RepositorySelector,
    Rule,
    TagSelector,
    Template,
    evaluate,
)
from repositories.retention.advisor import advise


def _best(call: Callable[[], Any], runs: int = 5) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> int:
    artifacts = generate()
    n_tags = sum(len(a.tags) for a in artifacts)
    blobs = {}
    last_push: dict[str, Any] = {}
    for index, a in enumerate(artifacts):
        blobs[(a.repository, a.digest)] = [
            (a.digest, 1_000),
            (f"base:{a.repository}", 30_000_000),
            (f"shared:{a.repository}:{index // 10}", 5_000_000),
            (f"own:{a.digest}", 2_000_000),
        ]
        if last_push.get(a.repository) is None or a.pushed_at > last_push[a.repository]:
            last_push[a.repository] = a.pushed_at

    engine_time, evaluation = _best(lambda: evaluate(POLICY, artifacts, now=NOW, immutable_rules=IMMUTABLE))
    both_time, advice = _best(
        lambda: advise(evaluate(POLICY, artifacts, now=NOW, immutable_rules=IMMUTABLE), blobs, last_push, now=NOW)
    )
    labelled = [replace(a, labels=frozenset({"release"})) if i % 10 == 0 else a for i, a in enumerate(artifacts)]
    keep_release = Rule(Template.ALWAYS, None, RepositorySelector(), TagSelector(untagged=True), LabelSelector(("release",)))
    with_labels = Policy((*POLICY.rules, keep_release))
    label_time, _ = _best(lambda: evaluate(with_labels, labelled, now=NOW, immutable_rules=IMMUTABLE))

    print(f"preview with advisor: {n_tags:,} tags in {both_time:.2f} s (best of 5; target <= 1 s)")
    print(f"  engine alone {engine_time:.2f} s; advisor adds {both_time - engine_time:.2f} s")
    print(
        f"  {advice.deleted_artifacts:,} deleted artifacts, {advice.bytes_freed / 1e9:,.1f} GB freed in "
        f"{advice.blobs_freed:,} blobs; pulled within 7/30/90 days: "
        f"{advice.pulled_within[7]:,}/{advice.pulled_within[30]:,}/{advice.pulled_within[90]:,}; "
        f"{len(advice.warnings) + advice.more_warnings:,} warnings"
    )
    print(f"  engine with a label rule (10% labelled): {label_time:.2f} s ({label_time / engine_time:.2f}x)")
    print(f"  load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    del evaluation
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
