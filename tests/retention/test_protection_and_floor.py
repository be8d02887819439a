"""Immutable (protected) tags and the empty-repository safety floor."""

from __future__ import annotations

from repositories.retention import ReasonCode, Tag, Template

from .builders import ago, art, decision, deleted, digest, immutable, kept, rule, run


def test_an_artifact_with_a_protected_tag_is_never_deleted() -> None:
    artifacts = [art("old", "dev", Tag("v1.0", protected_by=1), pushed=900), art("new", "v2", pushed=1)]
    result = run(rule(Template.LATEST_PUSHED_N, 1), artifacts=artifacts)
    assert kept(result) == {"old", "new"}
    old = decision(result, "old")
    assert old.code is ReasonCode.PROTECTED
    assert old.reason == "protected: immutable rule 1 (tag `v1.0`)"


def test_immutable_rules_protect_matching_tags_in_matching_repositories() -> None:
    artifacts = [
        art("a-old", "release-1", repo="a", pushed=900),
        art("a-new", "v2", repo="a", pushed=1),
        art("b-old", "release-1", repo="b", pushed=900),
        art("b-new", "v2", repo="b", pushed=1),
    ]
    result = run(
        rule(Template.LATEST_PUSHED_N, 1),
        artifacts=artifacts,
        immutable_rules=(immutable(("v*",)), immutable(("release-*",), repos=("a",))),
    )
    assert deleted(result) == {"b-old"}
    assert decision(result, "a-old", "a").reason == "protected: immutable rule 2 (tag `release-1`)"


def test_the_lowest_protecting_rule_is_named() -> None:
    artifacts = [art("x", Tag("v1", protected_by=3), "release-1", pushed=900), art("y", "new", pushed=1)]
    result = run(
        rule(Template.LATEST_PUSHED_N, 1),
        artifacts=artifacts,
        immutable_rules=(immutable(("release-*",)),),
    )
    x = decision(result, "x")
    assert (x.rule, x.tags) == (1, ("release-1",))


def test_protection_wins_over_retention_in_the_reason_but_rules_are_still_listed() -> None:
    artifacts = [art("x", Tag("v1", protected_by=2), pushed=1)]
    x = decision(run(rule(Template.ALWAYS, None), artifacts=artifacts), "x")
    assert x.code is ReasonCode.PROTECTED
    assert x.retained_by == (1,)


def test_protected_index_keeps_its_children() -> None:
    index = art("idx", Tag("v1", protected_by=1), pushed=900)
    child = art("child", pushed=900, parents=(index.digest,))
    newer = art("new", "v2", pushed=1)
    result = run(rule(Template.LATEST_PUSHED_N, 1), artifacts=[index, child, newer])
    assert kept(result) == {"idx", "child", "new"}


def test_each_tag_decision_carries_its_own_protection() -> None:
    artifacts = [art("x", Tag("v1", protected_by=1), "dev", pushed=900)]
    result = run(rule(Template.ALWAYS, None, ("none",)), artifacts=artifacts)
    by_name = {t.name: t for t in result.tags}
    assert by_name["v1"].protected_by == 1
    assert by_name["dev"].protected_by is None
    assert by_name["dev"].kept  # kept with its artifact


def test_the_floor_keeps_the_most_recently_pushed_artifact_when_a_policy_would_empty_a_repository() -> None:
    artifacts = [art("old", "v1", pushed=60), art("newest", "v3", pushed=40), art("mid", "v2", pushed=50)]
    result = run(rule(Template.PUSHED_WITHIN_DAYS, 7), artifacts=artifacts, allow_empty=False)
    assert kept(result) == {"newest"}
    newest = decision(result, "newest")
    assert newest.code is ReasonCode.FLOOR
    assert newest.reason == "kept: the policy may not empty a repository (most recently pushed artifact)"


def test_with_allow_empty_repository_a_policy_may_delete_everything() -> None:
    artifacts = [art("old", "v1", pushed=60), art("newest", "v3", pushed=40)]
    result = run(rule(Template.PUSHED_WITHIN_DAYS, 7), artifacts=artifacts, allow_empty=True)
    assert kept(result) == set()


def test_the_floor_is_not_used_when_something_is_kept() -> None:
    artifacts = [art("recent", pushed=1), art("tagged", "v1", pushed=60)]
    result = run(
        rule(Template.PUSHED_WITHIN_DAYS, 7, (), untagged=True), artifacts=artifacts, allow_empty=False
    )
    assert kept(result) == {"recent"}
    assert all(d.code is not ReasonCode.FLOOR for d in result.artifacts)


def test_the_floor_prefers_a_tagged_artifact_and_keeps_its_children() -> None:
    index = art("idx", "v1", pushed=60)
    child = art("child", pushed=60, parents=(index.digest,))
    dangling = art("dangling", pushed=1)
    result = run(
        rule(Template.PUSHED_WITHIN_DAYS, 1, ("none",)), artifacts=[index, child, dangling], allow_empty=False
    )
    assert kept(result) == {"idx", "child"}


def test_the_floor_counts_a_tag_push_as_a_push() -> None:
    old = art("old", Tag("latest"), Tag("v9"), pushed=100)
    retagged = art("retagged", Tag("v2", pushed_at=ago(1)), pushed=200)
    result = run(rule(Template.ALWAYS, None, ("none",)), artifacts=[old, retagged], allow_empty=False)
    assert kept(result) == {"retagged"}


def test_the_floor_applies_per_repository() -> None:
    artifacts = [
        art("a1", "v1", repo="a", pushed=60),
        art("a2", "v2", repo="a", pushed=50),
        art("b1", "v1", repo="b", pushed=60),
        art("b-recent", "v2", repo="b", pushed=1),
    ]
    result = run(rule(Template.PUSHED_WITHIN_DAYS, 7), artifacts=artifacts, allow_empty=False)
    assert kept(result) == {"a2", "b-recent"}


def test_the_floor_breaks_push_time_ties_by_lowest_digest() -> None:
    artifacts = [art("p", "v1", pushed=60), art("q", "v2", pushed=60), art("r", "v3", pushed=60)]
    result = run(rule(Template.PUSHED_WITHIN_DAYS, 7), artifacts=artifacts, allow_empty=False)
    assert kept(result) == {min(["p", "q", "r"], key=digest)}


def test_an_unmatched_repository_never_needs_the_floor() -> None:
    result = run(rule(Template.ALWAYS, None, repos=("other",)), artifacts=[art("x", "v1")], allow_empty=False)
    assert decision(result, "x").code is ReasonCode.UNMATCHED_REPOSITORY
