"""The advisor against a hand-built fixture where the freed bytes and the recent pulls
are known by construction."""

from __future__ import annotations

from datetime import timedelta

from repositories.retention import (
    Artifact,
    Policy,
    RepositorySelector,
    Rule,
    Tag,
    TagSelector,
    Template,
    evaluate,
)
from repositories.retention.advisor import advise

from .builders import NOW, ago, digest

A, B, C, D = (digest(name) for name in ("A", "B", "C", "D"))
# A: v1, pulled 2 days ago; B: v2, never pulled; C: v3, the newest (kept); D: v0, pulled 45 days ago.
ARTIFACTS = [
    Artifact("app", A, ago(30), ago(2), (Tag("v1"),)),
    Artifact("app", B, ago(20), None, (Tag("v2"),)),
    Artifact("app", C, ago(1), ago(40), (Tag("v3"),)),
    Artifact("app", D, ago(60), ago(45), (Tag("v0"),)),
]
# Layer L2 is shared by A and B (both deleted: counted once); L3 by B and C (C is kept: not freed).
BLOBS = {
    ("app", A): [(A, 10), ("L1", 100), ("L2", 200)],
    ("app", B): [(B, 20), ("L2", 200), ("L3", 300)],
    ("app", C): [(C, 30), ("L3", 300), ("L4", 400)],
    ("app", D): [(D, 40), ("L5", 50)],
}
KEEP_NEWEST = Policy((Rule(Template.LATEST_PUSHED_N, 1, RepositorySelector(), TagSelector()),))


def test_bytes_freed_count_each_blob_once_and_never_one_a_kept_artifact_uses() -> None:
    evaluation = evaluate(KEEP_NEWEST, ARTIFACTS, now=NOW)

    advice = advise(evaluation, BLOBS, {"app": ago(1)}, now=NOW)

    assert advice.deleted_artifacts == 3
    # A, B, D manifests (10 + 20 + 40), L1 (100), L2 once (200), L5 (50); not L3 (C keeps it).
    assert (advice.bytes_freed, advice.blobs_freed) == (420, 6)


def test_recent_pulls_of_deleted_artifacts_by_window_with_the_latest() -> None:
    advice = advise(evaluate(KEEP_NEWEST, ARTIFACTS, now=NOW), BLOBS, {"app": ago(1)}, now=NOW)

    assert advice.pulled_within == {7: 1, 30: 1, 90: 2}
    assert advice.last_pull == ago(2)
    assert [(w.tags, w.deployed) for w in advice.warnings] == [(("v1",), False)]
    assert "pulled 2 days ago" in advice.warnings[0].describe(NOW)


def test_a_deleted_artifact_pulled_after_the_last_push_is_flagged_as_deployed() -> None:
    # The repository was last pushed 50 days ago: A (pulled 2 days ago) and D (45) are in use.
    advice = advise(evaluate(KEEP_NEWEST, ARTIFACTS, now=NOW), BLOBS, {"app": ago(50)}, now=NOW)

    assert [(w.tags, w.deployed) for w in advice.warnings] == [(("v1",), True), (("v0",), True)]
    assert "may be deployed" in advice.warnings[0].describe(NOW)


def test_a_policy_deleting_nothing_frees_nothing_and_warns_of_nothing() -> None:
    keep_all = Policy((Rule(Template.ALWAYS, None, RepositorySelector(), TagSelector()),))

    advice = advise(evaluate(keep_all, ARTIFACTS, now=NOW), BLOBS, {"app": NOW - timedelta(days=1)}, now=NOW)

    assert (advice.bytes_freed, advice.deleted_artifacts, advice.warnings, advice.last_pull) == (0, 0, (), None)
    assert advice.pulled_within == {7: 0, 30: 0, 90: 0}


def test_the_proposal_is_the_smallest_n_keeping_everything_pulled_in_90_days() -> None:
    from repositories.retention.advisor import propose_keep_n

    n = propose_keep_n(ARTIFACTS, now=NOW)

    # Newest push first: C, B, A, D; D (pulled 45 days ago) ranks 4th.
    assert n == 4
    kept = evaluate(Policy((Rule(Template.LATEST_PUSHED_N, n, RepositorySelector(), TagSelector()),)), ARTIFACTS, now=NOW)
    recent = {a.digest for a in ARTIFACTS if a.pulled_at and a.pulled_at >= NOW - timedelta(days=90)}
    assert recent <= {d.digest for d in kept.artifacts if d.kept}
    smaller = evaluate(
        Policy((Rule(Template.LATEST_PUSHED_N, n - 1, RepositorySelector(), TagSelector()),)), ARTIFACTS, now=NOW
    )
    assert not recent <= {d.digest for d in smaller.artifacts if d.kept}
    assert propose_keep_n([a for a in ARTIFACTS if a.pulled_at is None], now=NOW) is None
