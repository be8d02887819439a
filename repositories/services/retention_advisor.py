"""The advisor beside the retention preview: the pure advisor
(`repositories.retention.advisor`) on the evaluation for pulls and warnings, each
repository's last push (one query), and the storage-usage service for the bytes freed
(one query, on a second connection while the rest goes on: `start_advice`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any

from django.utils import timezone

from ..models import Project, Repository
from ..retention.advisor import Advice, advise
from ..retention.decisions import Evaluation
from ..retention.engine import gc_paused
from .overlap import Beside, may_overlap
from .retention import evaluate_policy, repository_path, valid_policy
from .usage import Freed, ProjectFreeing, would_free


def advice_for(project: Project, evaluation: Evaluation, *, now: datetime | None = None) -> Advice:
    """The advice beside a preview. Pulls and warnings come from the evaluation itself; the
    bytes freed are `usage.would_free` of every artifact it deletes: dedup-aware across the
    whole registry (a layer another project still uses is not counted), in one statement
    over the stored blob rows rather than by parsing each manifest."""
    return start_advice(project, evaluation, now=now)()


def start_advice(
    project: Project, evaluation: Evaluation, *, now: datetime | None = None
) -> Callable[[], Advice]:
    """`advice_for`, begun: the bytes-freed statement (most of the advice's time, all of it
    in the database) starts now on a second connection (`overlap.Beside`) and the pure
    advisor runs meanwhile; the function returned waits for both. A page renders its
    preview rows before calling it, so the database sums while this process renders."""
    deleted = [d.artifact.ref for d in evaluation.artifacts if not d.kept and d.artifact.ref is not None]
    return _advice(project, evaluation, Beside(lambda: would_free(deleted, with_children=False)).result, now)


class PendingAdvice:
    """The advice for a preview not evaluated yet. `start()` begins the policy-free part of
    the bytes-freed sum (`usage.ProjectFreeing`, on a second connection): the database
    groups the project's blob rows (one core, 0.5 s at 100,000 tags) while this process
    reads the candidates and evaluates. `advised_preview` starts it before the candidates
    are read: the sum and its second step are the longer path, and on one core it slows
    the reading by less than it gains (measured: 0.98-1.01 -> 0.89-0.96 s for the preview
    with advice; with two parallel workers it had cost the reading a quarter of a second,
    so it used to wait until the candidates were read). `after(evaluation)` finishes it;
    `cancel()` if the evaluation fails."""

    def __init__(self, project: Project) -> None:
        self._project = project
        self._freeing: ProjectFreeing | None = None
        self._done = False

    def start(self) -> None:
        # Only where it runs beside the evaluation: inline, its two steps cost more than
        # `would_free` alone.
        if self._freeing is None and not self._done and may_overlap():
            self._freeing = ProjectFreeing(self._project)

    def cancel(self) -> None:
        self._done = True
        if self._freeing is not None:
            self._freeing.cancel()
            self._freeing = None

    def after(self, evaluation: Evaluation, *, now: datetime | None = None) -> Callable[[], Advice]:
        """`start_advice` for `evaluation` (of every artifact of the project), using the
        started sum: the kept artifacts go to it when they are fewer than the deleted
        (the usual retention policy, and what its second step costs least for); otherwise,
        or if it was never started, `would_free` of the deleted, as `start_advice` does."""
        if self._done:
            raise RuntimeError("PendingAdvice.after() called twice, or after cancel()")
        self._done = True
        freeing, self._freeing = self._freeing, None
        kept: list[int] = []
        deleted: list[int] = []
        try:
            for decision in evaluation.artifacts:
                ref = decision.artifact.ref
                if ref is not None:
                    (kept if decision.kept else deleted).append(ref)
        except BaseException:
            if freeing is not None:
                freeing.cancel()  # its thread would otherwise wait for a kept set
            raise
        freed: Callable[[], Freed]
        if freeing is not None and len(kept) <= len(deleted):
            freeing.send(kept, len(deleted))
            freed = freeing.result
        else:
            if freeing is not None:
                freeing.cancel()
            freed = Beside(lambda: would_free(deleted, with_children=False)).result
        return _advice(self._project, evaluation, freed, now)


@contextmanager
def advised_preview(
    project: Project, data: dict[str, Any], *, advice: bool = True
) -> Iterator[tuple[Evaluation, Callable[[], Advice] | None]]:
    """`preview(project, data)` with its advice begun (`PendingAdvice`; None without
    `advice`), as the preview page and the API serve them: `ValidationError` before any work
    if the policy is invalid, and the cyclic collector paused until the block ends. Delete
    the evaluation inside the block: its few hundred thousand objects (no cycles) are then
    freed by reference counting, where a collection resuming over them took a quarter of a
    second at 100,000 tags (measured); deleted before the advice's function is called, it is
    freed while the database finishes the sum. Call that function once the rest is made."""
    policy = valid_policy(data)
    with gc_paused():
        pending = PendingAdvice(project) if advice else None
        try:
            if pending is not None:
                pending.start()
            evaluation = evaluate_policy(project, policy)
        except BaseException:
            if pending is not None:
                pending.cancel()
            raise
        finish = pending.after(evaluation) if pending is not None else None
        # Handed over, not kept: while this generator is suspended its frame must not hold the
        # evaluation, or the caller's `del` would free nothing until the block ends, after the
        # advice. Freed at the caller's `del` (0.1 s at 100,000 tags), it is freed while the
        # database finishes the sum.
        handed = [evaluation]
        del evaluation
        yield handed.pop(), finish


def _advice(
    project: Project, evaluation: Evaluation, freed: Callable[[], Freed], now: datetime | None
) -> Callable[[], Advice]:
    """The pure advisor now, and a function that adds the bytes freed when `freed` answers."""
    last_push = {
        repository_path(project, name): at
        for name, at in Repository.objects.filter(project=project).values_list("name", "last_push_at")
    }
    advice = advise(evaluation, {}, last_push, now=now or timezone.now())

    def finish() -> Advice:
        found = freed()
        return replace(advice, bytes_freed=found.size, blobs_freed=found.blob_count)

    return finish


def advice_body(advice: Advice, now: datetime | None = None) -> dict[str, Any]:
    """The advice as the API answers it and the template reads it."""
    now = now or timezone.now()
    return {
        "bytes_freed": advice.bytes_freed,
        "blobs_freed": advice.blobs_freed,
        "deleted_artifacts": advice.deleted_artifacts,
        "pulled_within_days": {str(days): count for days, count in advice.pulled_within.items()},
        "last_pull_at": advice.last_pull,
        "warnings": [
            {
                "repository": w.repository,
                "digest": w.digest,
                "tags": list(w.tags),
                "pulled_at": w.pulled_at,
                "deployed": w.deployed,
                "message": w.describe(now),
            }
            for w in advice.warnings
        ],
        "more_warnings": advice.more_warnings,
    }
