"""Tag retention as stored: policies and their rules, immutable tag rules, runs and the recycle bin.

The decisions themselves are made by the pure engine (`repositories.retention`); these
rows hold what the engine is given (policy, immutable rules), what a run did (run and
item records) and what a deletion removed (recycle bin entries, so it can be undone).
Writes go through `repositories.services.retention` and `repositories.services.recycle`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..retention import Template, reasons
from .projects import Project


class RetentionPolicy(models.Model):
    """A project's retention policy (at most one): its ordered rules live in `RetentionRule`.

    `schedule` is a five-field cron expression (minute hour day-of-month month
    day-of-week, in the server's time zone) or blank for "run by hand only";
    `last_scheduled_at` is the minute a scheduled run was last queued, so the
    every-minute beat task queues each due minute once.
    """

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="retention_policy")
    enabled = models.BooleanField(default=False)
    schedule = models.CharField(max_length=100, blank=True)
    allow_empty_repository = models.BooleanField(
        default=False, help_text=_("Whether a run may delete every artifact of a repository.")
    )
    last_scheduled_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "retention policies"

    def __str__(self) -> str:
        return f"retention policy of {self.project}"


class RuleTemplate(models.TextChoices):
    """The engine's templates (`repositories.retention.Template`), with labels for forms."""

    LATEST_PUSHED_N = Template.LATEST_PUSHED_N.value, _("Retain the N most recently pushed")
    LATEST_PULLED_N = Template.LATEST_PULLED_N.value, _("Retain the N most recently pulled")
    PUSHED_WITHIN_DAYS = Template.PUSHED_WITHIN_DAYS.value, _("Retain those pushed within the last N days")
    PULLED_WITHIN_DAYS = Template.PULLED_WITHIN_DAYS.value, _("Retain those pulled within the last N days")
    ALWAYS = Template.ALWAYS.value, _("Always retain")


class RetentionRule(models.Model):
    """One rule of a policy; `position` numbers rules from 1, as reasons name them."""

    policy = models.ForeignKey(RetentionPolicy, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveSmallIntegerField()
    repository_include = models.JSONField(default=list, blank=True)
    repository_exclude = models.JSONField(default=list, blank=True)
    tag_include = models.JSONField(default=list, blank=True)
    tag_exclude = models.JSONField(default=list, blank=True)
    untagged = models.BooleanField(default=False)
    label_with = models.JSONField(default=list, blank=True, help_text=_("Label names the artifact must all carry."))
    label_without = models.JSONField(default=list, blank=True, help_text=_("Label names it must carry none of."))
    template = models.CharField(max_length=24, choices=RuleTemplate.choices)
    n = models.PositiveIntegerField(null=True, blank=True, help_text=_("Count or days; empty for `always`."))

    class Meta:
        ordering = ["policy", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "position"],
                name="retention_rule_unique_position",
                violation_error_message=_("Two rules cannot have the same position."),
            )
        ]

    def __str__(self) -> str:
        return f"rule {self.position} of {self.policy}"


