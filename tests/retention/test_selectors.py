"""Which repositories a rule applies to, which artifacts it selects, and several rules together."""

from __future__ import annotations

import dataclasses

from repositories.retention import (
    Artifact,
    LabelSelector,
    Policy,
    ReasonCode,
    RepositorySelector,
    Rule,
    TagSelector,
    Template,
    evaluate,
    validate_policy,
)

from .builders import NOW, art, decision, deleted, digest, kept, rule, run


def test_a_rule_applies_to_repositories_matching_include_and_not_exclude() -> None:
    artifacts = [
        art("api-old", "v1", repo="team-a/api", pushed=9),
        art("api-new", "v2", repo="team-a/api", pushed=1),
        art("db-old", "v1", repo="team-a/db", pushed=9),
        art("db-new", "v2", repo="team-a/db", pushed=1),
        art("web-old", "v1", repo="web", pushed=9),
    ]
    result = run(
        rule(Template.LATEST_PUSHED_N, 1, repos=("team-*/**",), repos_exclude=("**/db",)),
        artifacts=artifacts,
    )
    assert deleted(result) == {"api-old"}
    assert decision(result, "db-old", "team-a/db").code is ReasonCode.UNMATCHED_REPOSITORY
    assert decision(result, "web-old", "web").code is ReasonCode.UNMATCHED_REPOSITORY


def test_repositories_matched_by_no_rule_are_untouched() -> None:
    artifacts = [art("x", "v1", repo="legacy", pushed=999), art("y", repo="legacy", pushed=999)]
    result = run(rule(Template.LATEST_PUSHED_N, 1, repos=("app",)), artifacts=artifacts)
    assert kept(result) == {"x", "y"}
    assert all(d.reason == "kept: no rule matches this repository" for d in result.artifacts)
    assert all(t.kept for t in result.tags)


def test_a_policy_without_rules_deletes_nothing() -> None:
    artifacts = [art("x", "v1"), art("y")]
    assert deleted(run(artifacts=artifacts)) == set()


def test_tag_include_selects_artifacts_with_any_matching_tag() -> None:
    artifacts = [
        art("release", "release-1.0", "latest", pushed=5),
        art("dev", "dev-7", pushed=1),
    ]
    result = run(rule(Template.ALWAYS, None, ("release-*",)), artifacts=artifacts)
    assert kept(result) == {"release"}
    assert decision(result, "release").tags == ("release-1.0",)  # the reason names the matching tag


def test_tag_exclude_removes_matching_tags_from_the_selection() -> None:
    artifacts = [art("rc", "release-2.0-rc1", pushed=1), art("final", "release-1.9", pushed=2)]
    result = run(rule(Template.ALWAYS, None, ("release-*",), exclude=("*-rc*",)), artifacts=artifacts)
    assert kept(result) == {"final"}


def test_an_artifact_is_selected_when_another_of_its_tags_survives_the_exclude() -> None:
    artifacts = [art("both", "release-2.0-rc1", "release-2.0", pushed=1)]
    result = run(rule(Template.ALWAYS, None, ("release-*",), exclude=("*-rc*",)), artifacts=artifacts)
    assert kept(result) == {"both"}
    assert decision(result, "both").tags == ("release-2.0",)


def test_untagged_artifacts_are_selected_only_when_the_rule_says_so() -> None:
    artifacts = [art("untagged", pushed=1), art("tagged", "v1", pushed=2)]
    without = run(rule(Template.ALWAYS, None, ("**",)), artifacts=artifacts)
    assert deleted(without) == {"untagged"}
    with_untagged = run(rule(Template.ALWAYS, None, ("**",), untagged=True), artifacts=artifacts)
    assert deleted(with_untagged) == set()


def test_an_untagged_only_rule_leaves_tagged_artifacts_to_other_rules() -> None:
    artifacts = [
        art("untagged-new", pushed=1),
        art("untagged-old", pushed=30),
        art("tagged", "v1", pushed=40),
    ]
    result = run(rule(Template.PUSHED_WITHIN_DAYS, 7, (), untagged=True), artifacts=artifacts)
    assert kept(result) == {"untagged-new"}


def test_untagged_does_not_select_a_tagged_artifact_whose_tags_do_not_match() -> None:
    artifacts = [art("dev", "dev-1", pushed=1)]
    result = run(rule(Template.ALWAYS, None, ("release-*",), untagged=True), artifacts=artifacts)
    assert deleted(result) == {"dev"}


