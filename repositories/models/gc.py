"""Garbage collection runs of Wharf's own registry."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class GcRun(models.Model):
    """One `docker-registry garbage-collect` of Wharf's own registry, asked for by a
    system admin.

    States: queued → running → succeeded | failed. `request_gc` refuses (nothing is
    recorded) when the registry config is not Wharf's own, or when a GC or a retention
    run is queued or running; at most one GC is queued or running (a partial unique
    constraint). A worker claims the run with a conditional UPDATE. A dry run only
    lists what would go; a real run deletes the unreferenced blobs (and with
    `delete_untagged`, manifests no tag points at) while the token service grants no
    push or delete. `blobs_removed` / `bytes_removed` are read from the collector's
    output and the storage directory (for a dry run: what a real run would remove).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    class Trigger(models.TextChoices):
        MANUAL = "manual", _("By hand")
        SCHEDULE = "schedule", _("Schedule")

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    dry_run = models.BooleanField(default=True)
    delete_untagged = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    blobs_marked = models.PositiveIntegerField(default=0)
    blobs_removed = models.PositiveIntegerField(default=0)
    manifests_removed = models.PositiveIntegerField(default=0)
    bytes_removed = models.BigIntegerField(default=0)
    recycle_entries = models.PositiveIntegerField(default=0)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.MANUAL)
    output = models.TextField(blank=True, help_text=_("The collector's output, cut to its last 64 KiB."))
    message = models.TextField(blank=True)
    message_i18n = models.JSONField(default=dict, blank=True, help_text=_("The message's id and parameters."))

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status__in=["queued", "running"]),
                name="gc_run_one_active",
                violation_error_message=_("A garbage collection is already queued or running."),
            )
        ]

    def __str__(self) -> str:
        kind = "dry run" if self.dry_run else "run"
        return f"GC {kind} #{self.pk} ({self.status})"


class GcSchedule(models.Model):
    """When garbage collection runs by itself (one row, pk 1), set by system admins.

    `schedule` is a five-field cron expression in the server's time zone, like a
    retention policy's; `last_scheduled_at` is the minute a run was last queued, so the
    every-minute beat task (`services.gc.due_gc`) queues each due minute once. A due
    minute while a GC or retention run is active is skipped (and says so in the log),
    not queued for later.
    """

    enabled = models.BooleanField(default=False)
    schedule = models.CharField(max_length=100, blank=True)
    dry_run = models.BooleanField(default=False)
    delete_untagged = models.BooleanField(default=False)
    last_scheduled_at = models.DateTimeField(null=True, blank=True)
    last_skipped_reason = models.TextField(blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "garbage collection schedule"

    def __str__(self) -> str:
        return f"GC schedule {self.schedule or '(none)'}{'' if self.enabled else ' (off)'}"
