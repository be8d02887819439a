"""Teams: named groups of users that hold roles in projects (see `repositories.ProjectTeam`).

System admins manage teams (the views and the API check that through
`accounts.permissions.can_manage_teams`); a directory login mirrors its groups into
teams through `sync_directory_teams`. Every change writes its audit event in the same
transaction."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from audit.context import Actor
from audit.models import AuditAction
from audit.services import record

from ..models import Team, TeamMember

User = get_user_model()


def _validate(team: Team) -> None:
    team.name = team.name.strip()
    team.full_clean(validate_unique=False, validate_constraints=False)
    if Team.objects.filter(name__iexact=team.name).exclude(pk=team.pk).exists():
        raise ValidationError({"name": _("A team called “%(name)s” already exists.") % {"name": team.name}})


def _save(team: Team) -> None:
    try:
        with transaction.atomic():
            team.save()
    except IntegrityError as exc:  # a concurrent create or rename won the race
        raise ValidationError(
            {"name": _("A team called “%(name)s” already exists.") % {"name": team.name}}
        ) from exc


@transaction.atomic
def create_team(*, actor: Actor, name: str, description: str = "", directory_group: str = "") -> Team:
    """Create an empty team."""
    team = Team(name=name, description=description, directory_group=directory_group)
    _validate(team)
    _save(team)
    details: dict[str, Any] = {"description": team.description}
    if directory_group:
        details["directory_group"] = directory_group
    record(AuditAction.TEAM_CREATE, actor=actor, target_type="team", target_name=team.name, details=details)
    return team


@transaction.atomic
def update_team(team: Team, *, actor: Actor, name: str | None = None, description: str | None = None) -> Team:
    """Rename a team or change its description (what is not given stays)."""
    team = Team.objects.select_for_update().get(pk=team.pk)
    before = {"name": team.name, "description": team.description}
    if name is not None:
        team.name = name
    if description is not None:
        team.description = description
    _validate(team)
    changed = {
        field: {"from": old, "to": getattr(team, field)}
        for field, old in before.items()
        if getattr(team, field) != old
    }
    if not changed:
        return team
    _save(team)
    record(AuditAction.TEAM_UPDATE, actor=actor, target_type="team", target_name=team.name, details=changed)
    return team


@transaction.atomic
def delete_team(team: Team, *, actor: Actor) -> None:
    """Delete a team: its members lose the roles it held in projects at once."""
    team = Team.objects.select_for_update().get(pk=team.pk)
    projects = sorted(team.project_memberships.values_list("project__name", flat=True))
    record(
        AuditAction.TEAM_DELETE,
        actor=actor,
        target_type="team",
        target_name=team.name,
        details={"members": team.memberships.count(), "projects": projects},
    )
    team.delete()


def _find_user(username: str) -> Any:
    username = (username or "").strip()
    user = User.objects.filter(username=username).first()
    if user is None:
        raise ValidationError({"username": _("No user is called “%(username)s”.") % {"username": username}})
    return user


@transaction.atomic
def add_team_member(team: Team, *, actor: Actor, username: str) -> TeamMember:
    """Put a user in a team."""
    user = _find_user(username)
    if TeamMember.objects.filter(team=team, user=user).exists():
        raise ValidationError(
            {
                "username": _("%(username)s is already in %(name)s.")
                % {"username": user.username, "name": team.name}
            }
        )
    try:
        with transaction.atomic():
            member = TeamMember.objects.create(team=team, user=user)
    except IntegrityError as exc:
        raise ValidationError(
            {
                "username": _("%(username)s is already in %(name)s.")
                % {"username": user.username, "name": team.name}
            }
        ) from exc
    record(
        AuditAction.TEAM_MEMBER_ADD,
        actor=actor,
        target_type="team",
        target_name=team.name,
        details={"username": user.username},
    )
    return member


@transaction.atomic
def remove_team_member(member: TeamMember, *, actor: Actor) -> None:
    """Take a user out of a team: they lose the team's project roles at once."""
    member = TeamMember.objects.select_related("team", "user").get(pk=member.pk)
    record(
        AuditAction.TEAM_MEMBER_REMOVE,
        actor=actor,
        target_type="team",
        target_name=member.team.name,
        details={"username": member.user.username},
    )
    member.delete()


@transaction.atomic
def sync_directory_teams(user: Any, groups: set[str], *, actor: Actor) -> None:
    """Make `user`'s directory teams exactly the teams mirroring `groups` (directory group
    names): a team is created for a group seen for the first time, the user joins the
    teams of their groups and leaves the directory teams of groups they left. Teams made
    in Wharf (no `directory_group`) are not touched."""
    teams = {
        t.directory_group: t for t in Team.objects.select_for_update().filter(directory_group__in=groups)
    }
    for group in sorted(groups - set(teams)):
        name = group if not Team.objects.filter(name__iexact=group).exists() else f"{group} (directory)"
        teams[group] = create_team(actor=actor, name=name, directory_group=group)
    current = {
        m.team.directory_group: m
        for m in TeamMember.objects.filter(user=user).exclude(team__directory_group="").select_related("team")
    }
    for group in sorted(groups - set(current)):
        add_team_member(teams[group], actor=actor, username=user.username)
    for group in sorted(set(current) - groups):
        remove_team_member(current[group], actor=actor)
