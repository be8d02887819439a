"""What is in the registry, as Wharf last saw it: repositories, artifacts and tags,
plus the run records of sync and the ids of registry notifications already handled.

These rows are a cache of the registry, kept current by `repositories.services.sync`
(full reconcile) and `repositories.services.events` (live notifications). The
registry is the source of truth; rows are removed only after a complete,
successful listing says the thing is gone.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .projects import Project


class RepositoryQuerySet(models.QuerySet["Repository"]):
    def for_user(self, user: Any) -> RepositoryQuerySet:
        """Repositories in the projects `user` may see (see `ProjectQuerySet.for_user`)."""
        return self.filter(project__in=Project.objects.for_user(user).values("pk"))


class Repository(models.Model):
    """A registry repository, e.g. `team/app` or `library/alpine`, in its project."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="repositories")
    name = models.CharField(max_length=255, unique=True, help_text=_("The full registry name."))
    description = models.TextField(blank=True, max_length=5000)
    tag_count = models.PositiveIntegerField(default=0)
    artifact_count = models.PositiveIntegerField(default=0)
    size = models.BigIntegerField(default=0, help_text=_("Bytes of all top-level artifacts."))
    pull_count = models.BigIntegerField(default=0)
    last_push_at = models.DateTimeField(null=True, blank=True)
    last_pull_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RepositoryQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        # One index per sort of a project's repository list, the name as tie-breaker, read in
        # either direction (`views.repositories.REPOSITORY_SORTS`, the API's orderings).
        indexes = [
            models.Index(fields=["project", "name"], name="repo_project_name"),
            models.Index(fields=["project", "last_push_at", "name"], name="repo_project_push_name"),
            models.Index(fields=["project", "size", "name"], name="repo_project_size_name"),
            models.Index(fields=["project", "pull_count", "name"], name="repo_project_pulls_name"),
            models.Index(fields=["project", "tag_count", "name"], name="repo_project_tags_name"),
        ]
        verbose_name_plural = "repositories"

    def __str__(self) -> str:
        return self.name

    @property
    def short_name(self) -> str:
        """The name inside its project (`app` for `team/app`)."""
        prefix = self.project.name + "/"
        return self.name[len(prefix) :] if self.name.startswith(prefix) else self.name


class PushedAtSource(models.TextChoices):
    """Where a row's `pushed_at` came from. Distribution's API does not say when
    anything was pushed, so only a push Wharf saw happen has an exact time; a row a
    sync found carries an estimate, and the pages and the API say which."""

    PUSH = "push", _("Pushed")  # a registry notification, or Wharf's own push (a restore)
    CREATED = "created", _("Created (push time unknown)")  # the image config's `created`
    SEEN = "seen", _("First seen by a sync (push time unknown)")


PUSHED_AT_SOURCE_HELP = (
    "push: the push was seen, `pushed_at` is exact; created: push time unknown, `pushed_at` is the "
    "image's created time; seen: push time unknown, `pushed_at` is when a sync first saw it."
)


class Artifact(models.Model):
    """One manifest (image, index, or other OCI artifact) in a repository, by digest.

    Children of an index are artifacts too, with `parent` set. `manifest` keeps the
    raw bytes exactly as the registry served them, so a deletion can be undone by
    putting them back.
    """

    class Kind(models.TextChoices):
        IMAGE = "image", _("Image")
        INDEX = "index", _("Index")
        OTHER = "other", _("Other artifact")

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="artifacts")
    digest = models.CharField(max_length=100)
    media_type = models.CharField(max_length=255, blank=True)
    artifact_type = models.CharField(max_length=255, blank=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.IMAGE)
    size = models.BigIntegerField(default=0, help_text=_("Manifest, config and layers, in bytes."))
    os = models.CharField(max_length=32, blank=True)
    architecture = models.CharField(max_length=32, blank=True)
    variant = models.CharField(max_length=32, blank=True)
    created = models.DateTimeField(null=True, blank=True, help_text=_("From the image config."))
    pushed_at = models.DateTimeField(default=timezone.now, help_text=_("Exact only if `pushed_at_source` is push."))
    pushed_at_source = models.CharField(
        max_length=8, choices=PushedAtSource.choices, default=PushedAtSource.SEEN, help_text=PUSHED_AT_SOURCE_HELP
    )
    last_pull_at = models.DateTimeField(null=True, blank=True)
    pull_count = models.BigIntegerField(default=0)
    annotations = models.JSONField(default=dict, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    config = models.JSONField(
        default=dict, blank=True, help_text=_("env, entrypoint, cmd, working_dir, exposed_ports, history.")
    )
    layers = models.JSONField(default=list, blank=True)
    manifest = models.BinaryField(blank=True, default=b"")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    subject_digest = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True, help_text=_("Why the manifest could not be read, if it could not."))
    details_synced = models.BooleanField(
        default=False, help_text=_("Whether manifest and config have been read.")
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-pushed_at", "digest"]
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "digest"],
                name="artifact_unique_digest",
                violation_error_message=_("This digest is already known in this repository."),
            )
        ]
        indexes = [
            models.Index(fields=["digest"], name="artifact_digest"),
            # One index per sort of the artifact list, the digest as tie-breaker (`api.artifacts`).
            # The tag list's sorts by size and pulls walk the size and pulls ones and join each
            # artifact's tags.
            models.Index(fields=["repository", "pushed_at", "digest"], name="artifact_repo_push_digest"),
            models.Index(fields=["repository", "size", "digest"], name="artifact_repo_size_digest"),
            models.Index(fields=["repository", "pull_count", "digest"], name="artifact_repo_pulls_digest"),
            models.Index(fields=["repository", "last_pull_at", "digest"], name="artifact_repo_pulled_digest"),
            # The accessories of a page of tags: the referrers of its artifacts.
            models.Index(fields=["repository", "subject_digest"], name="artifact_repo_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.repository.name}@{self.digest}"

    @property
    def short_digest(self) -> str:
        return self.digest.split(":", 1)[-1][:12]

    @property
    def platform(self) -> str:
        parts = [p for p in (self.os, self.architecture, self.variant) if p]
        return "/".join(parts)

    @property
    def push_time_known(self) -> bool:
        return self.pushed_at_source == PushedAtSource.PUSH


class ArtifactBlob(models.Model):
    """One blob an artifact references in the registry's storage: its manifest, its
    config, or one of its layers, normalised out of `Artifact.manifest` and
    `Artifact.layers` so storage usage can be summed in SQL (see `services.usage`).

    Blobs are shared between artifacts and repositories (the registry stores each
    digest once), so the same digest appears on many rows; a digest listed twice by
    one manifest is stored once. Rewritten whenever an artifact's details are stored.
    """

    class Kind(models.TextChoices):
        MANIFEST = "manifest", _("Manifest")
        CONFIG = "config", _("Config")
        LAYER = "layer", _("Layer")

    artifact = models.ForeignKey(Artifact, on_delete=models.CASCADE, related_name="blobs")
    digest = models.CharField(max_length=100)
    size = models.BigIntegerField(default=0)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.LAYER)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["artifact", "digest"],
                name="artifactblob_unique_digest",
                violation_error_message=_("This blob is already listed for this artifact."),
            )
        ]
        indexes = [models.Index(fields=["digest", "artifact"], name="artifactblob_digest")]

    def __str__(self) -> str:
        return f"{self.artifact_id} {self.digest}"


