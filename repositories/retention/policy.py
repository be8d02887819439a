"""Retention policies as plain data: rules, selectors, templates, and their validation."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from repositories.globs import PatternKind, validate_pattern
from repositories.retention.reasons import rule_text
from repositories.text import gettext

MAX_RULES = 15
MAX_PATTERNS = 20
# Caps keep forms honest (a typo of 100000 days is rejected) while allowing any sane policy.
MAX_COUNT = 10_000
MAX_DAYS = 3_650


class Template(StrEnum):
    """What a rule retains among the artifacts it selects in one repository."""

    LATEST_PUSHED_N = "latest_pushed_n"
    LATEST_PULLED_N = "latest_pulled_n"
    PUSHED_WITHIN_DAYS = "pushed_within_days"
    PULLED_WITHIN_DAYS = "pulled_within_days"
    ALWAYS = "always"

    @property
    def takes_count(self) -> bool:
        return self in (Template.LATEST_PUSHED_N, Template.LATEST_PULLED_N)

    @property
    def takes_days(self) -> bool:
        return self in (Template.PUSHED_WITHIN_DAYS, Template.PULLED_WITHIN_DAYS)


@dataclass(frozen=True, slots=True)
class RepositorySelector:
    """Repositories a rule applies to: paths inside the project (`app`, `team-a/api`)
    matching an include pattern and no exclude pattern."""

    include: tuple[str, ...] = ("**",)
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TagSelector:
    """Artifacts a rule looks at: those with a tag matching an include pattern and no
    exclude pattern, plus untagged artifacts when `untagged` is set."""

    include: tuple[str, ...] = ("**",)
    exclude: tuple[str, ...] = ()
    untagged: bool = False


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """Artifacts a rule looks at, by their labels (names): those carrying every label in
    `with_all` and none in `without_any`. Empty (the default): labels do not matter."""

    with_all: tuple[str, ...] = ()
    without_any: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.with_all or self.without_any)


@dataclass(frozen=True, slots=True)
class Rule:
    """One retention rule. `n` is the count or the number of days; None for `always`."""

    template: Template
    n: int | None = None
    repositories: RepositorySelector = field(default_factory=RepositorySelector)
    tags: TagSelector = field(default_factory=TagSelector)
    labels: LabelSelector = field(default_factory=LabelSelector)

    def params(self) -> dict[str, Any]:
        """The rule as plain JSON-able data, what `reasons.rule_text` puts in words
        (labels only when the rule has them)."""
        data: dict[str, Any] = {
            "template": self.template.value,
            "n": self.n,
            "include": list(self.tags.include),
            "exclude": list(self.tags.exclude),
            "untagged": self.tags.untagged,
        }
        if self.labels.with_all:
            data["with_labels"] = list(self.labels.with_all)
        if self.labels.without_any:
            data["without_labels"] = list(self.labels.without_any)
        return data

    def describe(self) -> str:
        """The rule in words, in the active language, as used in decision reasons:
        "5 most recently pushed matching `release-*`"."""
        return rule_text(self.params())


@dataclass(frozen=True, slots=True)
class Policy:
    """An ordered list of rules (numbered from 1 in reasons) and the empty-repository switch."""

    rules: tuple[Rule, ...] = ()
    allow_empty_repository: bool = False


@dataclass(frozen=True, slots=True)
class ImmutableRule:
    """Tags protected from deletion: in repositories matching `repositories`, tags matching
    `tags` (its `untagged` flag is ignored: only tags can be protected)."""

    repositories: RepositorySelector = field(default_factory=RepositorySelector)
    tags: TagSelector = field(default_factory=TagSelector)


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation error: `field` is a dotted path ("rules.2.tags.include.0", rules
    numbered from 1 as on the page) and `message` is meant for the form."""

    field: str
    message: str


class PolicyError(ValueError):
    """Raised by the engine for an invalid policy; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))


def validate_count(template: Template, n: int | None) -> str | None:
    """A message if `n` does not fit `template`, else None."""
    if template is Template.ALWAYS:
        return None if n is None else gettext("`always` takes no number; leave it empty.")
    if n is None:
        return gettext("Enter a number.")
    if isinstance(n, bool) or not isinstance(n, int):
        return gettext("Enter a whole number.")
    if n < 1:
        return gettext("Enter a number of at least 1.")
    cap = MAX_COUNT if template.takes_count else MAX_DAYS
    if n > cap:
        message = (
            gettext("Enter at most %(cap)s artifacts.")
            if template.takes_count
            else gettext("Enter at most %(cap)s days.")
        )
        return message % {"cap": f"{cap:,}"}
    return None


def validate_selector_patterns(
    prefix: str, include: tuple[str, ...], exclude: tuple[str, ...], kind: PatternKind
) -> list[Problem]:
    """Problems with one selector's include and exclude lists."""
    problems: list[Problem] = []
    for name, patterns in (("include", include), ("exclude", exclude)):
        if len(patterns) > MAX_PATTERNS:
            problems.append(
                Problem(f"{prefix}.{name}", gettext("Use at most %(max)s patterns.") % {"max": MAX_PATTERNS})
            )
        for index, pattern in enumerate(patterns):
            message = validate_pattern(pattern, kind)
            if message:
                problems.append(Problem(f"{prefix}.{name}.{index}", message))
    return problems


