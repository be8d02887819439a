"""Team pages and the teams on a project's Members tab: who may see and do what, and
what they show (personas from `tests.teams.conftest`)."""

from __future__ import annotations

import pytest

from accounts.models import Team, TeamMember
from audit.models import AuditAction, AuditEvent
from repositories.models import ProjectTeam
from tests.teams.conftest import TeamWorld

HTMX = {"HTTP_HX_REQUEST": "true"}
EVERYONE = ["sysadmin", "padmin", "developer", "guest", "outsider", "teamdev", "twoteams", "leaver"]


# --- the team pages: system admins manage every team, members see theirs ---------------------------


@pytest.mark.parametrize(
    ("persona", "listed"),
    [
        ("sysadmin", {"admins", "builders"}),
        ("twoteams", {"admins", "builders"}),
        ("teamdev", {"builders"}),
        ("leaver", set()),
        ("padmin", set()),
    ],
)
def test_team_list_shows_every_team_to_system_admins_and_their_own_to_others(
    teams: TeamWorld, persona: str, listed: set[str]
) -> None:
    response = teams.client(persona).get("/teams/")
    assert response.status_code == 200
    body = response.content.decode()
    assert {name for name in ("admins", "builders") if f">{name}</a>" in body} == listed
    assert ('id="team-create-form"' in body) == (persona == "sysadmin")


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("sysadmin", 200),
        ("teamdev", 200),
        ("twoteams", 200),
        ("leaver", 404),
        ("padmin", 404),
        ("outsider", 404),
        ("anonymous", 302),
    ],
)
def test_team_page_is_404_for_whoever_may_not_see_the_team(
    teams: TeamWorld, persona: str, status: int
) -> None:
    assert teams.client(persona).get(f"/teams/{teams.builders.pk}/").status_code == status


@pytest.mark.parametrize(("persona", "status"), [("teamdev", 403), ("padmin", 404), ("leaver", 404)])
def test_only_system_admins_change_teams(teams: TeamWorld, persona: str, status: int) -> None:
    client = teams.client(persona)
    pk = teams.builders.pk
    member = TeamMember.objects.get(team=teams.builders, user__username="teamdev").pk
    before = AuditEvent.objects.count()
    assert client.post(f"/teams/{pk}/edit/", {"name": "x"}).status_code == status
    assert client.post(f"/teams/{pk}/delete/").status_code == status
    assert client.post(f"/teams/{pk}/members/add/", {"username": "guest"}).status_code == status
    assert client.post(f"/teams/{pk}/members/{member}/remove/").status_code == status
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("persona", ["padmin", "teamdev", "outsider"])
def test_only_system_admins_create_teams(teams: TeamWorld, persona: str) -> None:
    assert teams.client(persona).post("/teams/", {"name": "new"}).status_code == 403
    assert not Team.objects.filter(name="new").exists()


def test_a_system_admin_creates_a_team_adds_and_removes_a_member(teams: TeamWorld) -> None:
    client = teams.client("sysadmin")
    response = client.post("/teams/", {"name": "Platform team", "description": "Runs it"}, **HTMX)
    team = Team.objects.get(name="Platform team")
    assert response.headers["HX-Redirect"] == f"/teams/{team.pk}/"

    response = client.post(f"/teams/{team.pk}/members/add/", {"username": "guest"}, **HTMX)
    assert 'data-username="guest"' in response.content.decode()
    member = TeamMember.objects.get(team=team)
    assert client.get(f"/teams/{team.pk}/members/{member.pk}/remove/", **HTMX).status_code == 200
    client.post(f"/teams/{team.pk}/members/{member.pk}/remove/")
    assert not TeamMember.objects.filter(team=team).exists()
    actions = list(
        AuditEvent.objects.filter(target_name="Platform team").order_by("id").values_list("action", flat=True)
    )
    assert actions == [AuditAction.TEAM_CREATE, AuditAction.TEAM_MEMBER_ADD, AuditAction.TEAM_MEMBER_REMOVE]