class Tag(models.Model):
    """A tag name in a repository, pointing at one artifact."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=128)
    artifact = models.ForeignKey(Artifact, on_delete=models.CASCADE, related_name="tags")
    pushed_at = models.DateTimeField(default=timezone.now, help_text=_("Exact only if `pushed_at_source` is push."))
    pushed_at_source = models.CharField(
        max_length=8, choices=PushedAtSource.choices, default=PushedAtSource.SEEN, help_text=PUSHED_AT_SOURCE_HELP
    )
    last_pull_at = models.DateTimeField(null=True, blank=True)
    overwritten_protected_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When a push last moved this protected (immutable) tag to another digest."),
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "name"],
                name="tag_unique_name",
                violation_error_message=_("This tag already exists in this repository."),
            )
        ]
        # One index per sort of the tag list, with the name as tie-breaker, read in either
        # direction (`repositories.tag_lists`); (repository, name) is `tag_unique_name`.
        indexes = [
            models.Index(fields=["repository", "pushed_at", "name"], name="tag_repo_pushed_name"),
            models.Index(fields=["repository", "last_pull_at", "name"], name="tag_repo_pulled_name"),
        ]

    def __str__(self) -> str:
        return f"{self.repository.name}:{self.name}"

    @property
    def push_time_known(self) -> bool:
        return self.pushed_at_source == PushedAtSource.PUSH


class SyncRun(models.Model):
    """One full reconcile of the registry, a project or a repository.

    States: queued → running → succeeded | failed. A run is claimed by moving it
    from queued to running with a conditional UPDATE, so two workers never run the
    same one; a failed run leaves the database as it was for whatever it could not
    list completely.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    class Scope(models.TextChoices):
        REGISTRY = "registry", _("Whole registry")
        PROJECT = "project", _("Project")
        REPOSITORY = "repository", _("Repository")

    class Trigger(models.TextChoices):
        USER = "user", _("User")
        SCHEDULE = "schedule", _("Schedule")
        API = "api", _("API")
        SYSTEM = "system", _("System")

    scope = models.CharField(max_length=12, choices=Scope.choices, default=Scope.REGISTRY)
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.CASCADE, related_name="sync_runs")
    repository_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.USER)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    repositories_seen = models.PositiveIntegerField(default=0)
    repositories_added = models.PositiveIntegerField(default=0)
    repositories_removed = models.PositiveIntegerField(default=0)
    tags_seen = models.PositiveIntegerField(default=0)
    tags_added = models.PositiveIntegerField(default=0)
    tags_updated = models.PositiveIntegerField(default=0)
    tags_removed = models.PositiveIntegerField(default=0)
    artifacts_added = models.PositiveIntegerField(default=0)
    artifacts_updated = models.PositiveIntegerField(default=0)
    artifacts_removed = models.PositiveIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0, help_text=_("Registry HTTP requests made."))
    errors = models.JSONField(default=list, blank=True, help_text=_("[{where, message}] in order."))
    message = models.TextField(blank=True, help_text=_("A one-line summary, or why the run failed."))
    message_i18n = models.JSONField(default=dict, blank=True, help_text=_("The message's id and parameters."))

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"], name="syncrun_status")]

    def __str__(self) -> str:
        return f"sync #{self.pk} ({self.scope}, {self.status})"

    @property
    def duration(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class RegistryEvent(models.Model):
    """The id of a registry notification already handled: the registry retries
    deliveries, so the same event can arrive twice and must count once."""

    event_id = models.CharField(max_length=100, unique=True)
    action = models.CharField(max_length=16)
    repository = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        # The repository page's "last event" line reads the newest event of one repository.
        indexes = [models.Index(fields=["repository", "-received_at"], name="regevent_repo_received")]

    def __str__(self) -> str:
        return f"{self.action} {self.repository} ({self.event_id})"
