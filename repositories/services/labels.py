"""Labels: create, change and delete them, and put them on artifacts or take them off.

Each function validates (a `ValidationError` with field messages: forms show them
inline, the API answers 400), makes the change and writes its audit event in one
transaction. Callers check permissions first through `repositories.access`
(`require_label_manager`, `require_label_attach`); these functions only refuse what
is wrong whoever asks, such as a label of another project.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from audit.context import Actor
from audit.models import AuditAction
from audit.services import record
from portal.statements import Prepared

from ..models import Artifact, ArtifactLabel, Label, Project

MAX_ARTIFACTS_PER_CHANGE = 1000


def _audit(action: AuditAction, label: Label, actor: Actor, project: Project | None = None, **details: Any) -> None:
    record(
        action,
        actor=actor,
        project=project if project is not None else label.project,
        target_type="label",
        target_name=label.name,
        details={"label_id": label.pk, "scope": label.scope, **details},
    )


def _clean_fields(name: str, color: str, description: str) -> tuple[str, str, str]:
    name, color, description = name.strip(), color.strip().lower(), description.strip()
    if not name:
        raise ValidationError({"name": [_("A label needs a name.")]})
    if any(ord(c) < 32 for c in name):
        raise ValidationError({"name": [_("A label name cannot contain control characters.")]})
    if "," in name:  # retention rules list label names separated by commas
        raise ValidationError({"name": [_("A label name cannot contain a comma.")]})
    return name, color, description


def create_label(
    *, project: Project | None, name: str, color: str, description: str = "", actor: Actor
) -> Label:
    """A new label of `project`, or a global one when `project` is None."""
    name, color, description = _clean_fields(name, color, description)
    label = Label(project=project, name=name, color=color, description=description, created_by_id=actor.user_id)
    with transaction.atomic():
        label.full_clean()
        label.save()
        _audit(AuditAction.LABEL_CREATE, label, actor, color=label.color)
    return label


def update_label(label: Label, *, actor: Actor, **changes: str) -> Label:
    """Change `name`, `color` and/or `description`; the audit event lists what changed."""
    unknown = set(changes) - {"name", "color", "description"}
    if unknown:
        raise ValueError(f"Not a label field: {', '.join(sorted(unknown))}")
    name, color, description = _clean_fields(
        changes.get("name", label.name), changes.get("color", label.color), changes.get("description", label.description)
    )
    before = {"name": label.name, "color": label.color, "description": label.description}
    after = {"name": name, "color": color, "description": description}
    changed = {k: {"from": before[k], "to": v} for k, v in after.items() if before[k] != v}
    if not changed:
        return label
    with transaction.atomic():
        label.name, label.color, label.description = name, color, description
        label.full_clean()
        label.save(update_fields=["name", "color", "description"])
        _audit(AuditAction.LABEL_UPDATE, label, actor, changes=changed)
    return label


def delete_label(label: Label, *, actor: Actor) -> None:
    """Delete the label; it comes off every artifact that carried it."""
    with transaction.atomic():
        carried = ArtifactLabel.objects.filter(label=label).count()
        _audit(AuditAction.LABEL_DELETE, label, actor, artifacts=carried)
        label.delete()


def _check_usable(label: Label, project: Project) -> None:
    if label.project_id is not None and label.project_id != project.pk:
        raise ValidationError({"label": [_("This label belongs to another project.")]})


def _targets(artifacts: Iterable[Artifact], project: Project) -> list[Artifact]:
    found = {a.pk: a for a in artifacts}
    if len(found) > MAX_ARTIFACTS_PER_CHANGE:
        raise ValidationError({"artifacts": [_("At most %(max)s artifacts at once.") % {"max": MAX_ARTIFACTS_PER_CHANGE}]})
    for artifact in found.values():
        if artifact.repository.project_id != project.pk:
            raise ValueError("Every artifact must be in the project given.")
    return sorted(found.values(), key=lambda a: a.pk)


def add_label(label: Label, artifacts: Iterable[Artifact], *, project: Project, actor: Actor) -> int:
    """Put `label` on each of `artifacts` (all in `project`) that lacks it; returns how
    many gained it. One audit event names the repositories and digests."""
    _check_usable(label, project)
    targets = _targets(artifacts, project)
    with transaction.atomic():
        have = set(
            ArtifactLabel.objects.filter(label=label, artifact__in=[a.pk for a in targets]).values_list(
                "artifact_id", flat=True
            )
        )
        new = [a for a in targets if a.pk not in have]
        if not new:
            return 0
        ArtifactLabel.objects.bulk_create(
            [ArtifactLabel(artifact=a, label=label, added_by_id=actor.user_id) for a in new]
        )
        _audit(AuditAction.LABEL_ADD, label, actor, project=project, artifacts=_described(new))
    return len(new)


def remove_label(label: Label, artifacts: Iterable[Artifact], *, project: Project, actor: Actor) -> int:
    """Take `label` off each of `artifacts` (all in `project`) that has it; returns how many lost it."""
    targets = _targets(artifacts, project)
    with transaction.atomic():
        links = ArtifactLabel.objects.filter(label=label, artifact__in=[a.pk for a in targets])
        had = set(links.values_list("artifact_id", flat=True))
        gone = [a for a in targets if a.pk in had]
        if not gone:
            return 0
        links.delete()
        _audit(AuditAction.LABEL_REMOVE, label, actor, project=project, artifacts=_described(gone))
    return len(gone)


def _described(artifacts: list[Artifact]) -> list[str]:
    return [f"{a.repository.name}@{a.digest}" for a in artifacts[:100]] + (
        [f"... and {len(artifacts) - 100} more"] if len(artifacts) > 100 else []
    )


def labels_by_artifact(artifact_ids: Iterable[int]) -> dict[int, list[Label]]:
    """The labels of each artifact, by name, in one query (for list pages and the API)."""
    out: dict[int, list[Label]] = {}
    ids = sorted(set(artifact_ids))
    if not ids:
        return out
    for link in _LABEL_LINKS.rows(ids, using=ArtifactLabel.objects.db):
        out.setdefault(link.artifact_id, []).append(link.label)
    return out


def _label_links(artifact_ids: list[int]) -> QuerySet[ArtifactLabel]:
    links = ArtifactLabel.objects.filter(artifact_id__in_list=artifact_ids).select_related("label")
    return links.order_by("label__name", "label_id")


# Built and compiled once per process (`portal.statements`; on PostgreSQL, where the ids are
# one array parameter).
_LABEL_LINKS = Prepared(_label_links, list[int])
