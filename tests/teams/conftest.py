"""Team personas on top of the usual world: `teamdev` holds no role in `acme` of their own
but is in `builders`, a Developer team there; `twoteams` is in `builders` and in
`admins` (Project Admin in `acme`); `leaver` was in `builders` and was removed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from accounts.models import Team
from accounts.permissions import Role
from accounts.services import teams as team_services
from audit.context import Actor
from repositories.services.project_teams import add_project_team
from tests.conftest import World
from tests.factories import UserFactory

ACTOR = Actor.system("tests")


@dataclass
class TeamWorld:
    world: World
    builders: Team
    admins: Team

    def client(self, persona: str) -> Client:
        return self.world.client(persona)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def teams(world: World) -> TeamWorld:
    for persona in ("teamdev", "twoteams", "leaver"):
        world.users[persona] = UserFactory(username=persona)
    builders = team_services.create_team(actor=ACTOR, name="builders", description="Build things")
    admins = team_services.create_team(actor=ACTOR, name="admins")
    for persona in ("teamdev", "twoteams", "leaver"):
        team_services.add_team_member(builders, actor=ACTOR, username=persona)
    team_services.add_team_member(admins, actor=ACTOR, username="twoteams")
    team_services.remove_team_member(builders.memberships.get(user__username="leaver"), actor=ACTOR)
    add_project_team(world.private, actor=ACTOR, team="builders", role=Role.DEVELOPER)
    add_project_team(world.private, actor=ACTOR, team="admins", role=Role.PROJECT_ADMIN)
    return TeamWorld(world=world, builders=builders, admins=admins)
