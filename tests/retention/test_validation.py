"""Policy validation: what forms will show, and the engine refusing invalid policies."""

from __future__ import annotations

import pytest

from repositories.retention import (
    MAX_COUNT,
    MAX_DAYS,
    MAX_RULES,
    Artifact,
    Policy,
    PolicyError,
    RepositorySelector,
    Rule,
    TagSelector,
    Template,
    evaluate,
    validate_count,
    validate_immutable_rules,
    validate_policy,
)

from .builders import NOW, art, immutable, rule


def test_a_valid_policy_has_no_problems() -> None:
    policy = Policy((rule(Template.LATEST_PUSHED_N, 5, ("release-*",), repos=("team-*/**",)),))
    assert validate_policy(policy) == []


def test_more_than_fifteen_rules_is_refused() -> None:
    policy = Policy(tuple(rule(Template.ALWAYS) for _ in range(MAX_RULES + 1)))
    problems = validate_policy(policy)
    assert [p.field for p in problems] == ["rules"]
    assert "at most 15 rules" in problems[0].message
    assert validate_policy(Policy(tuple(rule(Template.ALWAYS) for _ in range(MAX_RULES)))) == []


@pytest.mark.parametrize(
    ("template", "n", "fragment"),
    [
        (Template.LATEST_PUSHED_N, None, "Enter a number"),
        (Template.LATEST_PUSHED_N, 0, "at least 1"),
        (Template.LATEST_PULLED_N, -3, "at least 1"),
        (Template.LATEST_PUSHED_N, MAX_COUNT + 1, "at most 10,000 artifacts"),
        (Template.PUSHED_WITHIN_DAYS, MAX_DAYS + 1, "at most 3,650 days"),
        (Template.PULLED_WITHIN_DAYS, 2.5, "whole number"),
        (Template.PUSHED_WITHIN_DAYS, True, "whole number"),
        (Template.ALWAYS, 3, "takes no number"),
    ],
)
def test_bad_numbers_get_a_message(template: Template, n: object, fragment: str) -> None:
    message = validate_count(template, n)  # type: ignore[arg-type]
    assert message is not None
    assert fragment in message


@pytest.mark.parametrize(
    ("template", "n"),
    [
        (Template.LATEST_PUSHED_N, 1),
        (Template.LATEST_PUSHED_N, MAX_COUNT),
        (Template.PULLED_WITHIN_DAYS, MAX_DAYS),
        (Template.ALWAYS, None),
    ],
)
def test_good_numbers_pass(template: Template, n: int | None) -> None:
    assert validate_count(template, n) is None


def test_problems_name_the_rule_and_the_pattern_they_are_about() -> None:
    policy = Policy(
        (
            rule(Template.ALWAYS),
            Rule(Template.LATEST_PUSHED_N, 0, RepositorySelector(("ok", "Bad")), TagSelector(("v*", "a/b"))),
        )
    )
    fields = {p.field: p.message for p in validate_policy(policy)}
    assert set(fields) == {"rules.2.n", "rules.2.repositories.include.1", "rules.2.tags.include.1"}
    assert "lowercase" in fields["rules.2.repositories.include.1"]


def test_a_rule_must_select_some_repositories_and_some_tags_or_untagged() -> None:
    policy = Policy((Rule(Template.ALWAYS, None, RepositorySelector(()), TagSelector(())),))
    fields = {p.field for p in validate_policy(policy)}
    assert fields == {"rules.1.repositories.include", "rules.1.tags.include"}
    untagged_only = Policy((Rule(Template.ALWAYS, None, tags=TagSelector((), untagged=True)),))
    assert validate_policy(untagged_only) == []


def test_immutable_rules_are_validated_too() -> None:
    problems = validate_immutable_rules((immutable(("ok",)), immutable(("[",))))
    assert [p.field for p in problems] == ["immutable.2.tags.include.0"]


def test_evaluate_refuses_an_invalid_policy_with_every_problem() -> None:
    policy = Policy((rule(Template.LATEST_PUSHED_N, 0), rule(Template.ALWAYS, 4)))
    with pytest.raises(PolicyError) as caught:
        evaluate(policy, [art("x", "v1")], now=NOW)
    assert [p.field for p in caught.value.problems] == ["rules.1.n", "rules.2.n"]


def test_evaluate_refuses_invalid_immutable_rules() -> None:
    with pytest.raises(PolicyError):
        evaluate(Policy(), [], now=NOW, immutable_rules=(immutable(("{",)),))


def test_evaluate_refuses_an_artifact_listed_twice() -> None:
    with pytest.raises(ValueError, match="appears twice"):
        evaluate(Policy(), [art("x", "v1"), art("x", "v2")], now=NOW)


def test_evaluate_refuses_a_tag_on_two_artifacts() -> None:
    with pytest.raises(ValueError, match="app:v1 appears twice"):
        evaluate(Policy(), [art("x", "v1"), art("y", "v1")], now=NOW)


def test_policies_built_with_lists_still_evaluate() -> None:
    # Forms may hand over lists: unhashable, so the compile cache is bypassed, not broken.
    policy = Policy([Rule(Template.ALWAYS, None, RepositorySelector(["**"]), TagSelector(["**"]))])  # type: ignore[arg-type]
    result = evaluate(policy, [art("x", "v1")], now=NOW)
    assert [d.kept for d in result.artifacts] == [True]


def test_an_empty_candidate_list_gives_an_empty_evaluation() -> None:
    result = evaluate(Policy((rule(Template.ALWAYS),)), iter(list[Artifact]()), now=NOW)
    assert result.artifacts == () and result.tags == ()
