"""Robot accounts: create (secret shown once), regenerate, disable/enable, delete; all audited.

Callers check who may do this (Perm.MANAGE_ROBOTS in the project; system robots,
which span projects, only for system admins: checked here too, as the one place
that cannot be bypassed by a new caller).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import is_system_admin
from audit.context import Actor
from audit.models import AuditAction
from audit.services import record
from repositories.globs import PatternKind, validate_pattern

from ..models import ROBOT_ACTIONS, RobotAccount, hash_token_secret

DEFAULT_LIFETIME = dt.timedelta(days=30)


class _Default:
    """Marker: 'expires_at not given' (30 days), distinct from None (never)."""


DEFAULT = _Default()


def _audit(action: AuditAction, robot: RobotAccount, actor: Actor, details: dict[str, Any] | None = None) -> None:
    record(
        action,
        actor=actor,
        project=robot.project,
        target_type="robot",
        target_name=robot.full_name,
        details=details or {},
    )


def clean_repository_patterns(patterns: Iterable[str]) -> list[str]:
    """The non-blank patterns, each a usable repository glob (`repositories.globs`)."""
    cleaned = [p.strip() for p in patterns if p and p.strip()]
    problems = [
        f"{pattern[:60]}: {message}"
        for pattern in cleaned
        if (message := validate_pattern(pattern, PatternKind.REPOSITORY))
    ]
    if problems:
        raise ValidationError({"repository_patterns": problems})
    return cleaned


@transaction.atomic
def create_robot(
    *,
    actor: Actor,
    created_by: Any,
    name: str,
    actions: Iterable[str],
    project: Any = None,
    project_names: Iterable[str] = (),
    description: str = "",
    repository_patterns: Iterable[str] = (),
    expires_at: dt.datetime | _Default | None = DEFAULT,
) -> tuple[RobotAccount, str]:
    """Create a robot; returns it and its secret, which is never stored or shown again."""
    if project is None and not is_system_admin(created_by):
        raise PermissionDenied(_("Only system admins may create system robot accounts."))
    chosen = set(actions)
    if not chosen or not chosen <= set(ROBOT_ACTIONS):
        raise ValidationError({"actions": _("Choose one or more of %(actions)s.") % {"actions": ', '.join(ROBOT_ACTIONS)}})
    if isinstance(expires_at, _Default):
        expires_at = timezone.now() + DEFAULT_LIFETIME
    elif expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": _("The expiry must be in the future.")})
    secret = RobotAccount.new_secret()
    robot = RobotAccount(
        project=project,
        name=name.strip(),
        project_names=sorted(set(project_names)) if project is None else [],
        description=description,
        can_pull="pull" in chosen,
        can_push="push" in chosen,
        can_delete="delete" in chosen,
        repository_patterns=clean_repository_patterns(repository_patterns),
        expires_at=expires_at,
        secret_hash=hash_token_secret(secret),
        created_by=created_by,
    )
    robot.full_clean()
    robot.save()
    _audit(
        AuditAction.ROBOT_CREATE,
        robot,
        actor,
        {
            "actions": sorted(robot.actions),
            "projects": robot.project_names,
            "repository_patterns": robot.repository_patterns,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return robot, secret


@transaction.atomic
def regenerate_secret(robot: RobotAccount, *, actor: Actor) -> str:
    """A new secret; the old one stops working at once."""
    secret = RobotAccount.new_secret()
    robot.secret_hash = hash_token_secret(secret)
    robot.save(update_fields=["secret_hash"])
    _audit(AuditAction.ROBOT_REGENERATE, robot, actor)
    return secret


@transaction.atomic
def set_robot_enabled(robot: RobotAccount, enabled: bool, *, actor: Actor) -> RobotAccount:
    if robot.enabled == enabled:
        return robot
    robot.enabled = enabled
    robot.save(update_fields=["enabled"])
    _audit(AuditAction.ROBOT_ENABLE if enabled else AuditAction.ROBOT_DISABLE, robot, actor)
    return robot


@transaction.atomic
def delete_robot(robot: RobotAccount, *, actor: Actor) -> None:
    _audit(AuditAction.ROBOT_DELETE, robot, actor)
    robot.delete()


UNCHANGED: Any = object()
"""Marker for `update_robot`: 'leave this field as it is' (None means 'never' for expiry)."""


@transaction.atomic
def update_robot(
    robot: RobotAccount,
    *,
    actor: Actor,
    description: str | Any = UNCHANGED,
    actions: Iterable[str] | Any = UNCHANGED,
    repository_patterns: Iterable[str] | Any = UNCHANGED,
    expires_at: dt.datetime | Any | None = UNCHANGED,
    enabled: bool | Any = UNCHANGED,
    project_names: Iterable[str] | Any = UNCHANGED,
) -> RobotAccount:
    """Change what the robot may do and where; audited once (`robot.update`) with the
    changed fields, plus `robot.enable`/`robot.disable` when the flag flips. The
    secret is untouched (see `regenerate_secret`)."""
    changes: dict[str, Any] = {}
    if description is not UNCHANGED and description != robot.description:
        robot.description = description
        changes["description"] = description
    if actions is not UNCHANGED:
        chosen = set(actions)
        if not chosen or not chosen <= set(ROBOT_ACTIONS):
            raise ValidationError({"actions": _("Choose one or more of %(actions)s.") % {"actions": ', '.join(ROBOT_ACTIONS)}})
        if chosen != robot.actions:
            robot.can_pull, robot.can_push, robot.can_delete = ("pull" in chosen, "push" in chosen, "delete" in chosen)
            changes["actions"] = sorted(chosen)
    if repository_patterns is not UNCHANGED:
        patterns = clean_repository_patterns(repository_patterns)
        if patterns != robot.repository_patterns:
            robot.repository_patterns = patterns
            changes["repository_patterns"] = patterns
    if expires_at is not UNCHANGED and expires_at != robot.expires_at:
        if expires_at is not None and expires_at <= timezone.now():
            raise ValidationError({"expires_at": _("The expiry must be in the future.")})
        robot.expires_at = expires_at
        changes["expires_at"] = expires_at.isoformat() if expires_at else None
    if project_names is not UNCHANGED:
        if robot.project_id is not None:
            raise ValidationError({"project_names": _("Only system robot accounts span projects.")})
        names = sorted(set(project_names))
        if names != robot.project_names:
            robot.project_names = names
            changes["projects"] = names
    if changes:
        robot.full_clean()
        robot.save()
        _audit(AuditAction.ROBOT_UPDATE, robot, actor, {"changed": changes})
    if enabled is not UNCHANGED:
        set_robot_enabled(robot, bool(enabled), actor=actor)
    return robot