class ImmutableRule(models.Model):
    """Tags no retention run and no manual delete may remove: repository and tag patterns.

    Numbered from 1 by `position` among the project's *enabled* rules, as reasons name them.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="immutable_rules")
    position = models.PositiveSmallIntegerField()
    repository_include = models.JSONField(default=list, blank=True)
    repository_exclude = models.JSONField(default=list, blank=True)
    tag_include = models.JSONField(default=list, blank=True)
    tag_exclude = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["project", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "position"],
                name="immutable_rule_unique_position",
                violation_error_message=_("Two immutable rules cannot have the same position."),
            )
        ]

    def __str__(self) -> str:
        return f"immutable rule {self.position} of {self.project}"


class TagProtectionSettings(models.Model):
    """Per-project switches of tag protection (one row, created on first save).

    `revert_protected_overwrites`: when a push moves a protected tag to another digest,
    put it back on its previous digest at once (otherwise only flag and audit it).
    """

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="tag_protection")
    revert_protected_overwrites = models.BooleanField(default=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "tag protection settings"

    def __str__(self) -> str:
        return f"tag protection of {self.project}"


class RetentionRun(models.Model):
    """One evaluation of a project's policy, and (unless a dry run) its deletions.

    States: queued → running → succeeded | failed | stopped. `request_run` creates a
    queued run (at most one queued or running run per project: a partial unique
    constraint); a worker claims it with a conditional UPDATE (queued → running);
    `execute_run` ends it: succeeded when every planned deletion was done or skipped
    for a safety reason, failed when one could not be done (or the evaluation or the
    registry failed), stopped when `stop_requested` was set between two deletions.
    `policy` is the snapshot the run evaluated (rules, allow_empty_repository, and the
    immutable rules in force when it ran).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        STOPPED = "stopped", _("Stopped")

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("Schedule")
        USER = "user", _("User")
        API = "api", _("API")

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="retention_runs")
    policy = models.JSONField(default=dict, blank=True)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.USER)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    artifacts_evaluated = models.PositiveIntegerField(default=0)
    artifacts_kept = models.PositiveIntegerField(default=0)
    artifacts_planned = models.PositiveIntegerField(
        default=0, help_text=_("Artifacts the evaluation deletes (what a dry run would delete).")
    )
    artifacts_deleted = models.PositiveIntegerField(default=0)
    artifacts_skipped = models.PositiveIntegerField(default=0)
    artifacts_failed = models.PositiveIntegerField(default=0)
    tags_deleted = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    message_i18n = models.JSONField(default=dict, blank=True, help_text=_("The message's id and parameters."))
    stop_requested = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project"],
                condition=models.Q(status__in=["queued", "running"]),
                name="retention_run_one_active",
                violation_error_message=_("A retention run of this project is already queued or running."),
            )
        ]
        # The run list, newest first by cursor (`views.retention_runs.RUN_ORDERING`).
        indexes = [models.Index(fields=["project", "created_at", "id"], name="retention_run_project_created")]

    def __str__(self) -> str:
        kind = "dry run" if self.dry_run else "run"
        return f"retention {kind} #{self.pk} of {self.project_id} ({self.status})"

    @property
    def duration(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class RetentionRunItem(models.Model):
    """One artifact a run deleted, would delete (dry run), or skipped, with why and what happened."""

    class Action(models.TextChoices):
        DELETE = "delete", _("Delete")
        SKIP = "skip", _("Skip")

    class Outcome(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELETED = "deleted", _("Deleted")
        DRY_RUN = "dry_run", _("Would be deleted (dry run)")
        SKIPPED = "skipped", _("Skipped (kept for safety)")
        SKIPPED_MOVED = "skipped_moved", _("Skipped: a tag moved since evaluation")
        SKIPPED_OWNER_KEPT = "skipped_owner_kept", _("Skipped: its parent or subject was not deleted")
        FAILED = "failed", _("Failed")
        NOT_ATTEMPTED = "not_attempted", _("Not attempted (run stopped or failed first)")

    # No index of its own: `retention_item_run_id` (run, id) serves every lookup by run, and a
    # plan of 100,000 rows maintained a third index for nothing.
    run = models.ForeignKey(RetentionRun, on_delete=models.CASCADE, related_name="items", db_index=False)
    repository_name = models.CharField(max_length=255)
    digest = models.CharField(max_length=100)
    tags = models.JSONField(default=list, blank=True)
    action = models.CharField(max_length=8, choices=Action.choices)
    # Old rows and the audit have `reason` in English only; since the reason code and its
    # parameters are stored too, pages and the API put them in the reader's language.
    reason = models.TextField(blank=True, help_text=_("The reason in English, as audited."))
    reason_code = models.CharField(max_length=24, blank=True, help_text=_("The retention engine's reason code."))
    reason_params = models.JSONField(default=dict, blank=True)
    owner_digest = models.CharField(
        max_length=100, blank=True, help_text=_("For a dependent: the parent index or subject it goes with.")
    )
    owner_relation = models.CharField(max_length=8, blank=True, help_text=_("`parent` or `subject`."))
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.PENDING)
    error = models.TextField(blank=True)
    error_i18n = models.JSONField(default=dict, blank=True, help_text=_("The error's message id and parameters."))
    attempts = models.PositiveSmallIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "id"]
        # A run's items in the order it took them, all or of one outcome, by cursor
        # (`views.retention_runs.ITEM_ORDERING`); the first also counts the outcomes.
        indexes = [
            models.Index(fields=["run", "outcome", "id"], name="retention_item_run_outcome"),
            models.Index(fields=["run", "id"], name="retention_item_run_id"),
        ]

    def __str__(self) -> str:
        return f"{self.repository_name}@{self.digest}: {self.outcome}"

    @property
    def reason_text(self) -> str:
        """The reason in the active language (the stored English text for rows written
        before reason codes were stored)."""
        if not self.reason_code:
            return self.reason
        return reasons.reason_text(self.reason_code, self.reason_params)


