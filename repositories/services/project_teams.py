"""Teams as project members: a team's role in a project, held by each of its members.

Project Admins manage them (`Perm.MANAGE_MEMBERS`, checked by the views and the API
through `repositories.access`). A team never counts as the project's last Project
Admin: that stays a person (`services.projects`)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import Team
from audit.context import Actor
from audit.models import AuditAction
from audit.services import record

from ..models import Project, ProjectTeam
from .projects import check_role


def _find_team(name: str) -> Team:
    name = (name or "").strip()
    team = Team.objects.filter(name__iexact=name).first()
    if team is None:
        raise ValidationError({"team": _("No team is called “%(name)s”.") % {"name": name}})
    return team


@transaction.atomic
def add_project_team(project: Project, *, actor: Actor, team: str, role: str) -> ProjectTeam:
    """Give the team called `team` a role in the project."""
    found = _find_team(team)
    role_value = check_role(role)
    already = ValidationError(
        {
            "team": _("%(name)s is already a member of %(project)s.")
            % {"name": found.name, "project": project.name}
        }
    )
    if ProjectTeam.objects.filter(project=project, team=found).exists():
        raise already
    try:
        with transaction.atomic():
            grant = ProjectTeam.objects.create(project=project, team=found, role=role_value)
    except IntegrityError as exc:
        raise already from exc
    record(
        AuditAction.PROJECT_TEAM_ADD,
        actor=actor,
        project=project,
        target_type="team",
        target_name=found.name,
        details={"role": role_value.value},
    )
    return grant


@transaction.atomic
def change_project_team_role(grant: ProjectTeam, *, actor: Actor, role: str) -> ProjectTeam:
    """Change a team's role in a project."""
    grant = ProjectTeam.objects.select_for_update().select_related("project", "team").get(pk=grant.pk)
    role_value = check_role(role)
    if grant.role == role_value:
        return grant
    old = grant.role
    grant.role = role_value
    grant.save(update_fields=["role"])
    record(
        AuditAction.PROJECT_TEAM_CHANGE,
        actor=actor,
        project=grant.project,
        target_type="team",
        target_name=grant.team.name,
        details={"from": old, "to": role_value.value},
    )
    return grant


@transaction.atomic
def remove_project_team(grant: ProjectTeam, *, actor: Actor) -> None:
    """Take a team out of a project: its members keep only their own roles there."""
    grant = ProjectTeam.objects.select_for_update().select_related("project", "team").get(pk=grant.pk)
    record(
        AuditAction.PROJECT_TEAM_REMOVE,
        actor=actor,
        project=grant.project,
        target_type="team",
        target_name=grant.team.name,
        details={"role": grant.role},
    )
    grant.delete()
