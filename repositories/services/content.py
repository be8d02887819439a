"""Reading artifact details from the registry and storing them on `Artifact` rows.

Shared by the full sync (`services.sync`) and by the live path (a push
notification creates a bare row; `fill_artifact_details` completes it in the
background). Fetching happens without touching the database, so it can run in
worker threads; storing happens in the caller's thread and transaction.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.context import Actor
from audit.models import AuditAction
from audit.services import record

from ..models import Artifact, Project, Repository, Tag
from ..registry import ImageConfig, Manifest, RegistryClient, RegistryError, RegistryUnavailable
from ..registry.manifests import IMAGE_CONFIG_MEDIA_TYPES, parse_image_config
from .usage import store_blobs

# Shown in the UI; longer values are cut there too, this only bounds what is stored.
MAX_STORED_TEXT = 4096


@dataclass
class Fetched:
    """One manifest as read from the registry: parsed details, or why it could not be read."""

    digest: str
    manifest: Manifest | None = None
    config: ImageConfig | None = None
    error: str = ""
    children: list[Fetched] = field(default_factory=list)

    @property
    def size(self) -> int:
        """Manifest + config + layers; for an index its own bytes plus its children's."""
        if self.manifest is None:
            return 0
        if self.manifest.kind == "index":
            return self.manifest.size + sum(child.size for child in self.children)
        return self.manifest.content_size


def fetch_details(client: RegistryClient, repository: str, manifest: Manifest, known: Container[str]) -> Fetched:
    """The config of an image, or the children (and their configs) of an index.

    Children whose digest is in `known` are not fetched again. `RegistryUnavailable`
    propagates (the caller fails its run); any other registry error is kept on the
    `Fetched` as `error`, so one bad artifact does not stop the rest.
    """
    fetched = Fetched(digest=manifest.digest, manifest=manifest)
    try:
        if manifest.kind == "image" and manifest.config and manifest.config.media_type in IMAGE_CONFIG_MEDIA_TYPES:
            fetched.config = parse_image_config(client.get_blob(repository, manifest.config.digest))
        elif manifest.kind == "index":
            for child in manifest.children:
                if child.digest in known:
                    fetched.children.append(Fetched(digest=child.digest))
                    continue
                child_manifest = client.get_manifest(repository, child.digest)
                fetched.children.append(fetch_details(client, repository, child_manifest, known))
    except RegistryUnavailable:
        raise
    except RegistryError as exc:
        fetched.error = str(exc)[:MAX_STORED_TEXT]
    return fetched


def _created(config: ImageConfig | None) -> datetime | None:
    if config is None or config.created is None:
        return None
    created = config.created
    if timezone.is_naive(created):
        created = timezone.make_aware(created, UTC)
    return created


def describe(artifact: Artifact, fetched: Fetched) -> None:
    """Copy what `fetched` says onto `artifact` (not saved)."""
    artifact.error = fetched.error
    manifest = fetched.manifest
    if manifest is None:
        return
    artifact.media_type = manifest.media_type[:255]
    artifact.artifact_type = (manifest.effective_artifact_type or "")[:255]
    artifact.kind = {"index": Artifact.Kind.INDEX, "image": Artifact.Kind.IMAGE}.get(
        manifest.kind, Artifact.Kind.OTHER
    )
    if manifest.kind == "image" and artifact.artifact_type:
        artifact.kind = Artifact.Kind.OTHER
    artifact.manifest = manifest.raw
    artifact.annotations = dict(manifest.annotations)
    artifact.subject_digest = manifest.subject.digest if manifest.subject else ""
    artifact.layers = [
        {"digest": layer.digest, "size": layer.size, "media_type": layer.media_type} for layer in manifest.layers
    ]
    if fetched.size:
        artifact.size = fetched.size
    config = fetched.config
    if config is not None:
        artifact.os = config.os[:32]
        artifact.architecture = config.architecture[:32]
        artifact.variant = (config.variant or "")[:32]
        artifact.created = _created(config)
        artifact.labels = dict(config.labels)
        artifact.config = {
            "env": list(config.env),
            "entrypoint": list(config.entrypoint) if config.entrypoint is not None else None,
            "cmd": list(config.cmd) if config.cmd is not None else None,
            "working_dir": config.working_dir,
            "user": config.user,
            "exposed_ports": list(config.exposed_ports),
            "volumes": list(config.volumes),
            "history": [
                {
                    "created": entry.created.isoformat() if entry.created else None,
                    "created_by": entry.created_by[:MAX_STORED_TEXT],
                    "comment": entry.comment[:MAX_STORED_TEXT],
                    "empty_layer": entry.empty_layer,
                }
                for entry in config.history
            ],
        }
    artifact.details_synced = not fetched.error