def recycle_bin_expiry() -> datetime:
    """When an entry made now is purged (`WHARF_RECYCLE_BIN_DAYS`)."""
    return timezone.now() + timedelta(days=settings.WHARF_RECYCLE_BIN_DAYS)


class RecycleBinEntry(models.Model):
    """What one deletion removed, kept so that it can be put back until it expires.

    Kinds: `artifact` (a manifest deleted by digest, with every tag it had) and `tag`
    (one tag removed, the manifest stayed). Both keep the manifest bytes, its tags
    (name → ISO time the tag was pushed) and, for an index, its children's bytes
    (`children`: [{digest, media_type, bytes (base64)}]), so a restore is the same for
    both: PUT children, the manifest by digest, then each tag. The registry keeps the
    blobs until its garbage collection, so a restore first checks that they exist.

    `collected_at` (and `collected_by`, the GC run) marks an entry whose config or layer
    blobs a garbage collection removed: it can no longer be restored. A real GC run sets it
    from the blobs it deleted; a restore that finds blobs missing (a collector run outside
    Wharf) sets it too, without a run. Pages and the API read it instead of asking the
    registry per row.
    """

    class Kind(models.TextChoices):
        ARTIFACT = "artifact", _("Artifact")
        TAG = "tag", _("Tag")

    class Source(models.TextChoices):
        RETENTION = "retention", _("Retention run")
        MANUAL = "manual", _("Deleted by hand")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="recycle_bin")
    repository_name = models.CharField(max_length=255)
    digest = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.ARTIFACT)
    media_type = models.CharField(max_length=255)
    manifest = models.BinaryField()
    size = models.BigIntegerField(default=0)
    tags = models.JSONField(default=dict, blank=True)
    children = models.JSONField(default=list, blank=True)
    deleted_by = models.CharField(max_length=150, blank=True, help_text=_("The actor's name."))
    source = models.CharField(max_length=10, choices=Source.choices)
    run = models.ForeignKey(
        RetentionRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="recycled"
    )
    deleted_at = models.DateTimeField(default=timezone.now)
    restored_at = models.DateTimeField(null=True, blank=True)
    restored_by = models.CharField(max_length=150, blank=True)
    expires_at = models.DateTimeField(default=recycle_bin_expiry)
    collected_at = models.DateTimeField(null=True, blank=True)
    collected_by = models.ForeignKey(
        "repositories.GcRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="collected_entries"
    )

    class Meta:
        ordering = ["-deleted_at", "-id"]
        verbose_name_plural = "recycle bin entries"
        indexes = [
            # Newest deletion first, by cursor (`views.recycle.ENTRY_ORDERING`).
            models.Index(fields=["project", "deleted_at", "id"], name="recycle_project_deleted_id"),
            models.Index(fields=["expires_at"], name="recycle_expires"),
        ]

    def __str__(self) -> str:
        return f"{self.repository_name}@{self.digest} ({self.kind}, {self.source})"

    @property
    def restorable(self) -> bool:
        """Not undone yet and not garbage-collected (as far as Wharf knows)."""
        return self.restored_at is None and self.collected_at is None


class DefaultRetentionPolicy(models.Model):
    """The system-wide default retention policy (one row, pk 1), set by system admins.

    It governs every project without its own policy (one with rules), as
    `repositories.retention.defaults.policy_origin` decides; `rules` are policy data in
    the services' shape (`services.retention.parse_policy` validates them). Its schedule
    queues a run per governed project (`services.retention_defaults.due_default_runs`).
    """

    enabled = models.BooleanField(default=False)
    schedule = models.CharField(max_length=100, blank=True)
    allow_empty_repository = models.BooleanField(default=False)
    rules = models.JSONField(default=list, blank=True)
    last_scheduled_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "default retention policy"
        verbose_name_plural = "default retention policy"

    def __str__(self) -> str:
        return "system default retention policy"


class RetentionDefaultOptOut(models.Model):
    """A project that opted out of the system default policy; honoured only while the
    site allows opting out (`WHARF_RETENTION_DEFAULT_OPT_OUT`)."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="retention_default_opt_out")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.project} opted out of the default retention policy"
