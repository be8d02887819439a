"""The advisor beside the retention preview: the pure advisor
(`repositories.retention.advisor`) on the evaluation for pulls and warnings, each
repository's last push (one query), and the storage-usage service for the bytes freed
(one query)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from django.utils import timezone

from ..models import Project, Repository
from ..retention.advisor import Advice, advise
from ..retention.decisions import Evaluation
from .retention import repository_path
from .usage import would_free


def advice_for(project: Project, evaluation: Evaluation, *, now: datetime | None = None) -> Advice:
    """The advice beside a preview. Pulls and warnings come from the evaluation itself; the
    bytes freed are `usage.would_free` of every artifact it deletes: dedup-aware across the
    whole registry (a layer another project still uses is not counted), in one statement
    over the stored blob rows rather than by parsing each manifest."""
    last_push = {
        repository_path(project, name): at
        for name, at in Repository.objects.filter(project=project).values_list("name", "last_push_at")
    }
    advice = advise(evaluation, {}, last_push, now=now or timezone.now())
    deleted = [d.artifact.ref for d in evaluation.artifacts if not d.kept and d.artifact.ref is not None]
    freed = would_free(deleted, with_children=False)
    return replace(advice, bytes_freed=freed.size, blobs_freed=freed.blob_count)


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
