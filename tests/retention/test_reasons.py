"""The words a person reads for each decision, per artifact and per tag."""

from __future__ import annotations

import pytest

from repositories.retention import Rule, TagSelector, Template

from .builders import art, decision, rule, run


def test_kept_by_rule_names_the_rule_its_template_and_the_matching_tag() -> None:
    artifacts = [art("x", "release-1.4", "latest", pushed=1)]
    result = run(
        rule(Template.PUSHED_WITHIN_DAYS, 30, ("dev-*",)),
        rule(Template.LATEST_PUSHED_N, 5, ("release-*",)),
        artifacts=artifacts,
    )
    assert (
        decision(result, "x").reason
        == "kept by rule 2: 5 most recently pushed matching `release-*` (tag `release-1.4`)"
    )


def test_an_untagged_selection_says_untagged() -> None:
    result = run(rule(Template.ALWAYS, None, (), untagged=True), artifacts=[art("x", pushed=1)])
    assert decision(result, "x").reason == "kept by rule 1: always untagged (untagged)"


def test_many_matching_tags_are_listed_sorted_then_counted() -> None:
    artifacts = [art("x", "v5", "v1", "v4", "v2", "v3", pushed=1)]
    result = run(rule(Template.ALWAYS, None, ("v*",)), artifacts=artifacts)
    assert (
        decision(result, "x").reason
        == "kept by rule 1: always matching `v*` (tags `v1`, `v2`, `v3` and 2 more)"
    )


def test_deleted_reason() -> None:
    result = run(rule(Template.ALWAYS, None, ("keep",)), artifacts=[art("x", "v1")])
    assert decision(result, "x").reason == "deleted: retained by no rule"


def test_every_tag_gets_its_artifacts_verdict_and_reason() -> None:
    artifacts = [art("x", "b-tag", "a-tag", pushed=1), art("y", "c-tag", pushed=1)]
    result = run(rule(Template.ALWAYS, None, ("a-*",)), artifacts=artifacts)
    rows = {(t.name, t.kept, t.reason) for t in result.tags}
    assert rows == {
        ("a-tag", True, "kept by rule 1: always matching `a-*` (tag `a-tag`)"),
        ("b-tag", True, "kept by rule 1: always matching `a-*` (tag `a-tag`)"),
        ("c-tag", False, "deleted: retained by no rule"),
    }


@pytest.mark.parametrize(
    ("rule_", "text"),
    [
        (Rule(Template.LATEST_PUSHED_N, 1), "the most recently pushed matching `**`"),
        (
            Rule(Template.LATEST_PULLED_N, 3, tags=TagSelector(("v*",))),
            "3 most recently pulled matching `v*`",
        ),
        (Rule(Template.PUSHED_WITHIN_DAYS, 1), "pushed within the last day matching `**`"),
        (
            Rule(Template.PULLED_WITHIN_DAYS, 90, tags=TagSelector(("a", "b"), ("*-rc",), untagged=True)),
            "pulled within the last 90 days matching `a` or `b` or untagged, except `*-rc`",
        ),
        (Rule(Template.ALWAYS, tags=TagSelector(("latest",))), "always matching `latest`"),
    ],
)
def test_rules_describe_themselves(rule_: Rule, text: str) -> None:
    assert rule_.describe() == text


def test_summaries_count_artifacts_and_tags_per_repository() -> None:
    artifacts = [
        art("x", "v1", "v1.0", repo="a", pushed=1),
        art("y", "v0", repo="a", pushed=90),
        art("z", "v0", repo="b", pushed=90),
    ]
    result = run(rule(Template.PUSHED_WITHIN_DAYS, 7, repos=("a",)), artifacts=artifacts)
    summaries = {s.repository: s for s in result.summaries()}
    a, b = summaries["a"], summaries["b"]
    assert (a.matched, a.kept_artifacts, a.deleted_artifacts, a.kept_tags, a.deleted_tags) == (
        True,
        1,
        1,
        2,
        1,
    )
    assert (b.matched, b.kept_artifacts, b.deleted_artifacts) == (False, 1, 0)
