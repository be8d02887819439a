"""Promotions (artifacts copied between projects), registry endpoints, replication
rules and their runs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

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
        max_length=500, help_text="The registry's base URL, e.g. https://registry.example.com"
    )
    description = models.TextField(blank=True, max_length=2000)
    username = models.CharField(max_length=255, blank=True)
    password = models.TextField(
        blank=True, help_text="Encrypted; empty when the endpoint has no credentials."
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
