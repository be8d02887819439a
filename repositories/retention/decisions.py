"""What the engine returns: a decision per artifact and per tag, each with its reason."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from repositories.retention import reasons
from repositories.retention.candidates import Artifact
from repositories.retention.policy import Rule


class ReasonCode(StrEnum):
    """Why an artifact is kept or deleted; the first four keep, the last two delete."""

    UNMATCHED_REPOSITORY = "unmatched_repository"  # kept: no rule matches this repository
    PROTECTED = "protected"  # kept: carries a tag protected by an immutable rule
    RETAINED = "retained"  # kept: a rule retains it
    WITH_OWNER = "with_owner"  # kept with its parent index / subject
    FLOOR = "floor"  # kept: the policy may not empty the repository
    NOT_RETAINED = "not_retained"  # deleted: retained by no rule
    OWNER_DELETED = "owner_deleted"  # deleted with its parent index / subject


# Decisions that rest on push times whatever the rule: nothing retained it (a push
# rule may have passed it over), or the floor kept the most recently pushed.
_PUSH_SENSITIVE = frozenset((ReasonCode.NOT_RETAINED, ReasonCode.FLOOR))


@dataclass(slots=True, eq=False)
class ArtifactDecision:
    """Whether one artifact is kept, and why. Treat as read-only.

    `rule`: the rule number (RETAINED) or immutable rule number (PROTECTED) that decided.
    `rule_spec`: that retention rule (RETAINED only).
    `tags`: the tags that decided: the rule's matching tags (empty when the rule selected
    the artifact as untagged) or the protected tag.
    `owner` / `relation`: for WITH_OWNER and OWNER_DELETED, the digest of the parent index
    ("parent") or subject ("subject") the artifact follows.
    `retained_by`: every rule number that retains it (the page can show them all).
    `protected_by`: the lowest immutable rule number protecting one of its tags.
    `push_based`: the deciding rule compares push times (RETAINED only).
    """

    artifact: Artifact
    kept: bool
    code: ReasonCode
    rule: int | None = None
    rule_spec: Rule | None = None
    tags: tuple[str, ...] = ()
    owner: str | None = None
    relation: str = ""
    retained_by: tuple[int, ...] = ()
    protected_by: int | None = None
    push_based: bool = False

    @property
    def repository(self) -> str:
        return self.artifact.repository

    @property
    def digest(self) -> str:
        return self.artifact.digest

    @property
    def estimated(self) -> bool:
        """The decision rests on a push time that is an estimate (the push was not seen):
        nothing retained it (a push rule may have passed it over), the floor kept the most
        recently pushed, or a rule comparing push times retained it."""
        code = self.code
        return not self.artifact.push_time_known and (
            code in _PUSH_SENSITIVE or (code is ReasonCode.RETAINED and self.push_based)
        )

    def reason_params(self) -> dict[str, Any]:
        """What `reasons.reason_text` needs besides the code, as plain JSON-able data (a
        run item stores it): the deciding rule (with its data when it retained), the first
        tags that decided and how many more, the owner, the estimate flag."""
        params: dict[str, Any] = {}
        if self.rule is not None:
            params["rule"] = self.rule
        if self.rule_spec is not None:
            params["rule_params"] = self.rule_spec.params()
        if self.code in (ReasonCode.RETAINED, ReasonCode.PROTECTED):
            params["tags"] = list(self.tags[: reasons.REASON_TAGS])
            if len(self.tags) > reasons.REASON_TAGS:
                params["more_tags"] = len(self.tags) - reasons.REASON_TAGS
        if self.owner:
            params["owner"], params["relation"] = self.owner, self.relation
        if self.estimated:
            params["estimated"] = True
        return params

    @property
    def reason(self) -> str:
        """The decision in words, in the active language (made when read, never cached),
        e.g. "kept by rule 2: 5 most recently pushed matching `release-*` (tag
        `release-1.4`)", with a note when a push time it rests on is an estimate."""
        return reasons.reason_text(self.code.value, self.reason_params())


@dataclass(slots=True, eq=False)
class TagDecision:
    """A tag goes with its artifact: kept or deleted with it, for the artifact's reason.
    `protected_by` is this tag's own immutable rule number, if any."""

    name: str
    decision: ArtifactDecision
    protected_by: int | None = None
    push_based: bool = False

    @property
    def repository(self) -> str:
        return self.decision.artifact.repository

    @property
    def digest(self) -> str:
        return self.decision.artifact.digest

    @property
    def kept(self) -> bool:
        return self.decision.kept

    @property
    def reason(self) -> str:
        return self.decision.reason


@dataclass(frozen=True, slots=True)
class RepositorySummary:
    """Counts for one repository, as the preview shows them."""

    repository: str
    matched: bool
    kept_artifacts: int
    deleted_artifacts: int
    kept_tags: int
    deleted_tags: int


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The whole outcome. `artifacts` is ordered by (repository, digest), `tags` by
    (repository, digest, tag name), so equal inputs give equal outputs whatever their order."""

    artifacts: tuple[ArtifactDecision, ...]
    tags: tuple[TagDecision, ...]

    @property
    def deleted(self) -> list[ArtifactDecision]:
        return [d for d in self.artifacts if not d.kept]

    @property
    def kept(self) -> list[ArtifactDecision]:
        return [d for d in self.artifacts if d.kept]

    def summaries(self) -> list[RepositorySummary]:
        """One summary per repository, ordered by repository path."""
        counts: dict[str, list[int]] = {}
        matched: dict[str, bool] = {}
        for d in self.artifacts:
            row = counts.setdefault(d.artifact.repository, [0, 0, 0, 0])
            n_tags = len(d.artifact.tags)
            if d.kept:
                row[0] += 1
                row[2] += n_tags
            else:
                row[1] += 1
                row[3] += n_tags
            matched[d.artifact.repository] = d.code is not ReasonCode.UNMATCHED_REPOSITORY
        return [RepositorySummary(repo, matched[repo], *row) for repo, row in sorted(counts.items())]