def store_children(parent: Artifact, fetched: Fetched) -> int:
    """Create or update the per-platform children of an index; returns how many were created."""
    if fetched.manifest is None or fetched.manifest.kind != "index":
        return 0
    platforms = {child.digest: child.platform for child in fetched.manifest.children}
    existing = {a.digest: a for a in Artifact.objects.filter(repository=parent.repository, digest__in=platforms)}
    created = 0
    total = fetched.manifest.size
    described: list[Artifact] = []
    for child in fetched.children:
        artifact = existing.get(child.digest)
        is_new = artifact is None
        if artifact is None:
            artifact = Artifact(
                repository=parent.repository,
                digest=child.digest,
                pushed_at=parent.pushed_at,
                pushed_at_source=parent.pushed_at_source,
            )
        artifact.parent = parent
        if child.manifest is not None or child.error:
            describe(artifact, child)
            described.append(artifact)
        platform = platforms.get(child.digest)
        if platform is not None:
            artifact.os = platform.os[:32]
            artifact.architecture = platform.architecture[:32]
            artifact.variant = (platform.variant or "")[:32]
        artifact.save()
        created += int(is_new)
        total += artifact.size
    store_blobs(described)
    # Children already known were not re-read, so their sizes come from their rows.
    if parent.size != total:
        parent.size = total
        Artifact.objects.filter(pk=parent.pk).update(size=total)
    return created


def project_for_repository(name: str) -> str:
    """`team/app` belongs to `team`; a single-component name to the default project."""
    return name.split("/", 1)[0] if "/" in name else settings.WHARF_DEFAULT_PROJECT


def ensure_repository(name: str, *, actor: Actor) -> Repository:
    """The row for repository `name`, creating it (and its project) on first sight.

    A namespace with no project becomes a private project, audited as coming from
    the registry, so nothing in the registry is invisible to its admins.
    """
    repository = Repository.objects.select_related("project").filter(name=name).first()
    if repository is not None:
        return repository
    with transaction.atomic():
        project_name = project_for_repository(name)
        project = Project.objects.filter(name=project_name).first()
        if project is None:
            project, created = Project.objects.get_or_create(
                name=project_name,
                defaults={"is_public": False, "description": "Created from the registry's content."},
            )
            if created:
                record(
                    AuditAction.PROJECT_CREATE,
                    actor=actor,
                    project=project,
                    target_type="project",
                    target_name=project.name,
                    details={"source": "registry", "repository": name},
                )
        repository, _ = Repository.objects.get_or_create(name=name, defaults={"project": project})
    return repository


def refresh_repository_counts(repository: Repository) -> None:
    """Recompute the denormalised counts shown in lists: one UPDATE of scalar aggregates
    over the repository's rows, in plain SQL.

    It runs after every applied sync listing and every push, on the sync's one core. The
    ORM's five statements took 1.5 ms of CPU per call and one ORM UPDATE with correlated
    subqueries 3 ms (compiling them); this statement takes 0.1 ms (SQLite, in process)."""
    quote = connection.ops.quote_name
    top = f"FROM {quote(Artifact._meta.db_table)} a WHERE a.repository_id = %s AND a.parent_id IS NULL"
    tags = f"FROM {quote(Tag._meta.db_table)} t WHERE t.repository_id = %s"
    sql = (
        f"UPDATE {quote(Repository._meta.db_table)} SET "  # noqa: S608  (quoted table names, values as parameters)
        f"tag_count = (SELECT COUNT(*) {tags}), last_push_at = (SELECT MAX(t.pushed_at) {tags}), "
        f"artifact_count = (SELECT COUNT(*) {top}), size = (SELECT COALESCE(SUM(a.size), 0) {top}), "
        f"pull_count = (SELECT COALESCE(SUM(a.pull_count), 0) {top}), "
        f"last_pull_at = (SELECT MAX(a.last_pull_at) {top}), updated_at = %s WHERE id = %s"
    )
    pk = repository.pk
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk, pk, pk, pk, pk, pk, now, pk])


def fill_artifact_details(artifact_id: int, client: RegistryClient) -> Artifact | None:
    """Read the manifest (and config or children) of an artifact a push created bare.

    Returns None when the row is gone. `RegistryUnavailable` propagates so the task
    can retry; any other registry error is stored on the artifact.
    """
    artifact = Artifact.objects.select_related("repository").filter(pk=artifact_id).first()
    if artifact is None:
        return None
    repository = artifact.repository.name
    known = set(
        Artifact.objects.filter(repository=artifact.repository, details_synced=True).values_list("digest", flat=True)
    )
    try:
        manifest = client.get_manifest(repository, artifact.digest)
    except RegistryUnavailable:
        raise
    except RegistryError as exc:
        fetched = Fetched(digest=artifact.digest, error=str(exc)[:MAX_STORED_TEXT])
    else:
        fetched = fetch_details(client, repository, manifest, known)
    with transaction.atomic():
        artifact = Artifact.objects.select_for_update().filter(pk=artifact_id).first()
        if artifact is None:
            return None
        describe(artifact, fetched)
        artifact.save()
        store_blobs([artifact])
        store_children(artifact, fetched)
        refresh_repository_counts(artifact.repository)
    return artifact
