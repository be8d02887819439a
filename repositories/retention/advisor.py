"""The retention advisor (pure): what an evaluation would free and what it would delete
that is still in use.

- Bytes freed are dedup-aware: a blob (layer, config, or the manifest itself) counts
  once, and only when no kept artifact of the evaluation references it. The scope is
  the artifacts evaluated (one project); a blob another project shares is counted as
  freed here although the registry keeps it, so the figure is an upper bound.
- Recent pulls: how many deleted artifacts were pulled in the last 7, 30 and 90 days
  (by tag or digest: `Artifact.pulled_at`), and the most recent such pull.
- Warnings: each deleted artifact pulled within `warn_days` (7), and each deleted
  artifact that looks *deployed*: its last pull is newer than its repository's last push
  (someone still pulls it although newer images exist).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from repositories.retention.decisions import Evaluation

WINDOWS = (7, 30, 90)
MAX_WARNINGS = 50

Blob = tuple[str, int]  # (digest, size in bytes)
Key = tuple[str, str]  # (repository path, artifact digest)


@dataclass(frozen=True, slots=True)
class PullWarning:
    repository: str
    digest: str
    tags: tuple[str, ...]
    pulled_at: datetime
    deployed: bool  # last pull newer than the repository's last push

    def describe(self, now: datetime) -> str:
        days = max(0, (now - self.pulled_at).days)
        when = "today" if days == 0 else "yesterday" if days == 1 else f"{days} days ago"
        name = ", ".join(self.tags) if self.tags else self.digest[:19]
        text = f"{self.repository} ({name}) would be deleted but was pulled {when}"
        return text + (", after the repository's last push: it may be deployed" if self.deployed else "")


@dataclass(frozen=True, slots=True)
class Advice:
    bytes_freed: int
    blobs_freed: int
    deleted_artifacts: int
    pulled_within: dict[int, int]  # days -> deleted artifacts pulled within them
    last_pull: datetime | None  # the most recent pull of any deleted artifact
    warnings: tuple[PullWarning, ...] = field(default=())
    more_warnings: int = 0


def advise(
    evaluation: Evaluation,
    blobs: Mapping[Key, Iterable[Blob]],
    repository_last_push: Mapping[str, datetime | None],
    *,
    now: datetime,
    warn_days: int = 7,
) -> Advice:
    """The advice for `evaluation`; `blobs` gives each artifact's blobs by (repository
    path, digest) and `repository_last_push` each repository path's last push."""
    kept_blobs: set[str] = set()
    deleted_blobs: dict[str, int] = {}
    for decision in evaluation.artifacts:
        key = (decision.repository, decision.digest)
        if decision.kept:
            kept_blobs.update(digest for digest, _ in blobs.get(key, ()))
        else:
            for digest, size in blobs.get(key, ()):
                deleted_blobs[digest] = size
    freed = {d: s for d, s in deleted_blobs.items() if d not in kept_blobs}

    tags_of: dict[Key, list[str]] = {}
    for tag in evaluation.tags:
        if not tag.kept:
            tags_of.setdefault((tag.repository, tag.digest), []).append(tag.name)
    counts = dict.fromkeys(WINDOWS, 0)
    last_pull: datetime | None = None
    warnings: list[PullWarning] = []
    deleted = 0
    for decision in evaluation.artifacts:
        if decision.kept:
            continue
        deleted += 1
        pulled = decision.artifact.pulled_at
        if pulled is None:
            continue
        for days in WINDOWS:
            if pulled >= now - timedelta(days=days):
                counts[days] += 1
        if last_pull is None or pulled > last_pull:
            last_pull = pulled
        pushed = repository_last_push.get(decision.repository)
        deployed = pushed is not None and pulled > pushed
        if deployed or pulled >= now - timedelta(days=warn_days):
            key = (decision.repository, decision.digest)
            warnings.append(PullWarning(decision.repository, decision.digest, tuple(sorted(tags_of.get(key, ()))), pulled, deployed))
    warnings.sort(key=lambda w: (w.pulled_at, w.repository, w.digest), reverse=True)
    return Advice(
        bytes_freed=sum(freed.values()),
        blobs_freed=len(freed),
        deleted_artifacts=deleted,
        pulled_within=counts,
        last_pull=last_pull,
        warnings=tuple(warnings[:MAX_WARNINGS]),
        more_warnings=max(0, len(warnings) - MAX_WARNINGS),
    )
