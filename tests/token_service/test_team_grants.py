"""The token service grants through team roles, as `accounts.permissions` says: the highest
of the user's own role and their teams' roles, and nothing once they leave the team."""

from __future__ import annotations

from pathlib import Path

from accounts.permissions import Role
from accounts.services import teams as team_services
from audit.context import Actor
from repositories.services.project_teams import add_project_team, change_project_team_role
from tests.conftest import World
from tests.factories import PASSWORD, UserFactory
from tests.token_service.conftest import basic
from tests.token_service.test_endpoint import access_of, ask

ACTOR = Actor.system("tests")
SCOPE = "repository:acme/app:pull,push,delete"


def _actions(response: object, cert: Path) -> list[str]:
    access = access_of(response, cert)
    return access[0]["actions"] if access else []


def test_a_team_role_grants_push_and_a_stronger_one_delete_and_leaving_takes_it_away(
    world: World, key_files: tuple[Path, Path]
) -> None:
    UserFactory(username="teamdev")
    team = team_services.create_team(actor=ACTOR, name="builders")
    member = team_services.add_team_member(team, actor=ACTOR, username="teamdev")
    auth = basic("teamdev", PASSWORD)
    assert _actions(ask(SCOPE, auth=auth), key_files[1]) == []  # not in the project yet

    grant = add_project_team(world.private, actor=ACTOR, team="builders", role=Role.DEVELOPER)
    assert _actions(ask(SCOPE, auth=auth), key_files[1]) == ["pull", "push"]

    change_project_team_role(grant, actor=ACTOR, role=Role.MAINTAINER)
    assert _actions(ask(SCOPE, auth=auth), key_files[1]) == ["delete", "pull", "push"]

    team_services.remove_team_member(member, actor=ACTOR)
    assert _actions(ask(SCOPE, auth=auth), key_files[1]) == []


def test_a_guest_in_a_developer_team_pushes_and_a_developer_in_a_guest_team_keeps_push(
    world: World, key_files: tuple[Path, Path]
) -> None:
    team = team_services.create_team(actor=ACTOR, name="mixed")
    for persona in ("guest", "developer"):
        team_services.add_team_member(team, actor=ACTOR, username=persona)
    grant = add_project_team(world.private, actor=ACTOR, team="mixed", role=Role.DEVELOPER)
    assert _actions(ask(SCOPE, auth=basic("guest", PASSWORD)), key_files[1]) == ["pull", "push"]
    change_project_team_role(grant, actor=ACTOR, role=Role.GUEST)
    assert _actions(ask(SCOPE, auth=basic("guest", PASSWORD)), key_files[1]) == ["pull"]
    assert _actions(ask(SCOPE, auth=basic("developer", PASSWORD)), key_files[1]) == ["pull", "push"]
