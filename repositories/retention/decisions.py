"""What the engine returns: a decision per artifact and per tag, each with its reason."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from repositories.retention.candidates import Artifact

# How many tag names a reason spells out before "and N more".
_REASON_TAGS = 3
PUSH_TIME_ESTIMATED = (
    "push time unknown (found by a sync, the push was not seen): "
    "the image's created time, or when a sync first saw it, stood in"
)


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
    `rule_text`: that retention rule in words (RETAINED only).
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
    rule_text: str = ""
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
    def reason(self) -> str:
        """The decision in words, e.g. "kept by rule 2: 5 most recently pushed matching
        `release-*` (tag `release-1.4`)", with a note when a push time it rests on is
        an estimate."""
        reason = self._reason()
        code = self.code
        estimated = not self.artifact.push_time_known
        if estimated and (code in _PUSH_SENSITIVE or (code is ReasonCode.RETAINED and self.push_based)):
            reason += f"; {PUSH_TIME_ESTIMATED}"
        return reason

    def _reason(self) -> str:
        code = self.code
        if code is ReasonCode.RETAINED:
            return f"kept by rule {self.rule}: {self.rule_text} ({_which_tags(self.tags)})"
        if code is ReasonCode.PROTECTED:
            return f"protected: immutable rule {self.rule} ({_which_tags(self.tags)})"
        if code is ReasonCode.NOT_RETAINED:
            return "deleted: retained by no rule"
        if code is ReasonCode.WITH_OWNER:
            return f"kept with its {self.relation} {self.owner}"
        if code is ReasonCode.OWNER_DELETED:
            return f"deleted with its {self.relation} {self.owner}"
        if code is ReasonCode.FLOOR:
            return "kept: the policy may not empty a repository (most recently pushed artifact)"
        return "kept: no rule matches this repository"


def _which_tags(tags: tuple[str, ...]) -> str:
    if not tags:
        return "untagged"
    shown = ", ".join(f"`{t}`" for t in tags[:_REASON_TAGS])
    more = f" and {len(tags) - _REASON_TAGS} more" if len(tags) > _REASON_TAGS else ""
    return f"tag{'s' if len(tags) > 1 else ''} {shown}{more}"


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
