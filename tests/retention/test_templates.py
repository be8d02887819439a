"""Each template on its own, the times it looks at, and how ties are broken."""

from __future__ import annotations

from repositories.retention import Tag, Template

from .builders import ago, art, decision, deleted, digest, kept, rule, run


def test_latest_pushed_n_keeps_the_n_most_recently_pushed() -> None:
    artifacts = [art("old", "v1", pushed=30), art("mid", "v2", pushed=20), art("new", "v3", pushed=10)]
    result = run(rule(Template.LATEST_PUSHED_N, 2), artifacts=artifacts)
    assert kept(result) == {"mid", "new"}
    assert deleted(result) == {"old"}


def test_latest_pushed_n_larger_than_the_repository_keeps_everything() -> None:
    artifacts = [art("a", "v1"), art("b", "v2")]
    assert kept(run(rule(Template.LATEST_PUSHED_N, 10), artifacts=artifacts)) == {"a", "b"}


def test_latest_pushed_n_counts_per_repository() -> None:
    artifacts = [
        art("a-old", "v1", repo="a", pushed=5),
        art("a-new", "v2", repo="a", pushed=1),
        art("b-old", "v1", repo="b", pushed=5),
        art("b-new", "v2", repo="b", pushed=1),
    ]
    assert kept(run(rule(Template.LATEST_PUSHED_N, 1), artifacts=artifacts)) == {"a-new", "b-new"}


def test_a_tag_moved_onto_an_old_artifact_counts_as_a_recent_push() -> None:
    moved = Tag("v9", pushed_at=ago(1))
    artifacts = [art("old-image", moved, pushed=100), art("other", "v2", pushed=10)]
    assert kept(run(rule(Template.LATEST_PUSHED_N, 1), artifacts=artifacts)) == {"old-image"}


def test_only_the_matching_tags_push_times_count_for_a_rule() -> None:
    # `dev` was pushed yesterday onto `a`, but the rule looks at `release-*` tags only.
    a = art("a", Tag("release-1", pushed_at=ago(50)), Tag("dev", pushed_at=ago(1)), pushed=50)
    b = art("b", Tag("release-2", pushed_at=ago(20)), pushed=20)
    result = run(rule(Template.LATEST_PUSHED_N, 1, ("release-*",)), artifacts=[a, b])
    assert kept(result) == {"b"}


def test_latest_pulled_n_keeps_the_n_most_recently_pulled() -> None:
    artifacts = [
        art("stale", "v1", pushed=1, pulled=40),
        art("warm", "v2", pushed=50, pulled=5),
        art("hot", "v3", pushed=60, pulled=1),
    ]
    assert kept(run(rule(Template.LATEST_PULLED_N, 2), artifacts=artifacts)) == {"warm", "hot"}


def test_latest_pulled_n_fills_remaining_places_with_never_pulled_by_push_time() -> None:
    artifacts = [
        art("pulled", "v1", pushed=90, pulled=30),
        art("never-new", "v2", pushed=1),
        art("never-old", "v3", pushed=50),
    ]
    result = run(rule(Template.LATEST_PULLED_N, 2), artifacts=artifacts)
    assert kept(result) == {"pulled", "never-new"}


def test_a_pull_by_tag_counts_for_latest_pulled() -> None:
    artifacts = [
        art("by-tag", Tag("v1", pulled_at=ago(1)), pushed=5, pulled=None),
        art("by-digest", "v2", pushed=5, pulled=3),
    ]
    assert kept(run(rule(Template.LATEST_PULLED_N, 1), artifacts=artifacts)) == {"by-tag"}


def test_pushed_within_days_keeps_those_pushed_since_the_cutoff() -> None:
    artifacts = [art("in", "v1", pushed=6.9), art("edge", "v2", pushed=7), art("out", "v3", pushed=7.1)]
    result = run(rule(Template.PUSHED_WITHIN_DAYS, 7), artifacts=artifacts)
    assert kept(result) == {"in", "edge"}  # exactly N days ago is still within
    assert deleted(result) == {"out"}


def test_pulled_within_days_keeps_those_pulled_since_the_cutoff_and_never_the_unpulled() -> None:
    artifacts = [
        art("recent", "v1", pushed=100, pulled=2),
        art("stale", "v2", pushed=100, pulled=40),
        art("never", "v3", pushed=0),
    ]
    result = run(rule(Template.PULLED_WITHIN_DAYS, 30), artifacts=artifacts)
    assert kept(result) == {"recent"}
    assert deleted(result) == {"stale", "never"}


def test_always_keeps_everything_it_selects() -> None:
    artifacts = [art("a", "release-1", pushed=900), art("b", "dev", pushed=1)]
    result = run(rule(Template.ALWAYS, None, ("release-*",)), artifacts=artifacts)
    assert kept(result) == {"a"}
    assert deleted(result) == {"b"}


def test_equal_push_times_are_broken_by_lowest_digest() -> None:
    labels = ["t1", "t2", "t3", "t4"]
    artifacts = [art(label, f"v-{label}", pushed=5) for label in labels]
    result = run(rule(Template.LATEST_PUSHED_N, 2), artifacts=artifacts)
    expected = sorted(labels, key=digest)[:2]
    assert kept(result) == set(expected)


def test_equal_pull_times_are_broken_by_push_time_then_lowest_digest() -> None:
    artifacts = [
        art("older-push", "v1", pushed=9, pulled=1),
        art("newer-push", "v2", pushed=3, pulled=1),
        art("x1", "v3", pushed=20, pulled=2),
        art("x2", "v4", pushed=20, pulled=2),
    ]
    assert kept(run(rule(Template.LATEST_PULLED_N, 1), artifacts=artifacts)) == {"newer-push"}
    result = run(rule(Template.LATEST_PULLED_N, 3), artifacts=artifacts)
    assert kept(result) == {"older-push", "newer-push", min(["x1", "x2"], key=digest)}


def test_each_rule_ranks_all_it_selects_even_those_another_rule_keeps() -> None:
    artifacts = [art("new", "v3", pushed=1), art("mid", "v2", pushed=2), art("old", "v1", pushed=3)]
    result = run(
        rule(Template.LATEST_PUSHED_N, 1),
        rule(Template.LATEST_PUSHED_N, 1),
        artifacts=artifacts,
    )
    # The second rule does not skip `new` because rule 1 already kept it.
    assert kept(result) == {"new"}
    assert decision(result, "new").retained_by == (1, 2)