def test_bad_team_input_is_shown_in_the_form(teams: TeamWorld) -> None:
    client = teams.client("sysadmin")
    response = client.post("/teams/", {"name": "builders"}, **HTMX)
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    response = client.post(f"/teams/{teams.builders.pk}/members/add/", {"username": "ghost"}, **HTMX)
    assert "No user is called" in response.content.decode()
    response = client.post(f"/teams/{teams.builders.pk}/edit/", {"name": "!!"})
    assert response.status_code == 200
    assert "Use letters" in response.content.decode()


def test_a_system_admin_renames_and_deletes_a_team(teams: TeamWorld) -> None:
    client = teams.client("sysadmin")
    client.post(f"/teams/{teams.builders.pk}/edit/", {"name": "makers", "description": ""})
    assert Team.objects.get(pk=teams.builders.pk).name == "makers"
    assert client.get(f"/teams/{teams.admins.pk}/delete/", **HTMX).status_code == 200
    client.post(f"/teams/{teams.admins.pk}/delete/")
    assert not Team.objects.filter(pk=teams.admins.pk).exists()


# --- teams on the Members tab: Project Admins (own role or through a team) manage them -------------


def test_members_tab_shows_the_teams_and_where_each_users_access_comes_from(teams: TeamWorld) -> None:
    body = teams.client("guest").get("/projects/acme/members/").content.decode()
    assert 'data-team="builders"' in body and 'data-team="admins"' in body
    assert 'id="through-teams-table"' in body
    assert 'data-username="teamdev"' in body and 'data-username="twoteams"' in body
    assert "builders (Developer)" in body
    assert 'data-username="leaver"' not in body
    assert 'id="team-add-form"' not in body  # guests do not manage


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("padmin", 200),
        ("twoteams", 200),
        ("sysadmin", 200),
        ("maintainer", 403),
        ("teamdev", 403),
        ("outsider", 404),
        ("leaver", 404),
    ],
)
def test_who_may_add_a_team_to_a_project(teams: TeamWorld, persona: str, status: int) -> None:
    team = Team.objects.create(name="extra")
    response = teams.client(persona).post(
        "/projects/acme/teams/add/", {"team": "extra", "role": "guest"}, **HTMX
    )
    assert response.status_code == status
    assert ProjectTeam.objects.filter(team=team).exists() == (status == 200)


@pytest.mark.parametrize(("persona", "status"), [("maintainer", 403), ("teamdev", 403), ("outsider", 404)])
def test_who_may_not_change_or_remove_a_projects_team(teams: TeamWorld, persona: str, status: int) -> None:
    grant = ProjectTeam.objects.get(team=teams.builders)
    client = teams.client(persona)
    assert client.post(f"/projects/acme/teams/{grant.pk}/role/", {"role": "guest"}).status_code == status
    assert client.post(f"/projects/acme/teams/{grant.pk}/remove/").status_code == status
    assert ProjectTeam.objects.get(pk=grant.pk).role == "developer"


def test_a_project_admin_changes_and_removes_a_team(teams: TeamWorld) -> None:
    grant = ProjectTeam.objects.get(team=teams.builders)
    client = teams.client("padmin")
    response = client.post(f"/projects/acme/teams/{grant.pk}/role/", {"role": "maintainer"}, **HTMX)
    assert "builders (Maintainer)" in response.content.decode()
    response = client.post(f"/projects/acme/teams/{grant.pk}/role/", {"role": "owner"}, **HTMX)
    assert "is not one of the available choices" in response.content.decode()
    assert client.get(f"/projects/acme/teams/{grant.pk}/remove/", **HTMX).status_code == 200
    client.post(f"/projects/acme/teams/{grant.pk}/remove/")
    assert not ProjectTeam.objects.filter(pk=grant.pk).exists()


def test_adding_an_unknown_team_is_a_form_error(teams: TeamWorld) -> None:
    response = teams.client("padmin").post(
        "/projects/acme/teams/add/", {"team": "ghosts", "role": "guest"}, **HTMX
    )
    assert response.status_code == 200
    assert "No team is called" in response.content.decode()


@pytest.mark.parametrize("persona", EVERYONE)
def test_the_members_tab_never_fails(teams: TeamWorld, persona: str) -> None:
    assert teams.client(persona).get("/projects/acme/members/").status_code in (200, 404)