MAX_LABEL_NAME = 128


def validate_labels(labels: LabelSelector, prefix: str) -> list[Problem]:
    """Problems with a rule's label selector: names are the labels' names, as typed."""
    problems: list[Problem] = []
    for name, values in (("with", labels.with_all), ("without", labels.without_any)):
        if len(values) > MAX_PATTERNS:
            problems.append(
                Problem(f"{prefix}.{name}", gettext("Use at most %(max)s labels.") % {"max": MAX_PATTERNS})
            )
        for index, value in enumerate(values):
            if not isinstance(value, str) or not value.strip():
                problems.append(Problem(f"{prefix}.{name}.{index}", gettext("Enter a label name.")))
            elif len(value) > MAX_LABEL_NAME or "," in value:
                problems.append(Problem(f"{prefix}.{name}.{index}", gettext("Not a label name.")))
    both = sorted(set(labels.with_all) & set(labels.without_any))
    if both:
        problems.append(
            Problem(
                f"{prefix}.without",
                gettext("A label cannot be both required and excluded: %(labels)s.")
                % {"labels": ", ".join(both)},
            )
        )
    return problems


def validate_rule(rule: Rule, prefix: str = "rule") -> list[Problem]:
    """Problems with one rule (empty list when it is valid)."""
    problems: list[Problem] = []
    if not isinstance(rule.template, Template):
        return [Problem(f"{prefix}.template", gettext("Choose a template."))]
    message = validate_count(rule.template, rule.n)
    if message:
        problems.append(Problem(f"{prefix}.n", message))
    if not rule.repositories.include:
        problems.append(
            Problem(
                f"{prefix}.repositories.include",
                gettext("Add at least one repository pattern (`**` for all)."),
            )
        )
    problems += validate_selector_patterns(
        f"{prefix}.repositories", rule.repositories.include, rule.repositories.exclude, PatternKind.REPOSITORY
    )
    if not rule.tags.include and not rule.tags.untagged:
        problems.append(
            Problem(
                f"{prefix}.tags.include",
                gettext("Add at least one tag pattern (`**` for all) or select untagged."),
            )
        )
    problems += validate_selector_patterns(
        f"{prefix}.tags", rule.tags.include, rule.tags.exclude, PatternKind.TAG
    )
    problems += validate_labels(rule.labels, f"{prefix}.labels")
    return problems


def validate_policy(policy: Policy) -> list[Problem]:
    """Every problem with `policy` (empty list when it is valid)."""
    problems: list[Problem] = []
    if len(policy.rules) > MAX_RULES:
        problems.append(
            Problem(
                "rules",
                gettext("A policy has at most %(max)s rules; it has %(count)s.")
                % {"max": MAX_RULES, "count": len(policy.rules)},
            )
        )
    for number, rule in enumerate(policy.rules, start=1):
        problems += validate_rule(rule, f"rules.{number}")
    return problems


def validate_immutable_rules(rules: tuple[ImmutableRule, ...]) -> list[Problem]:
    """Problems with a project's immutable tag rules (numbered from 1)."""
    problems: list[Problem] = []
    for number, rule in enumerate(rules, start=1):
        prefix = f"immutable.{number}"
        if not rule.repositories.include:
            problems.append(
                Problem(f"{prefix}.repositories.include", gettext("Add at least one repository pattern."))
            )
        if not rule.tags.include:
            problems.append(Problem(f"{prefix}.tags.include", gettext("Add at least one tag pattern.")))
        problems += validate_selector_patterns(
            f"{prefix}.repositories",
            rule.repositories.include,
            rule.repositories.exclude,
            PatternKind.REPOSITORY,
        )
        problems += validate_selector_patterns(
            f"{prefix}.tags", rule.tags.include, rule.tags.exclude, PatternKind.TAG
        )
    return problems
