"""The recycle bin: what Wharf deleted (by retention or by hand), kept so it can be put back.

A deletion first stores the manifest bytes, its tags and an index's children's bytes
(`keep`), and only then deletes in the registry; if that delete fails, the caller drops
the entry (`discard`). `restore` puts everything back, after checking that the
registry still has every blob (its garbage collection removes unreferenced blobs, and
then the manifest cannot come back). Entries expire after `WHARF_RECYCLE_BIN_DAYS`
(`purge_expired`, hourly).

A real garbage collection marks the entries whose blobs it removed (`mark_collected`,
in the GC's own transaction, so its audit event counts them): the page and the API show
them as no longer restorable, and `restore` refuses them without asking the registry.
"""

from __future__ import annotations

import base64
import logging
from collections import Counter
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, ngettext

from audit.context import Actor
from audit.models import AuditAction
from audit.services import record

from ..models import Artifact, Project, PushedAtSource, RecycleBinEntry, RetentionRun, Tag
from ..registry import RegistryClient, RegistryError
from ..registry.manifests import Manifest, parse_manifest
from .content import ensure_repository, fill_artifact_details, refresh_repository_counts
from .errors import RegistryActionFailed
from .registry import registry_client

log = logging.getLogger(__name__)

GC_MESSAGE = gettext_lazy("The registry's garbage collection has removed its layers; it cannot be restored.")


def _manifest_of(client: RegistryClient, repository: str, digest: str, stored: Any, media_type: str) -> Manifest:
    """The manifest from Wharf's stored bytes, or from the registry when none are stored."""
    body = bytes(stored or b"")
    if body:
        return parse_manifest(body, digest=digest, media_type=media_type or None)
    return client.get_manifest(repository, digest)


def keep(
    artifact: Artifact,
    *,
    tags: list[Tag],
    kind: str,
    source: str,
    actor: Actor,
    run: RetentionRun | None = None,
    client: RegistryClient | None = None,
) -> RecycleBinEntry:
    """Store what deleting `artifact` (or, for kind `tag`, `tags` of it) removes; committed at once.

    Reads the manifest (and an index's children) from the registry only when Wharf has
    no stored bytes for it. `RegistryError` propagates: nothing is stored then.
    """
    entry = entry_for(
        artifact,
        tags={tag.name: tag.pushed_at for tag in tags},
        kind=kind,
        source=source,
        actor=actor,
        run=run,
        client=client,
    )
    with transaction.atomic():
        entry.save(force_insert=True)
    return entry


def entry_for(
    artifact: Artifact,
    *,
    tags: dict[str, datetime],
    kind: str,
    source: str,
    actor: Actor,
    run: RetentionRun | None = None,
    client: RegistryClient | None = None,
) -> RecycleBinEntry:
    """The (unsaved) entry for deleting `artifact` with `tags` (name → pushed at), so that a
    retention run can store a chunk's entries in one INSERT. `artifact.repository.project`
    is read. `RegistryError` propagates when the registry must be asked and fails."""
    client = client or registry_client()
    repository = artifact.repository.name
    manifest = _manifest_of(client, repository, artifact.digest, artifact.manifest, artifact.media_type)
    children: list[dict[str, str]] = []
    if manifest.kind == "index":
        stored = {
            digest: (body, media_type)
            for digest, body, media_type in Artifact.objects.filter(
                repository=artifact.repository, digest__in=[c.digest for c in manifest.children]
            ).values_list("digest", "manifest", "media_type")
        }
        for child in manifest.children:
            body, media_type = stored.get(child.digest, (b"", child.media_type))
            child_manifest = _manifest_of(client, repository, child.digest, body, media_type or child.media_type)
            children.append(
                {
                    "digest": child.digest,
                    "media_type": child_manifest.media_type,
                    "bytes": base64.b64encode(child_manifest.raw).decode(),
                }
            )
    return RecycleBinEntry(
        project=artifact.repository.project,
        repository_name=repository,
        digest=artifact.digest,
        kind=kind,
        media_type=manifest.media_type,
        manifest=manifest.raw,
        size=artifact.size,
        tags={name: pushed_at.isoformat() for name, pushed_at in tags.items()},
        children=children,
        deleted_by=actor.name,
        source=source,
        run=run,
    )


