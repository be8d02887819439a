"""The system-wide default retention policy: set it (system admins), opt a project out
(where the site allows), and say which policy governs a project and where it comes from.

`effective_policy` is the one answer the Retention tab, the API and runs use; the rule
itself is the pure `repositories.retention.defaults.policy_origin`. Every change is
audited in its own transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext

from audit.context import Actor
from audit.models import AuditAction
from audit.services import record

from .. import retention as engine
from ..models import DefaultRetentionPolicy, Project, RetentionDefaultOptOut, RetentionPolicy, RetentionRun
from ..retention.defaults import Origin, policy_origin
from .retention import _raise, parse_policy, policy_data, schedule_matches, validate_schedule


def opt_out_allowed() -> bool:
    return bool(settings.WHARF_RETENTION_DEFAULT_OPT_OUT)


def default_row() -> DefaultRetentionPolicy | None:
    return DefaultRetentionPolicy.objects.select_related("updated_by").filter(pk=1).first()


def default_data(row: DefaultRetentionPolicy | None) -> dict[str, Any]:
    """The default as policy data (the services' shape); empty and disabled when unset."""
    if row is None:
        return {"enabled": False, "schedule": "", "allow_empty_repository": False, "rules": []}
    return {
        "enabled": row.enabled,
        "schedule": row.schedule,
        "allow_empty_repository": row.allow_empty_repository,
        "rules": list(row.rules),
    }


@dataclass(frozen=True)
class EffectivePolicy:
    """The policy governing a project now, and where it comes from."""

    origin: Origin
    data: dict[str, Any]  # policy data; for `none`, an empty disabled policy
    default: DefaultRetentionPolicy | None
    opted_out: bool


def effective_policy(project: Project) -> EffectivePolicy:
    """Which policy governs `project`: its own (with rules), else the default, else none."""
    own = RetentionPolicy.objects.filter(project=project).first()
    own_data = policy_data(own)
    row = default_row()
    defaults = default_data(row)
    opted_out = RetentionDefaultOptOut.objects.filter(project=project).exists()
    origin = policy_origin(
        own_rules=len(own_data["rules"]),
        default_rules=len(defaults["rules"]),
        opted_out=opted_out,
        opt_out_allowed=opt_out_allowed(),
    )
    data = own_data if origin is Origin.PROJECT else defaults if origin is Origin.DEFAULT else policy_data(None)
    return EffectivePolicy(origin, data, row, opted_out)


def run_snapshot(project: Project) -> dict[str, Any] | None:
    """The policy data a run of `project` evaluates (with its `origin`), or None when no
    policy governs it."""
    effective = effective_policy(project)
    if effective.origin is Origin.NONE:
        return None
    return {**effective.data, "origin": effective.origin.value}


def save_default(
    actor: Actor,
    *,
    enabled: bool,
    schedule: str,
    allow_empty_repository: bool,
    rules: list[dict[str, Any]],
    user: Any = None,
) -> DefaultRetentionPolicy:
    """Validate and store the default policy (the caller checked the user is a system admin)."""
    schedule = schedule.strip()
    policy, problems = parse_policy({"rules": rules, "allow_empty_repository": allow_empty_repository})
    message = validate_schedule(schedule)
    if message:
        problems.insert(0, engine.Problem("schedule", message))
    _raise(problems)
    with transaction.atomic():
        row, _ = DefaultRetentionPolicy.objects.select_for_update().get_or_create(pk=1)
        before = default_data(row)
        row.enabled, row.schedule, row.allow_empty_repository = enabled, schedule, allow_empty_repository
        # Stored as the services answer them, so reading it back gives what a project's policy gives.
        row.rules = [_rule_data(rule) for rule in policy.rules]
        row.updated_by = user if getattr(user, "pk", None) else None
        row.updated_at = timezone.now()
        row.save()
        after = default_data(row)
        if before != after:
            record(
                AuditAction.RETENTION_DEFAULT_UPDATE,
                actor=actor,
                target_type="retention_default",
                target_name="default",
                details={"before": before, "after": after},
            )
    return row


def _rule_data(rule: engine.Rule) -> dict[str, Any]:
    data: dict[str, Any] = {
        "repositories": {"include": list(rule.repositories.include), "exclude": list(rule.repositories.exclude)},
        "tags": {"include": list(rule.tags.include), "exclude": list(rule.tags.exclude), "untagged": rule.tags.untagged},
        "template": rule.template.value,
        "n": rule.n,
    }
    if rule.labels:
        data["labels"] = {"with": list(rule.labels.with_all), "without": list(rule.labels.without_any)}
    return data


def set_opt_out(project: Project, opted_out: bool, actor: Actor, user: Any = None) -> bool:
    """Opt `project` out of the default (or back in); refused unless the site allows it.
    Returns whether anything changed."""
    if opted_out and not opt_out_allowed():
        raise ValidationError({"opted_out": [gettext("This site does not let projects opt out of the default policy.")]})
    with transaction.atomic():
        existing = RetentionDefaultOptOut.objects.filter(project=project)
        if opted_out == existing.exists():
            return False
        if opted_out:
            RetentionDefaultOptOut.objects.create(project=project, created_by=user if getattr(user, "pk", None) else None)
        else:
            existing.delete()
        record(
            AuditAction.RETENTION_DEFAULT_OPT_OUT,
            actor=actor,
            project=project,
            target_type="retention_default",
            target_name=project.name,
            details={"opted_out": opted_out},
        )
    return True


def governed_by_default() -> list[Project]:
    """The projects the default governs now, in one query."""
    row = default_row()
    if row is None or not row.rules:
        return []
    projects = Project.objects.annotate(own_rules=Count("retention_policy__rules")).filter(own_rules=0)
    if opt_out_allowed():
        projects = projects.filter(~Q(retention_default_opt_out__isnull=False))
    return list(projects.order_by("name"))


def due_default_runs(now: datetime | None = None) -> list[RetentionRun]:
    """Queue a run for each project the default governs when the enabled default's
    schedule is due this minute (at most once per minute, like project policies)."""
    from .retention_runs import request_run  # the run code imports this module's answers

    now = (now or timezone.now()).replace(second=0, microsecond=0)
    row = default_row()
    if row is None or not row.enabled or not row.schedule or not row.rules:
        return []
    if row.last_scheduled_at is not None and row.last_scheduled_at >= now:
        return []
    try:
        if not schedule_matches(row.schedule, now):
            return []
    except ValueError:
        return []
    created: list[RetentionRun] = []
    with transaction.atomic():
        marked = DefaultRetentionPolicy.objects.filter(pk=row.pk).filter(
            Q(last_scheduled_at__isnull=True) | Q(last_scheduled_at__lt=now)
        ).update(last_scheduled_at=now)
        if not marked:
            return []
        for project in governed_by_default():
            run, new = request_run(project, Actor.system("schedule"), dry_run=False, trigger=RetentionRun.Trigger.SCHEDULE)
            if new:
                created.append(run)
    return created
