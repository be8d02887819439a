"""Deleting tags and artifacts, in the registry first and then in Wharf's rows.

The caller checks `Perm.DELETE_ARTIFACT` (through `repositories.access`). The
registry is changed first: if it refuses or is down, nothing in Wharf changes and
`RegistryActionFailed` says why. Deleting one tag never takes the other tags of
the same digest with it (the client's one-tag delete).
"""

from __future__ import annotations

from django.db import transaction

from audit.context import Actor
from audit.models import AuditAction
from audit.services import record

from ..models import Artifact, Tag
from ..registry import RegistryError
from .content import refresh_repository_counts
from .events import expect_tombstone
from .registry import registry_client


class RegistryActionFailed(Exception):
    """The registry did not carry out a change; Wharf's rows are unchanged."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient


def delete_tag(tag: Tag, *, actor: Actor) -> None:
    """Remove one tag from the registry and from Wharf; its artifact and other tags stay."""
    repository = tag.repository
    expect_tombstone(repository.name, tag.name)
    try:
        registry_client().delete_tag(repository.name, tag.name)
    except RegistryError as exc:
        if exc.status != 404:
            raise RegistryActionFailed(f"The registry did not delete {repository.name}:{tag.name}: {exc}",
                                       transient=exc.transient) from exc
    with transaction.atomic():
        Tag.objects.filter(pk=tag.pk).delete()
        refresh_repository_counts(repository)
        record(
            AuditAction.TAG_DELETE,
            actor=actor,
            project=repository.project,
            target_type="tag",
            target_name=f"{repository.name}:{tag.name}",
            details={"digest": tag.artifact.digest},
        )


def delete_artifact(artifact: Artifact, *, actor: Actor) -> None:
    """Remove a manifest by digest, with every tag on it (and an index's children)."""
    repository = artifact.repository
    tags = list(artifact.tags.values_list("name", flat=True))
    try:
        registry_client().delete_manifest(repository.name, artifact.digest, missing_ok=True)
    except RegistryError as exc:
        raise RegistryActionFailed(
            f"The registry did not delete {repository.name}@{artifact.digest}: {exc}", transient=exc.transient
        ) from exc
    with transaction.atomic():
        Artifact.objects.filter(pk=artifact.pk).delete()
        refresh_repository_counts(repository)
        record(
            AuditAction.ARTIFACT_DELETE,
            actor=actor,
            project=repository.project,
            target_type="artifact",
            target_name=f"{repository.name}@{artifact.digest}",
            details={"tags": tags, "media_type": artifact.media_type, "size": artifact.size},
        )