def discard(entry: RecycleBinEntry | None) -> None:
    """Drop an entry whose deletion did not happen after all."""
    if entry is not None and entry.pk:
        RecycleBinEntry.objects.filter(pk=entry.pk).delete()


def _manifests(entry: RecycleBinEntry) -> list[Manifest]:
    """Children first, then the entry's own manifest: the order a restore puts them in."""
    found = [
        parse_manifest(base64.b64decode(child["bytes"]), digest=child["digest"], media_type=child["media_type"])
        for child in entry.children
    ]
    found.append(parse_manifest(bytes(entry.manifest), digest=entry.digest, media_type=entry.media_type))
    return found


def entry_blobs(entry: RecycleBinEntry) -> list[str]:
    """The config and layer digests a restore needs the registry to still have, each once
    (foreign layers live elsewhere and are left out)."""
    found: dict[str, None] = {}
    for manifest in _manifests(entry):
        blobs = ([manifest.config] if manifest.config is not None else []) + list(manifest.layers)
        for blob in blobs:
            if not blob.urls:
                found.setdefault(blob.digest)
    return list(found)


def missing_blobs(entry: RecycleBinEntry, client: RegistryClient | None = None) -> list[str]:
    """Digests of the config and layer blobs the registry no longer has."""
    client = client or registry_client()
    return [digest for digest in entry_blobs(entry) if not client.blob_exists(entry.repository_name, digest)]


def _restorable_entries() -> Any:
    return RecycleBinEntry.objects.filter(
        restored_at__isnull=True, collected_at__isnull=True, expires_at__gt=timezone.now()
    ).only("pk", "digest", "media_type", "manifest", "children")


def collected_by_blobs(removed: set[str]) -> list[int]:
    """The restorable entries that need one of the `removed` blob digests: what a GC that
    removes them makes unrestorable. Reads the stored manifests, never the registry."""
    if not removed:
        return []
    hit: list[int] = []
    for entry in _restorable_entries().iterator(chunk_size=500):
        try:
            blobs = entry_blobs(entry)
        except (ValueError, RegistryError):  # an unreadable stored manifest: restore says so itself
            continue
        if removed.intersection(blobs):
            hit.append(entry.pk)
    return hit


def mark_collected(entry_ids: list[int], *, run: Any = None, at: datetime | None = None) -> int:
    """Mark entries as garbage-collected (no longer restorable); the caller audits (the GC
    run's end event counts them, in the caller's transaction)."""
    if not entry_ids:
        return 0
    return RecycleBinEntry.objects.filter(pk__in=entry_ids, collected_at__isnull=True).update(
        collected_at=at or timezone.now(), collected_by=run
    )


def collected_message(entry: RecycleBinEntry) -> str:
    """Why a marked entry cannot come back, naming the GC run when Wharf ran it."""
    when = timezone.localtime(entry.collected_at).strftime("%Y-%m-%d %H:%M") if entry.collected_at else ""
    if entry.collected_by_id:
        return gettext("garbage collection #%(run)s removed its layers (%(when)s); it cannot be restored.") % {
            "run": entry.collected_by_id,
            "when": when,
        }
    return gettext("a garbage collection removed its layers (%(when)s); it cannot be restored.") % {"when": when}


