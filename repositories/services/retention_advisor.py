"""The advisor beside the retention preview: the pure advisor
(`repositories.retention.advisor`) on the evaluation for pulls and warnings, each
repository's last push (one query), and the storage-usage service for the bytes freed
(one query, on a second connection while the rest goes on: `start_advice`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from django.utils import timezone

from ..models import Project, Repository
from ..retention.advisor import Advice, advise
from ..retention.decisions import Evaluation
from .overlap import Beside
from .retention import repository_path
from .usage import would_free


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
    freed = Beside(lambda: would_free(deleted, with_children=False))
    last_push = {
        repository_path(project, name): at
        for name, at in Repository.objects.filter(project=project).values_list("name", "last_push_at")
    }
    advice = advise(evaluation, {}, last_push, now=now or timezone.now())

    def finish() -> Advice:
        found = freed.result()
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
