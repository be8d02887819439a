"""Promotions (artifacts copied between projects), registry endpoints, replication
rules and their runs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from repositories.models import Project


class Promotion(models.Model):
    """One artifact copied from a repository of one project into another's under a tag
    (with its index children and referrers), by blob mounts inside Wharf's registry.

    Names are copied, and the project links are SET_NULL, so the history stays
    readable after either side is deleted. `stats` holds the copier's counts
    (`replication.copier.CopyStats`), `referrers` what came along (tags, or digests of
    referrers without one).
    """

    digest = models.CharField(max_length=100)
    source_project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.SET_NULL, related_name="promotions_out"
    )
    source_repository = models.CharField(max_length=255)
    target_project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.SET_NULL, related_name="promotions_in"
    )
    target_repository = models.CharField(max_length=255)
    tag = models.CharField(max_length=128)
    promoted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)
    referrers = models.JSONField(default=list, blank=True)
    stats = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["digest", "-created_at"], name="promotion_digest_idx")]

    def __str__(self) -> str:
        return f"{self.source_repository}@{self.digest} → {self.target_repository}:{self.tag}"


class RegistryEndpoint(models.Model):
    """A remote registry speaking the OCI Distribution API, for replication.

    `password` holds a Fernet token (`replication.credentials`), never the password;
    the key lives in the environment. The last "test connection" is kept so the list
    shows which endpoints answer.
    """

    name = models.CharField(max_length=100, unique=True)
    url = models.URLField(
        max_length=500, help_text=_("The registry's base URL, e.g. https://registry.example.com")
    )
    description = models.TextField(blank=True, max_length=2000)
    username = models.CharField(max_length=255, blank=True)
    password = models.TextField(
        blank=True, help_text=_("Encrypted; empty when the endpoint has no credentials.")
    )
    verify_tls = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    check_ok = models.BooleanField(null=True, blank=True)
    check_message = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def has_credentials(self) -> bool:
        return bool(self.password)


class ReplicationRule(models.Model):
    """What to copy between Wharf's registry and one endpoint, which way, and when.

    `push` copies local → remote, `pull` remote → local. Filters: `repositories` and
    `tags` are globs (`repositories.globs`, over the full source repository name), and
    `labels` (push only: labels are Wharf's) the label names an artifact must all carry.
    `destination_namespace`, when set, replaces the first component of each repository
    name at the destination (`acme/web` → `dr/web`). Referrers (cosign signatures, the
    referrers tag schema) of what is copied come along. `override` lets a destination
    tag that points elsewhere be moved; `delete_remote` (push) deletes remote tags in
    matched repositories that Wharf no longer has. With `replace_namespace` off the
    namespace is put in front instead (`library/alpine` → `hub/library/alpine`).
    """

    class Direction(models.TextChoices):
        PUSH = "push", _("Push (this registry → endpoint)")
        PULL = "pull", _("Pull (endpoint → this registry)")

    class Trigger(models.TextChoices):
        MANUAL = "manual", _("Manual")
        SCHEDULED = "scheduled", _("Scheduled (cron)")
        ON_PUSH = "on_push", _("On push")

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True, max_length=2000)
    endpoint = models.ForeignKey(RegistryEndpoint, on_delete=models.PROTECT, related_name="rules")
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.PUSH)
    repositories = models.CharField(max_length=255, default="**", help_text=_("Glob over repository names."))
    tags = models.CharField(max_length=255, default="**", help_text=_("Glob over tag names."))
    labels = models.JSONField(
        default=list, blank=True, help_text=_("Label names an artifact must all carry (push).")
    )
    destination_namespace = models.CharField(max_length=255, blank=True)
    replace_namespace = models.BooleanField(
        default=True, help_text=_("Replace the first name component by the namespace; off: put it in front.")
    )
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.MANUAL)
    schedule = models.CharField(max_length=100, blank=True, help_text=_("Five-field cron, for scheduled rules."))
    override = models.BooleanField(default=True, help_text=_("Move destination tags that point elsewhere."))
    delete_remote = models.BooleanField(default=False, help_text=_("Push: delete remote tags deleted here."))
    concurrency = models.PositiveSmallIntegerField(
        default=0, help_text=_("Artifacts at once; 0: the site default.")
    )
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    last_scheduled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ReplicationRun(models.Model):
    """One execution of a rule: queued → running → succeeded | failed.

    A run is claimed by one worker (conditional UPDATE). It fails when any item
    failed (the message names how many and the first reason) or when the endpoint
    cannot be reached at all. A rerun is a new run of the same rule: what the
    destination already has by digest is skipped, so it copies only what is missing.
    `only` narrows an on-push run to the pushed `{repository, tag}`.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    rule = models.ForeignKey(ReplicationRule, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=10, choices=ReplicationRule.Trigger.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    only = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    items_total = models.PositiveIntegerField(default=0)
    copied = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)
    stats = models.JSONField(default=dict, blank=True, help_text=_("The copier's counts (blobs, bytes)."))
    message = models.TextField(blank=True)
    message_i18n = models.JSONField(default=dict, blank=True, help_text=_("The message's id and parameters."))

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["rule", "-created_at"], name="replrun_rule_created_idx")]

    def __str__(self) -> str:
        return f"{self.rule} run {self.pk}"

    @property
    def active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


class ReplicationItem(models.Model):
    """One tag of a run: copied, skipped (the destination has it by digest, or keeps a
    tag the rule may not override), failed with the reason, or deleted (remote tag gone here)."""

    class Status(models.TextChoices):
        COPIED = "copied", _("Copied")
        SKIPPED = "skipped", _("Skipped")
        FAILED = "failed", _("Failed")
        DELETED = "deleted", _("Deleted")

    run = models.ForeignKey(ReplicationRun, on_delete=models.CASCADE, related_name="items")
    source = models.CharField(max_length=400, help_text=_("repository:tag at the source."))
    destination = models.CharField(max_length=400, help_text=_("repository:tag at the destination."))
    digest = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices)
    reason = models.TextField(blank=True)
    reason_i18n = models.JSONField(default=dict, blank=True, help_text=_("The reason's message id and parameters."))
    referrers = models.PositiveIntegerField(default=0)
    blobs_uploaded = models.PositiveIntegerField(default=0)
    bytes_uploaded = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["run", "status"], name="replitem_run_status_idx")]

    def __str__(self) -> str:
        return f"{self.source} → {self.destination}: {self.status}"


class ProxyCache(models.Model):
    """A project that pulls through to an upstream registry.

    Wharf configures a Distribution instance in proxy mode (`proxy.remoteurl`: the
    upstream endpoint) on `port` with its own storage (`manage.py proxy_cache serve`
    runs it, under the process supervisor with the rest of Wharf). Clients pull from
    that instance; what it has cached is imported into the project by `rule`, a pull
    rule from the instance (its own endpoint) with the project as destination
    namespace, so cached images appear in Wharf like pushed ones and obey the project's
    retention. The rule and its endpoint are made and removed with the cache.
    """

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="proxy_cache")
    upstream = models.ForeignKey(RegistryEndpoint, on_delete=models.PROTECT, related_name="proxy_caches")
    port = models.PositiveIntegerField(unique=True)
    rule = models.OneToOneField(ReplicationRule, on_delete=models.PROTECT, related_name="proxy_cache")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["project__name"]

    def __str__(self) -> str:
        return f"proxy cache {self.project.name} → {self.upstream.url}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
