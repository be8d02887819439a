"""Deleting tags and artifacts, in the registry first and then in Wharf's rows.

The caller checks `Perm.DELETE_ARTIFACT` (through `repositories.access`). The
registry is changed first: if it refuses or is down, nothing in Wharf changes and
`RegistryActionFailed` says why. Deleting one tag never takes the other tags of
the same digest with it (the client's one-tag delete).

Protected tags (immutable rules) are refused with `ValidationError`. Before the
registry is touched, what the delete removes goes into the recycle bin
(`services.recycle`), so it can be restored; a failed delete drops that entry again.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.context import Actor
from audit.models import AuditAction
from audit.services import record

from ..models import Artifact, RecycleBinEntry, Tag
from ..registry import RegistryError
from . import recycle
from .content import refresh_repository_counts
from .errors import RegistryActionFailed
from .events import expect_tombstone
from .registry import registry_client
from .retention import refuse_if_protected

__all__ = ["RegistryActionFailed", "ValidationError", "delete_artifact", "delete_tag"]

UNANSWERED = gettext_lazy(
    "The registry gave no answer, so it may have deleted it: the recycle-bin entry is kept,"
    " and restoring it is safe either way."
)


def _failed(entry: RecycleBinEntry, what: str, exc: RegistryError) -> RegistryActionFailed:
    """The error for a failed DELETE. The entry goes only when the registry answered: a request
    that got no answer (connection dropped, registry stopped) may have been carried out."""
    message = _("The registry did not delete %(what)s: %(exc)s") % {"what": what, "exc": exc}
    if exc.may_have_happened:
        message += " " + str(UNANSWERED)
    else:
        recycle.discard(entry)
    return RegistryActionFailed(message, transient=exc.transient)


def _keep(artifact: Artifact, tags: list[Tag], kind: str, actor: Actor, what: str) -> RecycleBinEntry:
    try:
        return recycle.keep(
            artifact, tags=tags, kind=kind, source=RecycleBinEntry.Source.MANUAL, actor=actor
        )
    except RegistryError as exc:
        raise RegistryActionFailed(
            _("The registry did not delete %(what)s: %(exc)s") % {"what": what, "exc": exc}, transient=exc.transient
        ) from exc


def delete_tag(tag: Tag, *, actor: Actor) -> None:
    """Remove one tag from the registry and from Wharf; its artifact and other tags stay."""
    repository = tag.repository
    refuse_if_protected(repository, [tag.name])
    entry = _keep(tag.artifact, [tag], RecycleBinEntry.Kind.TAG, actor, f"{repository.name}:{tag.name}")
    expect_tombstone(repository.name, tag.name)
    try:
        registry_client().delete_tag(repository.name, tag.name)
    except RegistryError as exc:
        if exc.status != 404:
            raise _failed(entry, f"{repository.name}:{tag.name}", exc) from exc
    with transaction.atomic():
        Tag.objects.filter(pk=tag.pk).delete()
        refresh_repository_counts(repository)
        record(
            AuditAction.TAG_DELETE,
            actor=actor,
            project=repository.project,
            target_type="tag",
            target_name=f"{repository.name}:{tag.name}",
            details={"digest": tag.artifact.digest, "recycle_bin_entry": entry.pk},
        )


def delete_artifact(artifact: Artifact, *, actor: Actor) -> None:
    """Remove a manifest by digest, with every tag on it (and an index's children)."""
    repository = artifact.repository
    tag_rows = list(artifact.tags.all())
    tags = [tag.name for tag in tag_rows]
    refuse_if_protected(repository, tags)
    entry = _keep(
        artifact, tag_rows, RecycleBinEntry.Kind.ARTIFACT, actor, f"{repository.name}@{artifact.digest}"
    )
    try:
        registry_client().delete_manifest(repository.name, artifact.digest, missing_ok=True)
    except RegistryError as exc:
        raise _failed(entry, f"{repository.name}@{artifact.digest}", exc) from exc
    with transaction.atomic():
        Artifact.objects.filter(pk=artifact.pk).delete()
        refresh_repository_counts(repository)
        record(
            AuditAction.ARTIFACT_DELETE,
            actor=actor,
            project=repository.project,
            target_type="artifact",
            target_name=f"{repository.name}@{artifact.digest}",
            details={
                "tags": tags,
                "media_type": artifact.media_type,
                "size": artifact.size,
                "recycle_bin_entry": entry.pk,
            },
        )
