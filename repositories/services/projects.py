"""Creating, changing and deleting projects and their memberships."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.permissions import Role
from audit.context import Actor
from audit.models import AuditAction
from audit.services import record

from ..models import Membership, Project

User = get_user_model()


# Names that would collide with page URLs under /projects/.
RESERVED_PROJECT_NAMES = frozenset({"new"})


def _validate_project(project: Project) -> None:
    project.full_clean(validate_unique=False, validate_constraints=False)
    if project.name in RESERVED_PROJECT_NAMES:
        raise ValidationError({"name": _("“%(name)s” is reserved; choose another name.") % {"name": project.name}})
    if Project.objects.filter(name=project.name).exclude(pk=project.pk).exists():
        raise ValidationError({"name": _("A project with this name already exists.")})


@transaction.atomic
def create_project(
    *,
    actor: Actor,
    name: str,
    is_public: bool = False,
    description: str = "",
    creator: Any = None,
) -> Project:
    """Create a project; its creator (if a person) becomes its Project Admin."""
    project = Project(
        name=name.strip(), is_public=is_public, description=description, created_by=creator
    )
    _validate_project(project)
    try:
        with transaction.atomic():
            project.save()
    except IntegrityError as exc:  # a concurrent create won the race
        raise ValidationError({"name": _("A project with this name already exists.")}) from exc
    record(
        AuditAction.PROJECT_CREATE,
        actor=actor,
        project=project,
        target_type="project",
        target_name=project.name,
        details={"is_public": is_public},
    )
    if creator is not None:
        Membership.objects.create(project=project, user=creator, role=Role.PROJECT_ADMIN)
        record(
            AuditAction.MEMBER_ADD,
            actor=actor,
            project=project,
            target_type="user",
            target_name=creator.get_username(),
            details={"role": Role.PROJECT_ADMIN.value},
        )
    return project


@transaction.atomic
def update_project(
    project: Project, *, actor: Actor, description: str | None = None, is_public: bool | None = None
) -> Project:
    """Change a project's description or visibility. The name cannot change: it is
    part of every repository's name in the registry."""
    project = Project.objects.select_for_update().get(pk=project.pk)
    changes: dict[str, Any] = {}
    if description is not None and description != project.description:
        changes["description"] = {"from": project.description, "to": description}
        project.description = description
    if is_public is not None and is_public != project.is_public:
        changes["is_public"] = {"from": project.is_public, "to": is_public}
        project.is_public = is_public
    if not changes:
        return project
    _validate_project(project)
    project.save()
    record(
        AuditAction.PROJECT_UPDATE,
        actor=actor,
        project=project,
        target_type="project",
        target_name=project.name,
        details=changes,
    )
    return project


@transaction.atomic
def delete_project(project: Project, *, actor: Actor) -> None:
    """Delete a project and its memberships. Its audit history stays."""
    record(
        AuditAction.PROJECT_DELETE,
        actor=actor,
        project=project,
        target_type="project",
        target_name=project.name,
        details={"members": project.memberships.count()},
    )
    project.delete()


def _find_user(username: str) -> Any:
    user = User.objects.filter(username=username.strip()).first()
    if user is None:
        raise ValidationError({"username": _("There is no user called “%(username)s”.") % {"username": username}})
    if not user.is_active:
        raise ValidationError({"username": _("The account “%(username)s” is deactivated.") % {"username": username}})
    return user


def check_role(role: str) -> Role:
    if role not in Role.values:
        raise ValidationError({"role": _("“%(role)s” is not a role. Choose one of: %(values)s.") % {"role": role, "values": ', '.join(Role.values)}})
    return Role(role)


def _ensure_an_admin_remains(project: Project, leaving: Membership) -> None:
    if leaving.role != Role.PROJECT_ADMIN:
        return
    others = (
        Membership.objects.select_for_update()
        .filter(project=project, role=Role.PROJECT_ADMIN)
        .exclude(pk=leaving.pk)
    )
    if not others.exists():
        raise ValidationError(
            {"role": _("A project needs at least one Project Admin: make someone else one first.")}
        )


@transaction.atomic
def add_member(project: Project, *, actor: Actor, username: str, role: str) -> Membership:
    """Give a user a role in the project."""
    user = _find_user(username)
    role_value = check_role(role)
    if Membership.objects.filter(project=project, user=user).exists():
        raise ValidationError({"username": _("%(username)s is already a member of %(name)s.") % {"username": user.username, "name": project.name}})
    try:
        with transaction.atomic():
            membership = Membership.objects.create(project=project, user=user, role=role_value)
    except IntegrityError as exc:
        raise ValidationError({"username": _("%(username)s is already a member of %(name)s.") % {"username": user.username, "name": project.name}}) from exc
    record(
        AuditAction.MEMBER_ADD,
        actor=actor,
        project=project,
        target_type="user",
        target_name=user.username,
        details={"role": role_value.value},
    )
    return membership


@transaction.atomic
def change_member_role(membership: Membership, *, actor: Actor, role: str) -> Membership:
    """Change a member's role. The last Project Admin cannot be demoted."""
    membership = Membership.objects.select_for_update().select_related("project", "user").get(pk=membership.pk)
    role_value = check_role(role)
    if membership.role == role_value:
        return membership
    if role_value != Role.PROJECT_ADMIN:
        _ensure_an_admin_remains(membership.project, membership)
    old = membership.role
    membership.role = role_value
    membership.save(update_fields=["role"])
    record(
        AuditAction.MEMBER_CHANGE,
        actor=actor,
        project=membership.project,
        target_type="user",
        target_name=membership.user.username,
        details={"from": old, "to": role_value.value},
    )
    return membership


@transaction.atomic
def remove_member(membership: Membership, *, actor: Actor) -> None:
    """Remove a member. The last Project Admin cannot be removed."""
    membership = Membership.objects.select_for_update().select_related("project", "user").get(pk=membership.pk)
    _ensure_an_admin_remains(membership.project, membership)
    record(
        AuditAction.MEMBER_REMOVE,
        actor=actor,
        project=membership.project,
        target_type="user",
        target_name=membership.user.username,
        details={"role": membership.role},
    )
    membership.delete()
