"""Daily statistics of each project, for the charts: one row per project and day."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from .projects import Project


class ProjectDailyStats(models.Model):
    """What a project looked like at the end of one day (server time zone), and what
    happened that day; written by `services.stats.record_daily` (beat, hourly: today's row
    is rewritten until the day is over, and yesterday's event counts are completed once).

    Storage is Wharf's view (`services.usage`: logical = per artifact, unique = distinct
    blobs); pushes and pulls are the manifest push and pull notifications of the project's
    repositories that day (`RegistryEvent`, deduplicated by event id); `findings` is the
    open findings per severity band over each artifact's latest succeeded scan. Days with
    no row (Wharf was not running) are gaps in the charts, not zeros.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="daily_stats")
    day = models.DateField()
    artifacts = models.PositiveIntegerField(default=0)
    logical_bytes = models.BigIntegerField(default=0)
    unique_bytes = models.BigIntegerField(default=0)
    pushes = models.PositiveIntegerField(default=0)
    pulls = models.PositiveIntegerField(default=0)
    findings = models.JSONField(default=dict, blank=True, help_text="Severity band → open findings.")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["project", "day"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "day"],
                name="daily_stats_project_day",
                violation_error_message="A project has one statistics row per day.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.project} on {self.day}"
