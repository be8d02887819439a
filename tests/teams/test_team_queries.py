"""Query counts of the team lists: a new team, member or grant adds no query."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.services import teams as team_services
from repositories.services.project_teams import add_project_team
from tests.factories import UserFactory
from tests.teams.conftest import ACTOR, TeamWorld


def _grow(teams: TeamWorld, n: int) -> None:
    for i in range(n):
        team = team_services.create_team(actor=ACTOR, name=f"grown-{teams.builders.pk}-{i}")
        for _ in range(3):
            user = UserFactory()
            team_services.add_team_member(team, actor=ACTOR, username=user.username)
        team_services.add_team_member(team, actor=ACTOR, username="teamdev")
        add_project_team(teams.world.private, actor=ACTOR, team=team.name, role="guest")


def _count(teams: TeamWorld, persona: str, url: str, django_assert_max_num_queries: Any, limit: int) -> None:
    client = teams.client(persona)
    assert client.get(url).status_code == 200
    with django_assert_max_num_queries(limit):
        assert client.get(url).status_code == 200


def test_the_members_tab_and_team_pages_cost_the_same_with_more_teams(
    teams: TeamWorld, django_assert_max_num_queries: Any
) -> None:
    urls = [
        ("guest", "/projects/acme/members/"),
        ("teamdev", "/teams/"),
        ("sysadmin", f"/teams/{teams.builders.pk}/"),
        ("guest", "/api/v1/projects/acme/teams/"),
        ("sysadmin", "/api/v1/teams/"),
    ]
    limits = {}
    for persona, url in urls:
        client = teams.client(persona)
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        limits[url] = len(captured.captured_queries)
    _grow(teams, 4)
    for persona, url in urls:
        _count(teams, persona, url, django_assert_max_num_queries, limits[url])
