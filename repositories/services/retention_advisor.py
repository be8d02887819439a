"""The advisor beside the retention preview: reads what the pure advisor
(`repositories.retention.advisor`) needs for one project -- each artifact's blobs
(layers, config, the manifest itself) and each repository's last push -- in two queries."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.utils import timezone

from ..models import Artifact, Project, Repository
from ..retention.advisor import Advice, Blob, Key, advise
from ..retention.decisions import Evaluation
from .retention import repository_path


def _config_blob(manifest: bytes | memoryview) -> Blob | None:
    try:
        config = json.loads(bytes(manifest)).get("config")
    except (ValueError, AttributeError, RecursionError):
        return None
    if isinstance(config, dict) and isinstance(config.get("digest"), str) and isinstance(config.get("size"), int):
        return (config["digest"], config["size"])
    return None


def project_blobs(project: Project) -> dict[Key, list[Blob]]:
    """Every artifact's blobs by (repository path, digest): its layers, its config and
    the manifest bytes themselves (named by the artifact's digest)."""
    out: dict[Key, list[Blob]] = {}
    paths: dict[str, str] = {}
    rows = Artifact.objects.filter(repository__project=project).values_list(
        "repository__name", "digest", "layers", "manifest"
    )
    for repository, digest, layers, manifest in rows.iterator(chunk_size=2000):
        path = paths.get(repository)
        if path is None:
            path = paths[repository] = repository_path(project, repository)
        blobs: list[Blob] = [(digest, len(manifest or b""))]
        for layer in layers if isinstance(layers, list) else ():
            if isinstance(layer, dict) and isinstance(layer.get("digest"), str):
                blobs.append((layer["digest"], int(layer.get("size") or 0)))
        config = _config_blob(manifest or b"")
        if config is not None:
            blobs.append(config)
        out[(path, digest)] = blobs
    return out


def advice_for(project: Project, evaluation: Evaluation, *, now: datetime | None = None) -> Advice:
    last_push = {
        repository_path(project, name): at
        for name, at in Repository.objects.filter(project=project).values_list("name", "last_push_at")
    }
    return advise(evaluation, project_blobs(project), last_push, now=now or timezone.now())


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
