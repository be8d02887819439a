"""Replication rules: create, change, delete (audited in the same transaction), with
every field validated once here for the pages and the API."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from audit.context import Actor
from audit.models import AuditAction
from audit.services import record
from repositories.globs import PatternKind, validate_pattern
from repositories.registry.client import REPOSITORY_RE
from repositories.services.retention import validate_schedule

from ..models import ProxyCache, RegistryEndpoint, ReplicationRule

FIELDS = (
    "name",
    "description",
    "endpoint",
    "direction",
    "repositories",
    "tags",
    "labels",
    "destination_namespace",
    "replace_namespace",
    "trigger",
    "schedule",
    "override",
    "delete_remote",
    "concurrency",
    "enabled",
)
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
MAX_CONCURRENCY = 64


def _validate(rule: ReplicationRule) -> None:
    errors: dict[str, str] = {}
    if not NAME_RE.match(rule.name):
        errors["name"] = _("Up to 100 letters, digits, dots, dashes and underscores.")
    elif ReplicationRule.objects.filter(name=rule.name).exclude(pk=rule.pk).exists():
        errors["name"] = _("A rule with this name exists already.")
    if rule.direction not in ReplicationRule.Direction.values:
        errors["direction"] = _("Choose push or pull.")
    if rule.trigger not in ReplicationRule.Trigger.values:
        errors["trigger"] = _("Choose manual, scheduled or on push.")
    for field, kind in (("repositories", PatternKind.REPOSITORY), ("tags", PatternKind.TAG)):
        problem = validate_pattern(getattr(rule, field) or "", kind)
        if problem:
            errors[field] = problem
    namespace = rule.destination_namespace
    if namespace and not REPOSITORY_RE.match(namespace):
        errors["destination_namespace"] = (
            _("A repository path: lowercase letters, digits, separators, joined by /.")
        )
    if rule.trigger == ReplicationRule.Trigger.SCHEDULED:
        problem = (
            validate_schedule(rule.schedule)
            if rule.schedule.strip()
            else _("A scheduled rule needs a schedule.")
        )
        if problem:
            errors["schedule"] = problem
    elif rule.schedule.strip():
        problem = validate_schedule(rule.schedule)
        if problem:
            errors["schedule"] = problem
    if rule.trigger == ReplicationRule.Trigger.ON_PUSH and rule.direction == ReplicationRule.Direction.PULL:
        errors["trigger"] = _("On push starts push rules only: Wharf hears of pushes to its own registry.")
    if rule.direction == ReplicationRule.Direction.PULL and rule.labels:
        errors["labels"] = _("Label filters apply to push rules: labels are Wharf's, the remote has none.")
    if rule.direction == ReplicationRule.Direction.PULL and rule.delete_remote:
        errors["delete_remote"] = _("Deleting on the remote applies to push rules.")
    if not isinstance(rule.labels, list) or not all(isinstance(x, str) and x.strip() for x in rule.labels):
        errors["labels"] = _("A list of label names.")
    if not 0 <= rule.concurrency <= MAX_CONCURRENCY:
        errors["concurrency"] = _("Between 0 (the site default) and %(max)s.") % {"max": MAX_CONCURRENCY}
    if errors:
        raise ValidationError(errors)


def _snapshot(rule: ReplicationRule) -> dict[str, Any]:
    data = {field: getattr(rule, field) for field in FIELDS if field != "endpoint"}
    data["endpoint"] = rule.endpoint.name if rule.endpoint_id else None
    return data


def _apply(rule: ReplicationRule, fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"not rule fields: {sorted(unknown)}")
    for field, value in fields.items():
        if isinstance(value, str) and field != "description":
            value = value.strip()
        if field == "labels":
            value = sorted({str(v).strip() for v in (value or []) if str(v).strip()})
        setattr(rule, field, value)
    if not isinstance(rule.endpoint, RegistryEndpoint):
        raise ValidationError({"endpoint": _("Choose a registry endpoint.")})


def create_rule(*, actor: Actor, **fields: Any) -> ReplicationRule:
    rule = ReplicationRule(created_by_id=actor.user_id)
    _apply(rule, fields)
    _validate(rule)
    with transaction.atomic():
        rule.save()
        record(
            AuditAction.REPLICATION_RULE_CREATE,
            actor=actor,
            target_type="replication_rule",
            target_name=rule.name,
            details=_snapshot(rule),
        )
    return rule


def update_rule(rule: ReplicationRule, *, actor: Actor, **fields: Any) -> ReplicationRule:
    before = _snapshot(rule)
    _apply(rule, fields)
    _validate(rule)
    after = _snapshot(rule)
    with transaction.atomic():
        rule.save()
        record(
            AuditAction.REPLICATION_RULE_UPDATE,
            actor=actor,
            target_type="replication_rule",
            target_name=rule.name,
            details={
                "changes": {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
            },
        )
    return rule


def delete_rule(rule: ReplicationRule, *, actor: Actor) -> None:
    cache = ProxyCache.objects.filter(rule=rule).select_related("project").first()
    if cache is not None:
        raise ValidationError(
            f"This rule imports the proxy cache of {cache.project.name}; remove the proxy cache instead."
        )
    if rule.runs.filter(status__in=["queued", "running"]).exists():
        raise ValidationError(
            _("A run of this rule is queued or running; delete the rule when it has finished.")
        )
    with transaction.atomic():
        details = _snapshot(rule)
        rule.delete()
        record(
            AuditAction.REPLICATION_RULE_DELETE,
            actor=actor,
            target_type="replication_rule",
            target_name=details["name"],
            details=details,
        )