def test_several_rules_retain_the_union_of_what_each_retains() -> None:
    artifacts = [
        art("release-old", "release-1", pushed=300),
        art("release-new", "release-2", pushed=200),
        art("dev-recent", "dev-9", pushed=2),
        art("dev-stale", "dev-1", pushed=60),
        art("latest", "latest", pushed=500),
    ]
    result = run(
        rule(Template.LATEST_PUSHED_N, 1, ("release-*",)),
        rule(Template.PUSHED_WITHIN_DAYS, 7, ("dev-*",)),
        rule(Template.ALWAYS, None, ("latest",)),
        artifacts=artifacts,
    )
    assert kept(result) == {"release-new", "dev-recent", "latest"}
    assert deleted(result) == {"release-old", "dev-stale"}
    assert {d.digest for d in result.deleted} == {digest("release-old"), digest("dev-stale")}
    assert len(result.kept) == 3


def test_the_first_retaining_rule_names_the_reason_and_all_are_listed() -> None:
    artifacts = [art("x", "release-1", pushed=1)]
    result = run(
        rule(Template.PUSHED_WITHIN_DAYS, 30, ("dev-*",)),
        rule(Template.LATEST_PUSHED_N, 5, ("release-*",)),
        rule(Template.ALWAYS, None, ("**",)),
        artifacts=artifacts,
    )
    x = decision(result, "x")
    assert x.rule == 2
    assert x.retained_by == (2, 3)


def test_a_rule_for_other_repositories_does_not_protect_this_one() -> None:
    artifacts = [art("a", "v1", repo="a", pushed=50), art("b", "v1", repo="b", pushed=50)]
    result = run(
        rule(Template.PUSHED_WITHIN_DAYS, 7, repos=("a",)),
        rule(Template.ALWAYS, None, repos=("b",)),
        artifacts=artifacts,
    )
    assert kept(result) == {"b"}
    assert deleted(result) == {"a"}


# --- label selectors -------------------------------------------------------------------


def _labelled(name: str, *tags: str, labels: tuple[str, ...] = (), pushed: float = 10) -> Artifact:
    return dataclasses.replace(art(name, *tags, pushed=pushed), labels=frozenset(labels))


def test_a_rule_with_a_label_keeps_only_artifacts_carrying_it_and_says_so() -> None:
    release = _labelled("r", "v1", labels=("release",))
    other = _labelled("o", "v2", labels=("qa",))
    keep = Rule(Template.ALWAYS, None, RepositorySelector(), TagSelector(), LabelSelector(("release",)))

    result = evaluate(Policy((keep,), allow_empty_repository=True), [release, other], now=NOW)

    by_digest = {d.digest: d for d in result.artifacts}
    assert by_digest[release.digest].kept and not by_digest[other.digest].kept
    assert "labelled `release`" in by_digest[release.digest].reason


def test_without_a_label_selects_the_others() -> None:
    release = _labelled("r", "v1", labels=("release",), pushed=1)
    old = _labelled("o", "v2", pushed=5)
    recent = Rule(Template.LATEST_PUSHED_N, 1, RepositorySelector(), TagSelector(), LabelSelector((), ("release",)))

    result = evaluate(Policy((recent,), allow_empty_repository=True), [release, old], now=NOW)

    assert {d.digest for d in result.artifacts if d.kept} == {old.digest}
    assert "not labelled `release`" in next(d.reason for d in result.artifacts if d.kept)


def test_with_several_labels_needs_all_of_them() -> None:
    both = _labelled("b", "v1", labels=("release", "qa"))
    one = _labelled("o", "v2", labels=("release",))
    keep = Rule(Template.ALWAYS, None, RepositorySelector(), TagSelector(), LabelSelector(("qa", "release")))

    result = evaluate(Policy((keep,), allow_empty_repository=True), [both, one], now=NOW)

    assert {d.digest for d in result.artifacts if d.kept} == {both.digest}


def test_a_label_both_required_and_excluded_is_a_problem() -> None:
    bad = Rule(Template.ALWAYS, None, RepositorySelector(), TagSelector(), LabelSelector(("x",), ("x",)))

    problems = validate_policy(Policy((bad,)))

    assert [p.field for p in problems] == ["rules.1.labels.without"]
