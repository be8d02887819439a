"""Team services: each change writes its audit event with it, bad input is a field error."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Team
from accounts.permissions import Perm, Role
from accounts.services import teams as team_services
from audit.models import AuditAction, AuditEvent
from repositories.models import Project, ProjectTeam
from repositories.services.project_teams import (
    add_project_team,
    change_project_team_role,
    remove_project_team,
)
from tests.teams.conftest import ACTOR, TeamWorld


def _last(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).order_by("-id").first()  # type: ignore[return-value]


def test_every_team_change_is_audited(teams: TeamWorld) -> None:
    assert _last(AuditAction.TEAM_CREATE).target_name == "admins"
    assert _last(AuditAction.TEAM_MEMBER_ADD).details == {"username": "twoteams"}
    assert _last(AuditAction.TEAM_MEMBER_REMOVE).details == {"username": "leaver"}
    added = _last(AuditAction.PROJECT_TEAM_ADD)
    assert (added.project_id, added.target_type, added.target_name) == (
        teams.world.private.pk,
        "team",
        "admins",
    )

    grant = ProjectTeam.objects.get(team=teams.builders)
    change_project_team_role(grant, actor=ACTOR, role=Role.MAINTAINER)
    assert _last(AuditAction.PROJECT_TEAM_CHANGE).details == {"from": "developer", "to": "maintainer"}

    team_services.update_team(teams.builders, actor=ACTOR, name="makers")
    assert _last(AuditAction.TEAM_UPDATE).details == {"name": {"from": "builders", "to": "makers"}}

    remove_project_team(grant, actor=ACTOR)
    assert _last(AuditAction.PROJECT_TEAM_REMOVE).details == {"role": "maintainer"}

    team_services.delete_team(teams.admins, actor=ACTOR)
    deleted = _last(AuditAction.TEAM_DELETE)
    assert deleted.details == {"members": 1, "projects": ["acme"]}
    assert not ProjectTeam.objects.filter(team_id=teams.admins.pk).exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "This field cannot be blank."), ("-bad", "Use letters"), ("Builders", "already exists")],
)
def test_bad_team_names_are_field_errors_and_write_nothing(teams: TeamWorld, name: str, message: str) -> None:
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as raised:
        team_services.create_team(actor=ACTOR, name=name)
    assert message in " ".join(raised.value.message_dict["name"])
    assert AuditEvent.objects.count() == before
    assert Team.objects.count() == 2


def test_adding_a_team_twice_or_an_unknown_team_is_a_field_error(teams: TeamWorld) -> None:
    for team, message in (("builders", "already a member"), ("nobody", "No team")):
        with pytest.raises(ValidationError) as raised:
            add_project_team(teams.world.private, actor=ACTOR, team=team, role=Role.GUEST)
        assert message in raised.value.message_dict["team"][0]
    with pytest.raises(ValidationError) as raised:
        add_project_team(teams.world.public, actor=ACTOR, team="builders", role="owner")
    assert "role" in raised.value.message_dict


def test_a_user_in_a_team_twice_is_a_field_error(teams: TeamWorld) -> None:
    with pytest.raises(ValidationError) as raised:
        team_services.add_team_member(teams.builders, actor=ACTOR, username="teamdev")
    assert "already in builders" in raised.value.message_dict["username"][0]
    with pytest.raises(ValidationError):
        team_services.add_team_member(teams.builders, actor=ACTOR, username="ghost")


def test_team_roles_count_until_the_team_or_the_membership_goes(teams: TeamWorld, db: Any) -> None:
    teamdev = teams.world.users["teamdev"]
    assert Project.objects.with_role(teamdev).get(name="acme").my_role == Role.DEVELOPER
    assert (
        Project.objects.with_role(teams.world.users["twoteams"]).get(name="acme").my_role
        == Role.PROJECT_ADMIN
    )
    assert not Project.objects.for_user(teams.world.users["leaver"]).filter(name="acme").exists()
    # A guest who joins a Project Admin team acts as Project Admin; their own row stays Guest.
    team_services.add_team_member(teams.admins, actor=ACTOR, username="guest")
    assert (
        Project.objects.with_role(teams.world.users["guest"]).get(name="acme").my_role == Role.PROJECT_ADMIN
    )
    assert Perm.MANAGE_MEMBERS in set(
        p
        for p in Perm
        if Project.objects.where_user_may(teams.world.users["guest"], p).filter(name="acme").exists()
    )
    team_services.delete_team(teams.builders, actor=ACTOR)
    assert not Project.objects.for_user(teamdev).filter(name="acme").exists()
