"""Small builders for retention engine tests: readable artifacts, tags and rules."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from repositories.retention import (
    Artifact,
    ArtifactDecision,
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

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


_LABEL_OF: dict[str, str] = {}


def digest(label: str) -> str:
    """A real-looking sha256 digest derived from a readable label (remembered for `kept`)."""
    value = "sha256:" + hashlib.sha256(label.encode()).hexdigest()
    _LABEL_OF[value] = label
    return value


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def art(
    label: str,
    *tags: str | Tag,
    repo: str = "app",
    pushed: float = 10,
    pulled: float | None = None,
    parents: tuple[str, ...] = (),
    subject: str | None = None,
) -> Artifact:
    """An artifact labelled `label` (digest derived from it), pushed `pushed` days ago."""
    return Artifact(
        repository=repo,
        digest=digest(label),
        pushed_at=ago(pushed),
        pulled_at=None if pulled is None else ago(pulled),
        tags=tuple(t if isinstance(t, Tag) else Tag(t) for t in tags),
        parents=parents,
        subject=subject,
    )


def sig_tag(of: str) -> str:
    """The cosign signature tag for the artifact labelled `of`."""
    return "sha256-" + digest(of).split(":")[1] + ".sig"


def rule(
    template: Template,
    n: int | None = None,
    tags: tuple[str, ...] = ("**",),
    *,
    exclude: tuple[str, ...] = (),
    untagged: bool = False,
    repos: tuple[str, ...] = ("**",),
    repos_exclude: tuple[str, ...] = (),
) -> Rule:
    return Rule(
        template,
        n,
        RepositorySelector(repos, repos_exclude),
        TagSelector(tags, exclude, untagged),
    )


def immutable(tags: tuple[str, ...], repos: tuple[str, ...] = ("**",)) -> ImmutableRule:
    return ImmutableRule(RepositorySelector(repos), TagSelector(tags))


def run(
    *rules: Rule,
    artifacts: list[Artifact],
    allow_empty: bool = True,
    immutable_rules: tuple[ImmutableRule, ...] = (),
) -> Evaluation:
    """Evaluate; the floor is OFF by default here so template tests see raw rule effects."""
    return evaluate(
        Policy(tuple(rules), allow_empty_repository=allow_empty),
        artifacts,
        now=NOW,
        immutable_rules=immutable_rules,
    )


def kept(evaluation: Evaluation) -> set[str]:
    """Labels of the kept artifacts."""
    return {_LABEL_OF[d.digest] for d in evaluation.artifacts if d.kept}


def deleted(evaluation: Evaluation) -> set[str]:
    """Labels of the deleted artifacts."""
    return {_LABEL_OF[d.digest] for d in evaluation.artifacts if not d.kept}


def decision(evaluation: Evaluation, label: str, repo: str = "app") -> ArtifactDecision:
    """The decision about the artifact labelled `label` in `repo`."""
    wanted = digest(label)
    found = [d for d in evaluation.artifacts if d.digest == wanted and d.repository == repo]
    assert len(found) == 1, f"{label}: {len(found)} decisions"
    return found[0]
