"""Wharf's rows for content it copied into its own registry (a promotion, a pull
replication): what a push notification would create, written at once so the
pages show the copy without waiting for the registry's notification (which, when
it comes, finds the rows there and changes nothing but the audit trail)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from audit.context import Actor
from repositories.models import Artifact, PushedAtSource, Repository, Tag
from repositories.services.content import ensure_repository, refresh_repository_counts
from repositories.tasks import enqueue_details


@dataclass(frozen=True)
class Placed:
    """One manifest now in the registry: under `tag`, or by digest only (tag None)."""

    digest: str
    tag: str | None = None
    media_type: str = ""
    size: int = 0


def place(repository_name: str, placed: list[Placed], *, actor: Actor, now: datetime) -> Repository:
    """Create or move the rows; call inside the caller's transaction. The details
    (manifest, config, platforms, blobs) are read by the same task a push uses, on commit."""
    repository = ensure_repository(repository_name, actor=actor)
    bare: list[int] = []
    for item in placed:
        row, created = Artifact.objects.get_or_create(
            repository=repository,
            digest=item.digest,
            defaults={
                "media_type": item.media_type,
                "size": item.size,
                "pushed_at": now,
                "pushed_at_source": PushedAtSource.PUSH,
            },
        )
        if created or not row.details_synced:
            bare.append(row.pk)
        if item.tag is not None:
            Tag.objects.update_or_create(
                repository=repository,
                name=item.tag,
                defaults={"artifact": row, "pushed_at": now, "pushed_at_source": PushedAtSource.PUSH},
            )
    refresh_repository_counts(repository)
    enqueue_details(sorted(set(bare)))
    return repository
