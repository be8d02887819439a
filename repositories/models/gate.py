"""The policies the gate in the data path enforces for a project (`repositories.gate`)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .projects import Project


class BlockSeverity(models.TextChoices):
    """The lowest severity that blocks a pull ("" = vulnerabilities block nothing)."""

    OFF = "", _("Off")
    CRITICAL = "critical", _("Critical")
    HIGH = "high", _("High and above")
    MEDIUM = "medium", _("Medium and above")
    LOW = "low", _("Low and above")


class GatePolicy(models.Model):
    """What the gate refuses for one project. A project without a row (or with every
    field at its default) has no policy: the gate lets its manifests through, and
    only immutable tag rules (`ImmutableRule`) are enforced at push.

    Pull policies (Project Admins set them): `require_signed` (a trusted key's
    signature, `ArtifactSignature`) and `block_severity` (a scan must exist and count
    nothing at or above it; allowlisted findings are not counted). Quotas (system
    admins set them, as in Harbor): `quota_bytes` (the project's unique storage, each
    blob once) and `quota_artifacts`; empty means unlimited.
    """

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="gate_policy")
    require_signed = models.BooleanField(
        default=False, help_text=_("Refuse pulls of images no trusted key has signed.")
    )
    block_severity = models.CharField(
        max_length=10,
        choices=BlockSeverity.choices,
        blank=True,
        default=BlockSeverity.OFF,
        help_text=_("Refuse pulls of images with vulnerabilities at or above this severity (or not scanned)."),
    )
    quota_bytes = models.BigIntegerField(
        null=True,
        blank=True,
        help_text=_("Storage the project may use, each blob counted once (empty: unlimited)."),
    )
    quota_artifacts = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Artifacts the project may hold (empty: unlimited).")
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "gate policies"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quota_bytes__isnull=True) | models.Q(quota_bytes__gte=0),
                name="gate_policy_quota_bytes_positive",
                violation_error_message=_("A storage quota cannot be negative."),
            )
        ]

    def __str__(self) -> str:
        return f"gate policy of {self.project}"

    @property
    def guards_pulls(self) -> bool:
        return self.require_signed or bool(self.block_severity)

    @property
    def has_quota(self) -> bool:
        return self.quota_bytes is not None or self.quota_artifacts is not None

    @property
    def is_active(self) -> bool:
        """Whether the gate has anything to enforce for the project (its failure mode follows)."""
        return self.guards_pulls or self.has_quota


class QuotaReservation(models.Model):
    """What a manifest PUT the gate let through under a quota will add to its project, held
    from the decision until Wharf's rows show it (`services.gate`), so that two pushes that
    each fit but together exceed the quota cannot both pass.

    `artifact`: the push adds one artifact (`digest` is new in the project). `blobs`:
    `[[digest, size], ...]`, the blobs the project did not hold then. Each part stops
    counting once its rows exist (the artifact at the registry's notification, its blobs
    when the manifest is read); the row goes then, at `expires_at` (a push that never
    arrived), or at once when the registry refuses the forwarded PUT.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    digest = models.CharField(max_length=100)
    artifact = models.BooleanField(default=False)
    blobs = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["project", "expires_at"], name="quota_reservation_live")]

    def __str__(self) -> str:
        return f"quota reservation of {self.digest} in {self.project_id}"
