"""Cosign signature verification: a project's trusted keys and each artifact's verdict."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .projects import Project
from .registry import Artifact


class TrustedKey(models.Model):
    """A public key (PEM, as `cosign generate-key-pair` writes `cosign.pub`) whose
    signatures a project trusts. `fingerprint` is the SHA-256 of its DER form."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="trusted_keys")
    name = models.CharField(max_length=100)
    public_key = models.TextField(
        help_text=_("PEM public key: ECDSA P-256, RSA (2048 bits or more) or Ed25519.")
    )
    algorithm = models.CharField(max_length=16)
    fingerprint = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "name"],
                name="trusted_key_unique_name",
                violation_error_message=_("This project already has a key with this name."),
            ),
            models.UniqueConstraint(
                fields=["project", "fingerprint"],
                name="trusted_key_unique_fingerprint",
                violation_error_message=_("This project already trusts this key."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project.name}: {self.name}"


class SignatureStatus(models.TextChoices):
    SIGNED = "signed", _("Signed")
    INVALID = "invalid", _("Signature invalid")
    UNSIGNED = "unsigned", _("Unsigned")


class SignatureReason(models.TextChoices):
    NONE = "", "—"
    OTHER_DIGEST = "other_digest", _("signs another digest")
    TAMPERED = "tampered", _("payload changed after signing")
    WRONG_KEY = "wrong_key", _("no trusted key verifies it")
    UNTRUSTED = "untrusted", _("its certificate chain leads to no trusted CA")
    NO_KEYS = "no_keys", _("the project trusts no key")
    MALFORMED = "malformed", _("malformed signature")
    UNREADABLE = "unreadable", _("signature could not be read from the registry")


class ArtifactSignature(models.Model):
    """The last verdict on an artifact's cosign signatures. No row reads as unsigned:
    rows are written for artifacts that have signature accessories, and rewritten
    when one is pushed or the project's keys change (`services.signatures`)."""

    artifact = models.OneToOneField(Artifact, on_delete=models.CASCADE, related_name="signature")
    status = models.CharField(max_length=8, choices=SignatureStatus.choices, default=SignatureStatus.UNSIGNED)
    key = models.ForeignKey(TrustedKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    key_name = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=12, choices=SignatureReason.choices, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    checked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["status"], name="artifact_signature_status")]

    def __str__(self) -> str:
        return f"{self.artifact_id}: {self.status}"