def restore(entry: RecycleBinEntry, actor: Actor, *, client: RegistryClient | None = None) -> RecycleBinEntry:
    """Put an entry's manifest (children first) and its tags back, and Wharf's rows with them.

    Refuses with `ValidationError` when it was restored already, when a blob is gone
    (garbage collection) or when one of its tags now points at another digest (a restore
    never moves a tag someone pushed since). `RegistryActionFailed` when the registry fails.
    """
    client = client or registry_client()
    repository = entry.repository_name
    if entry.restored_at is not None:
        raise ValidationError(gettext("This deletion has been undone already."), code="restored")
    if entry.collected_at is not None:
        raise ValidationError(
            f"{repository}@{entry.digest}: {collected_message(entry)}", code="garbage_collected"
        )
    try:
        missing = missing_blobs(entry, client)
        if missing:
            # Collected outside Wharf: remember it, so the page stops offering a restore.
            mark_collected([entry.pk])
            raise ValidationError(
                ngettext(
                    "%(repository)s@%(digest)s: %(reason)s (%(count)s blob missing: %(missing)s)",
                    "%(repository)s@%(digest)s: %(reason)s (%(count)s blobs missing, e.g. %(missing)s)",
                    len(missing),
                ) % {"repository": repository, "digest": entry.digest, "reason": GC_MESSAGE, "count": len(missing), "missing": missing[0]},
                code="garbage_collected",
            )
        moved = {}
        for tag in sorted(entry.tags):
            current = client.head_manifest(repository, tag)
            if current is not None and current != entry.digest:
                moved[tag] = current
        if moved:
            names = ", ".join(f"`{t}`" for t in moved)
            raise ValidationError(
                gettext("%(repository)s: tag(s) %(names)s now point at another image; move or delete them first.") % {"repository": repository, "names": names},
                code="tag_moved",
            )
        for manifest in _manifests(entry):
            client.put_manifest(repository, manifest.digest, manifest.raw, manifest.media_type)
        for tag in sorted(entry.tags):
            client.put_manifest(repository, tag, bytes(entry.manifest), entry.media_type)
    except RegistryError as exc:
        raise RegistryActionFailed(
            gettext("The registry did not restore %(repository)s@%(digest)s: %(exc)s") % {"repository": repository, "digest": entry.digest, "exc": exc}, transient=exc.transient
        ) from exc
    now = timezone.now()
    with transaction.atomic():
        locked = RecycleBinEntry.objects.select_for_update().get(pk=entry.pk)
        if locked.restored_at is not None:
            raise ValidationError(gettext("This deletion has been undone already."), code="restored")
        repo_row = ensure_repository(repository, actor=actor)
        # A restore is a push: the registry notifies it as one, and retention sees it as new.
        artifact, _ = Artifact.objects.get_or_create(
            repository=repo_row,
            digest=entry.digest,
            defaults={
                "media_type": entry.media_type,
                "manifest": bytes(entry.manifest),
                "pushed_at": now,
                "pushed_at_source": PushedAtSource.PUSH,
            },
        )
        for tag in sorted(entry.tags):
            Tag.objects.update_or_create(
                repository=repo_row,
                name=tag,
                defaults={"artifact": artifact, "pushed_at": now, "pushed_at_source": PushedAtSource.PUSH},
            )
        refresh_repository_counts(repo_row)
        locked.restored_at = now
        locked.restored_by = actor.name
        locked.save(update_fields=["restored_at", "restored_by"])
        record(
            AuditAction.RECYCLE_RESTORE,
            actor=actor,
            project=repo_row.project,
            target_type="artifact" if entry.kind == RecycleBinEntry.Kind.ARTIFACT else "tag",
            target_name=f"{repository}@{entry.digest}",
            details={"entry": entry.pk, "tags": sorted(entry.tags), "source": entry.source, "kind": entry.kind},
        )
    if not artifact.details_synced:
        try:
            fill_artifact_details(artifact.pk, client)
        except RegistryError:  # the rows are right; the details come with the next sync
            log.warning("details of restored %s@%s not read", repository, entry.digest, exc_info=True)
    return locked


def purge_expired(now: datetime | None = None) -> int:
    """Delete entries past their expiry (restored or not); one audit event per project."""
    now = now or timezone.now()
    expired = RecycleBinEntry.objects.filter(expires_at__lte=now)
    per_project = Counter(expired.values_list("project_id", flat=True))
    if not per_project:
        return 0
    with transaction.atomic():
        deleted, _ = RecycleBinEntry.objects.filter(expires_at__lte=now).delete()
        for project in Project.objects.filter(pk__in=per_project):
            record(
                AuditAction.RECYCLE_PURGE,
                actor=Actor.system("recycle-bin"),
                project=project,
                target_type="recycle_bin",
                target_name=project.name,
                details={"entries": per_project[project.pk]},
            )
    return deleted
