"""The one permission table: what each project role may do.

Every view, form, API endpoint and (later) the registry token service asks this
module, and nothing else, whether a user may do something in a project. The roles
and their meaning follow Harbor's (Project Admin, Maintainer, Developer, Guest,
Limited Guest). This module is pure: it imports no models, so it can be used from
anywhere without import cycles and tested without a database.
"""

from __future__ import annotations

import enum
from typing import Protocol

from django.db import models


class Role(models.TextChoices):
    """A user's role in one project, strongest first."""

    PROJECT_ADMIN = "project_admin", "Project Admin"
    MAINTAINER = "maintainer", "Maintainer"
    DEVELOPER = "developer", "Developer"
    GUEST = "guest", "Guest"
    LIMITED_GUEST = "limited_guest", "Limited Guest"


class Perm(enum.StrEnum):
    """Everything that can be allowed or refused inside a project."""

    VIEW_PROJECT = "view_project"
    UPDATE_PROJECT = "update_project"
    DELETE_PROJECT = "delete_project"
    VIEW_MEMBERS = "view_members"
    MANAGE_MEMBERS = "manage_members"
    VIEW_REPOSITORIES = "view_repositories"
    PULL = "pull"
    PUSH = "push"
    DELETE_ARTIFACT = "delete_artifact"
    SYNC = "sync"
    VIEW_AUDIT = "view_audit"
    EXPORT_AUDIT = "export_audit"
    VIEW_RETENTION = "view_retention"
    RUN_RETENTION = "run_retention"
    MANAGE_RETENTION = "manage_retention"
    MANAGE_IMMUTABLE = "manage_immutable"
    VIEW_ROBOTS = "view_robots"
    MANAGE_ROBOTS = "manage_robots"
    VIEW_SCANS = "view_scans"
    RUN_SCANS = "run_scans"
    MANAGE_ALLOWLIST = "manage_allowlist"


_LIMITED_GUEST = frozenset(
    {Perm.VIEW_PROJECT, Perm.VIEW_REPOSITORIES, Perm.PULL, Perm.VIEW_SCANS}
)
_GUEST = _LIMITED_GUEST | {Perm.VIEW_MEMBERS, Perm.VIEW_AUDIT, Perm.VIEW_RETENTION}
_DEVELOPER = _GUEST | {Perm.PUSH, Perm.VIEW_ROBOTS}
_MAINTAINER = _DEVELOPER | {
    Perm.DELETE_ARTIFACT,
    Perm.SYNC,
    Perm.EXPORT_AUDIT,
    Perm.RUN_RETENTION,
    Perm.RUN_SCANS,
}
_PROJECT_ADMIN = _MAINTAINER | {
    Perm.UPDATE_PROJECT,
    Perm.DELETE_PROJECT,
    Perm.MANAGE_MEMBERS,
    Perm.MANAGE_RETENTION,
    Perm.MANAGE_IMMUTABLE,
    Perm.MANAGE_ROBOTS,
    Perm.MANAGE_ALLOWLIST,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.PROJECT_ADMIN: frozenset(_PROJECT_ADMIN),
    Role.MAINTAINER: frozenset(_MAINTAINER),
    Role.DEVELOPER: frozenset(_DEVELOPER),
    Role.GUEST: frozenset(_GUEST),
    Role.LIMITED_GUEST: _LIMITED_GUEST,
}
"""The role table. Each role holds every permission of the roles below it."""

PUBLIC_PERMISSIONS: frozenset[Perm] = _LIMITED_GUEST
"""What anyone who can see a public project may do there without being a member."""

ALL_PERMISSIONS: frozenset[Perm] = frozenset(Perm)

NO_PERMISSIONS: frozenset[Perm] = frozenset()


class UserLike(Protocol):
    is_active: bool
    is_superuser: bool
    is_authenticated: bool


def project_permissions(
    user: UserLike | None, *, role: str | None, is_public: bool
) -> frozenset[Perm]:
    """What `user` may do in a project where they hold `role` (None if not a member).

    System admins may do everything; inactive users nothing; anonymous users and
    non-members get `PUBLIC_PERMISSIONS` on a public project and nothing otherwise.
    """
    if user is None or not user.is_authenticated:
        return PUBLIC_PERMISSIONS if is_public else NO_PERMISSIONS
    if not user.is_active:
        return NO_PERMISSIONS
    if user.is_superuser:
        return ALL_PERMISSIONS
    granted = ROLE_PERMISSIONS[Role(role)] if role else NO_PERMISSIONS
    if is_public:
        granted = granted | PUBLIC_PERMISSIONS
    return granted


def is_system_admin(user: UserLike | None) -> bool:
    """System admins are active superusers; they may do everything, everywhere."""
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_superuser)


def can_create_projects(user: UserLike, policy: str) -> bool:
    """Whether `user` may create a project under the site's creation policy."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or policy == "everyone"
