"""The retention advisor (pure): what an evaluation would free and what it would delete
that is still in use.

- Bytes freed are dedup-aware: a blob (layer, config, or the manifest itself) counts
  once, and only when no kept artifact of the evaluation references it. The scope is
  the artifacts evaluated (one project); a blob another project shares is counted as
  freed here although the registry keeps it, so the figure is an upper bound. Wharf's
  service (`services.retention_advisor`) passes no blobs and takes the bytes freed from
  the storage-usage rows instead, registry-wide and exact.
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

from repositories.retention.candidates import Artifact, reference_subject
from repositories.retention.decisions import Evaluation
from repositories.retention.engine import gc_paused
from repositories.text import gettext

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
        """The warning in words, in the active language (the reader's in a request)."""
        days = max(0, (now - self.pulled_at).days)
        if days == 0:
            when = gettext("today")
        elif days == 1:
            when = gettext("yesterday")
        else:
            when = gettext("%(days)s days ago") % {"days": days}
        words = {
            "repository": self.repository,
            "name": ", ".join(self.tags) if self.tags else self.digest[:19],
            "when": when,
        }
        if self.deployed:
            return gettext(
                "%(repository)s (%(name)s) would be deleted but was pulled %(when)s, "
                "after the repository's last push: it may be deployed"
            ) % words
        return gettext("%(repository)s (%(name)s) would be deleted but was pulled %(when)s") % words


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
    with gc_paused():  # as the engine does: many small acyclic objects, see its note
        return _advise(evaluation, blobs, repository_last_push, now=now, warn_days=warn_days)


def _advise(
    evaluation: Evaluation,
    blobs: Mapping[Key, Iterable[Blob]],
    repository_last_push: Mapping[str, datetime | None],
    *,
    now: datetime,
    warn_days: int = 7,
) -> Advice:
    kept_blobs: set[str] = set()
    deleted_blobs: dict[str, int] = {}
    cutoffs = [(days, now - timedelta(days=days)) for days in WINDOWS]
    warn_cutoff = now - timedelta(days=warn_days)
    counts = dict.fromkeys(WINDOWS, 0)
    last_pull: datetime | None = None
    flagged: list[tuple[datetime, str, str, bool]] = []
    tags_of: dict[Key, tuple[str, ...]] = {}  # the flagged artifacts' tag names
    deleted = 0
    no_blobs: tuple[Blob, ...] = ()
    for decision in evaluation.artifacts:
        artifact = decision.artifact
        # Wharf passes no blobs (its bytes come from storage rows): skip the per-artifact lookup.
        found = blobs.get((artifact.repository, artifact.digest), no_blobs) if blobs else no_blobs
        if decision.kept:
            for digest, _ in found:
                kept_blobs.add(digest)
            continue
        deleted += 1
        for digest, size in found:
            deleted_blobs[digest] = size
        pulled = artifact.pulled_at
        if pulled is None:
            continue
        for days, cutoff in cutoffs:
            if pulled >= cutoff:
                counts[days] += 1
        if last_pull is None or pulled > last_pull:
            last_pull = pulled
        pushed = repository_last_push.get(artifact.repository)
        deployed = pushed is not None and pulled > pushed
        if deployed or pulled >= warn_cutoff:
            flagged.append((pulled, artifact.repository, artifact.digest, deployed))
            tags_of[(artifact.repository, artifact.digest)] = tuple(sorted(tag.name for tag in artifact.tags))
    freed = sum(size for digest, size in deleted_blobs.items() if digest not in kept_blobs)
    freed_count = sum(1 for digest in deleted_blobs if digest not in kept_blobs)

    flagged.sort(reverse=True)
    shown = flagged[:MAX_WARNINGS]
    # The tags come with the flagged artifacts (a tag is decided with its artifact), rather
    # than from a pass over every tag decision (100,000 at scale) for the few shown.
    warnings = tuple(
        PullWarning(repository, digest, tags_of[(repository, digest)], pulled, deployed)
        for pulled, repository, digest, deployed in shown
    )
    return Advice(
        bytes_freed=freed,
        blobs_freed=freed_count,
        deleted_artifacts=deleted,
        pulled_within=counts,
        last_pull=last_pull,
        warnings=warnings,
        more_warnings=max(0, len(flagged) - MAX_WARNINGS),
    )


def propose_keep_n(artifacts: Iterable[Artifact], *, now: datetime, days: int = 90) -> int | None:
    """The smallest N such that "keep the N most recently pushed (any tag)" keeps every
    tagged artifact pulled within `days`, in every repository; None when none was.

    Ranks as the engine's `latest_pushed_n` on `**` does: push time is the latest of the
    artifact's and its tags', ties to the lower digest. Untagged artifacts are not ranked
    (a rule on `**` does not select them)."""
    cutoff = now - timedelta(days=days)
    by_repository: dict[str, list[tuple[datetime, str, bool]]] = {}
    for artifact in artifacts:
        ordinary = [t for t in artifact.tags if reference_subject(t.name) is None]
        if not ordinary:
            continue
        pushed = max([artifact.pushed_at, *(t.pushed_at for t in ordinary if t.pushed_at is not None)])
        pulls = [p for p in (artifact.pulled_at, *(t.pulled_at for t in ordinary)) if p is not None]
        recent = bool(pulls) and max(pulls) >= cutoff
        by_repository.setdefault(artifact.repository, []).append((pushed, artifact.digest, recent))
    needed = 0
    for rows in by_repository.values():
        rows.sort(key=lambda row: (-row[0].timestamp(), row[1]))
        for rank, (_, _, recent) in enumerate(rows, start=1):
            if recent:
                needed = max(needed, rank)
    return needed or None
