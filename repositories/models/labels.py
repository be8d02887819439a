"""Labels (Harbor's meaning): a name, a colour and a description that people put on
artifacts to say what they are ("release", "qa-passed").

A label is global (`project` is null: made by system admins, usable in every
project) or belongs to one project (made by its project admins, usable there only).
Who may do what is `accounts.permissions` (`Perm.MANAGE_LABELS` for project labels,
system admins for global ones, `Perm.PUSH` to put a label on an artifact), asked
through `repositories.access`; every change is `repositories.services.labels`.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .projects import Project
from .registry import Artifact

LABEL_NAME_MAX = 128

label_color_validator = RegexValidator(
    r"^#[0-9a-fA-F]{6}\Z",
    message="A colour is # and six hexadecimal digits, e.g. #1f883d.",
    code="invalid_label_color",
)


class LabelQuerySet(models.QuerySet["Label"]):
    def usable_in(self, project: Project | int) -> LabelQuerySet:
        """The labels that may be put on artifacts of `project` (or its pk): global ones and its own."""
        return self.filter(models.Q(project__isnull=True) | models.Q(project=project))


class Label(models.Model):
    """A coloured, described label: global (`project` null) or one project's."""

    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.CASCADE, related_name="labels"
    )
    name = models.CharField(max_length=LABEL_NAME_MAX)
    color = models.CharField(max_length=7, default="#6c757d", validators=[label_color_validator])
    description = models.TextField(blank=True, max_length=1000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = LabelQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "name"],
                condition=models.Q(project__isnull=False),
                name="label_unique_project_name",
                violation_error_message=_("This project already has a label with this name."),
            ),
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(project__isnull=True),
                name="label_unique_global_name",
                violation_error_message=_("A global label with this name already exists."),
            ),
        ]

    def __str__(self) -> str:
        return self.name if self.project_id is None else f"{self.name} ({self.project_id})"

    @property
    def is_global(self) -> bool:
        return self.project_id is None

    @property
    def scope(self) -> str:
        return "global" if self.project_id is None else "project"


class ArtifactLabel(models.Model):
    """A label on an artifact; who put it there and when."""

    artifact = models.ForeignKey(Artifact, on_delete=models.CASCADE, related_name="label_links")
    label = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="artifact_links")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["label__name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["artifact", "label"],
                name="artifactlabel_unique",
                violation_error_message=_("The artifact already has this label."),
            )
        ]
        indexes = [models.Index(fields=["label", "artifact"], name="artifactlabel_label")]

    def __str__(self) -> str:
        return f"{self.label_id} on {self.artifact_id}"
