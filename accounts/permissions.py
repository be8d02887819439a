"""The one permission table: what each project role may do.

Every view, form, API endpoint and the registry token service asks this module,
and nothing else, whether a user may do something in a project. The roles and
their meaning follow Harbor's (Project Admin, Maintainer, Developer, Guest,
Limited Guest). The rules around the table (system admins, inactive accounts,
public projects) are data too (`Standing`, `roles_granting`, `public_grants`), so
the database queries that list projects (`ProjectQuerySet.where_user_may`) are
built from the same answers instead of re-stating them. This module is pure: it
imports no models, so it can be used from anywhere without import cycles and
tested without a database.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Protocol

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """A user's role in one project, strongest first."""

    PROJECT_ADMIN = "project_admin", _("Project Admin")
    MAINTAINER = "maintainer", _("Maintainer")
    DEVELOPER = "developer", _("Developer")
    GUEST = "guest", _("Guest")
    LIMITED_GUEST = "limited_guest", _("Limited Guest")


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
    MANAGE_WEBHOOKS = "manage_webhooks"
    MANAGE_LABELS = "manage_labels"  # the project's own labels; putting one on an artifact is PUSH
    MANAGE_SIGNING_KEYS = "manage_signing_keys"


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
    Perm.MANAGE_WEBHOOKS,
    Perm.MANAGE_LABELS,
    Perm.MANAGE_SIGNING_KEYS,
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


class Standing(enum.Enum):
    """Where someone stands before any project is looked at: the rules around the table.

    Each standing says which grants count for it; `project_permissions` and the
    database queries (`ProjectQuerySet.where_user_may`) both read these answers
    instead of re-stating the rules.
    """

    ANONYMOUS = "anonymous"  # not signed in: only what public projects give everyone
    INACTIVE = "inactive"  # a deactivated account: nothing anywhere, whatever its flags or roles
    USER = "user"  # an active account: its role in the project, plus what public projects give
    SYSTEM_ADMIN = "system_admin"  # an active superuser: everything everywhere, member or not

    @property
    def holds_everything(self) -> bool:
        """Whether every permission in every project is granted, without looking further."""
        return self is Standing.SYSTEM_ADMIN

    @property
    def holds_role_grants(self) -> bool:
        """Whether the role table counts: what the member's role grants in the project."""
        return self is Standing.USER

    @property
    def holds_public_grants(self) -> bool:
        """Whether `PUBLIC_PERMISSIONS` count in a public project."""
        return self in (Standing.ANONYMOUS, Standing.USER)


def highest_role(roles: Iterable[str | None]) -> Role | None:
    """The strongest of `roles` (`Role` lists them strongest first), None if there is none.

    A user's role in a project is the highest of their own role and their teams' roles;
    `ProjectQuerySet.with_role` computes the same in the database."""
    held = {Role(role) for role in roles if role}
    return next((role for role in Role if role in held), None)


def standing(user: UserLike | None) -> Standing:
    """The one reading of a user's flags. The order matters: an anonymous user object
    is inactive too, and an inactive superuser is refused everything."""
    if user is None or not user.is_authenticated:
        return Standing.ANONYMOUS
    if not user.is_active:
        return Standing.INACTIVE
    if user.is_superuser:
        return Standing.SYSTEM_ADMIN
    return Standing.USER


def roles_granting(perm: Perm) -> frozenset[Role]:
    """The roles whose members hold `perm`, read from the role table."""
    return frozenset(role for role, perms in ROLE_PERMISSIONS.items() if perm in perms)


def public_grants(perm: Perm) -> bool:
    """Whether a public project grants `perm` to everyone who holds public grants."""
    return perm in PUBLIC_PERMISSIONS


def public_permissions(is_public: bool) -> frozenset[Perm]:
    """What a project gives everyone who holds public grants, members or not (anonymous
    clients, robot accounts, any user): view and pull when it is public, else nothing."""
    return PUBLIC_PERMISSIONS if is_public else NO_PERMISSIONS


def project_permissions(
    user: UserLike | None, *, role: str | None, is_public: bool
) -> frozenset[Perm]:
    """What `user` may do in a project where they hold `role` (None if not a member): their
    effective role, the `highest_role` of their own and their teams' roles there.

    System admins may do everything; inactive users nothing; anonymous users and
    non-members get `PUBLIC_PERMISSIONS` on a public project and nothing otherwise.
    """
    who = standing(user)
    if who.holds_everything:
        return ALL_PERMISSIONS
    granted = NO_PERMISSIONS
    if who.holds_role_grants and role:
        granted = granted | ROLE_PERMISSIONS[Role(role)]
    if who.holds_public_grants:
        granted = granted | public_permissions(is_public)
    return granted


def is_system_admin(user: UserLike | None) -> bool:
    """System admins are active superusers; they may do everything, everywhere."""
    return standing(user).holds_everything


def may_manage_global_labels(user: UserLike | None) -> bool:
    """Global labels (usable in every project) are made, changed and removed by system
    admins only, as in Harbor; a project's own labels need `Perm.MANAGE_LABELS` there."""
    return standing(user).holds_everything


def may_manage_default_retention(user: UserLike | None) -> bool:
    """The system-wide default retention policy is set by system admins only; opting a
    project out of it (where the site allows) needs `Perm.MANAGE_RETENTION` there."""
    return standing(user).holds_everything


LABEL_ATTACH_PERMISSION = Perm.PUSH
"""Putting a label on an artifact, or taking it off, needs push permission in its project."""

PROMOTE_SOURCE_PERMISSION = Perm.PULL
"""Promoting an artifact to another project needs pull where it comes from ..."""
PROMOTE_TARGET_PERMISSION = Perm.PUSH
"""... and push in the project it goes to."""


def may_manage_replication(user: UserLike | None) -> bool:
    """Registry endpoints (with their stored credentials), replication rules and runs are
    system-wide, as in Harbor: system admins only."""
    return standing(user).holds_everything


def can_create_projects(user: UserLike, policy: str) -> bool:
    """Whether `user` may create a project under the site's creation policy."""
    who = standing(user)
    return who.holds_everything or (who is Standing.USER and policy == "everyone")


def can_manage_teams(user: UserLike | None) -> bool:
    """Whether `user` may create, change and delete teams and their members: system admins.
    Who may give a team a role in a project is `Perm.MANAGE_MEMBERS` there, like a user."""
    return standing(user).holds_everything
