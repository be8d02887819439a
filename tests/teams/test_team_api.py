"""`/api/v1/teams/` and `/api/v1/projects/{name}/teams/`: the same rules as the pages."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Team, TeamMember
from audit.models import AuditAction, AuditEvent
from repositories.models import ProjectTeam
from tests.teams.conftest import TeamWorld


def _json(teams: TeamWorld, persona: str) -> Client:
    return teams.client(persona)


def _call(client: Client, method: str, url: str, data: object = None) -> object:
    return getattr(client, method)(url, data, content_type="application/json")


@pytest.mark.parametrize(
    ("persona", "names"),
    [
        ("sysadmin", ["admins", "builders"]),
        ("twoteams", ["admins", "builders"]),
        ("teamdev", ["builders"]),
        ("leaver", []),
        ("outsider", []),
    ],
)
def test_team_list_holds_what_the_caller_may_see(teams: TeamWorld, persona: str, names: list[str]) -> None:
    body = teams.client(persona).get("/api/v1/teams/").json()
    assert [row["name"] for row in body["results"]] == names


def test_a_team_shows_its_members_and_projects(teams: TeamWorld) -> None:
    body = teams.client("teamdev").get(f"/api/v1/teams/{teams.builders.pk}/").json()
    assert body["members"] == ["teamdev", "twoteams"]
    assert body["projects"] == [{"project": "acme", "role": "developer"}]


def test_anonymous_gets_401(teams: TeamWorld) -> None:
    assert Client().get("/api/v1/teams/").status_code == 401


@pytest.mark.parametrize(
    ("persona", "create", "change"),
    [("sysadmin", 201, 200), ("teamdev", 403, 403), ("padmin", 403, 404), ("leaver", 403, 404)],
)
def test_only_system_admins_create_and_change_teams(
    teams: TeamWorld, persona: str, create: int, change: int
) -> None:
    client = teams.client(persona)
    assert _call(client, "post", "/api/v1/teams/", {"name": "newteam"}).status_code == create  # type: ignore[attr-defined]
    url = f"/api/v1/teams/{teams.builders.pk}/"
    assert _call(client, "patch", url, {"description": "changed"}).status_code == change  # type: ignore[attr-defined]
    members = f"/api/v1/teams/{teams.builders.pk}/members/"
    expected_add = 201 if change == 200 else change
    assert _call(client, "post", members, {"username": "guest"}).status_code == expected_add  # type: ignore[attr-defined]


def test_bad_team_input_is_a_400_with_field_errors(teams: TeamWorld) -> None:
    client = teams.client("sysadmin")
    response = _call(client, "post", "/api/v1/teams/", {"name": "builders"})
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "already exists" in response.json()["name"][0]  # type: ignore[attr-defined]
    response = _call(client, "post", f"/api/v1/teams/{teams.builders.pk}/members/", {"username": "ghost"})
    assert response.status_code == 400  # type: ignore[attr-defined]


def test_a_system_admin_deletes_a_team_and_removes_a_member(teams: TeamWorld) -> None:
    client = teams.client("sysadmin")
    member = TeamMember.objects.get(team=teams.builders, user__username="teamdev")
    assert client.delete(f"/api/v1/teams/{teams.builders.pk}/members/{member.pk}/").status_code == 204
    assert client.delete(f"/api/v1/teams/{teams.admins.pk}/").status_code == 204
    assert not Team.objects.filter(pk=teams.admins.pk).exists()
    assert AuditEvent.objects.filter(action=AuditAction.TEAM_DELETE, target_name="admins").exists()


@pytest.mark.parametrize(
    ("persona", "read", "write"),
    [
        ("sysadmin", 200, 201),
        ("padmin", 200, 201),
        ("twoteams", 200, 201),
        ("maintainer", 200, 403),
        ("teamdev", 200, 403),
        ("limited", 403, 403),
        ("outsider", 404, 404),
        ("leaver", 404, 404),
    ],
)
def test_project_teams_follow_the_members_rule(teams: TeamWorld, persona: str, read: int, write: int) -> None:
    Team.objects.create(name="extra")
    client = teams.client(persona)
    assert client.get("/api/v1/projects/acme/teams/").status_code == read
    response = _call(client, "post", "/api/v1/projects/acme/teams/", {"team": "extra", "role": "guest"})
    assert response.status_code == write  # type: ignore[attr-defined]
    grant = ProjectTeam.objects.get(team=teams.builders)
    status = _call(client, "patch", f"/api/v1/projects/acme/teams/{grant.pk}/", {"role": "guest"}).status_code  # type: ignore[attr-defined]
    assert status == (200 if write == 201 else write)


def test_project_team_rows_name_the_team_its_role_and_members(teams: TeamWorld) -> None:
    rows = teams.client("guest").get("/api/v1/projects/acme/teams/").json()["results"]
    assert [(r["team"], r["role"], r["members"]) for r in rows] == [
        ("admins", "project_admin", ["twoteams"]),
        ("builders", "developer", ["teamdev", "twoteams"]),
    ]


def test_project_team_bad_input_is_a_400(teams: TeamWorld) -> None:
    client = teams.client("padmin")
    for data, field in (
        ({"team": "ghosts", "role": "guest"}, "team"),
        ({"team": "builders", "role": "owner"}, "role"),
    ):
        response = _call(client, "post", "/api/v1/projects/acme/teams/", data)
        assert response.status_code == 400  # type: ignore[attr-defined]
        assert field in str(response.json())  # type: ignore[attr-defined]
    grant = ProjectTeam.objects.get(team=teams.builders)
    assert client.delete(f"/api/v1/projects/acme/teams/{grant.pk}/").status_code == 204


def test_the_schema_documents_the_team_endpoints(teams: TeamWorld) -> None:
    schema = teams.client("sysadmin").get("/api/schema/", {"format": "json"}).json()
    for path in (
        "/api/v1/teams/",
        "/api/v1/teams/{id}/",
        "/api/v1/teams/{team_id}/members/",
        "/api/v1/projects/{project_name}/teams/",
        "/api/v1/projects/{project_name}/teams/{id}/",
    ):
        assert path in schema["paths"], path
