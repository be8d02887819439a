"""The permission matrix of every API endpoint: each persona against the private
project `acme` and the public project `pub`. The team personas of tests/conftest.py
(access only through teams: each role, two teams, removed from a team) must get exactly
the row of the persona they map to (`row_of`).

The expected statuses are written out by hand from the role table in
`accounts/permissions.py` (Harbor's roles), not computed from it, so a change to
the table or to an endpoint's permission shows up here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from accounts.models import TeamMember
from audit.context import Actor
from audit.models import AuditAction
from audit.services import record
from repositories.models import Membership
from tests.api.conftest import body_without_request_id
from tests.conftest import MATRIX_PERSONAS, PERSONAS, TEAM_PERSONAS, World, row_of
from tests.factories import UserFactory

# persona: (status on private `acme`, status on public `pub`)
Table = dict[str, tuple[int, int]]

VIEW_PROJECT: Table = {
    "sysadmin": (200, 200),
    "padmin": (200, 200),
    "maintainer": (200, 200),
    "developer": (200, 200),
    "guest": (200, 200),
    "limited": (200, 200),
    "outsider": (404, 200),
    "anonymous": (401, 401),
}
UPDATE_PROJECT: Table = {
    "sysadmin": (200, 200),
    "padmin": (200, 200),
    "maintainer": (403, 403),
    "developer": (403, 403),
    "guest": (403, 403),
    "limited": (403, 403),
    "outsider": (404, 403),
    "anonymous": (401, 401),
}
DELETE_PROJECT: Table = {
    "sysadmin": (204, 204),
    "padmin": (204, 204),
    "maintainer": (403, 403),
    "developer": (403, 403),
    "guest": (403, 403),
    "limited": (403, 403),
    "outsider": (404, 403),
    "anonymous": (401, 401),
}
# Also VIEW_AUDIT: Guests and up, not Limited Guests, not outsiders of public projects.
VIEW_MEMBERS: Table = {
    "sysadmin": (200, 200),
    "padmin": (200, 200),
    "maintainer": (200, 200),
    "developer": (200, 200),
    "guest": (200, 200),
    "limited": (403, 403),
    "outsider": (404, 403),
    "anonymous": (401, 401),
}
ADD_MEMBER: Table = {
    "sysadmin": (201, 201),
    "padmin": (201, 201),
    "maintainer": (403, 403),
    "developer": (403, 403),
    "guest": (403, 403),
    "limited": (403, 403),
    "outsider": (404, 403),
    "anonymous": (401, 401),
}
CHANGE_MEMBER: Table = UPDATE_PROJECT
REMOVE_MEMBER: Table = DELETE_PROJECT
EXPORT_AUDIT: Table = {
    "sysadmin": (200, 200),
    "padmin": (200, 200),
    "maintainer": (200, 200),
    "developer": (403, 403),
    "guest": (403, 403),
    "limited": (403, 403),
    "outsider": (404, 403),
    "anonymous": (401, 401),
}


def _developer_membership(world: World, project: str) -> int:
    return Membership.objects.get(project__name=project, user=world.users["developer"]).pk


@dataclass
class Endpoint:
    name: str
    method: str
    path: Callable[[World, str], str]
    table: Table
    body: dict[str, Any] = field(default_factory=dict)
    setup: Callable[[World], None] | None = None


def _newbie(world: World) -> None:
    UserFactory(username="newbie")


PROJECT_ENDPOINTS = [
    Endpoint("retrieve project", "GET", lambda w, p: f"/api/v1/projects/{p}/", VIEW_PROJECT),
    Endpoint(
        "update project", "PATCH", lambda w, p: f"/api/v1/projects/{p}/", UPDATE_PROJECT, {"description": "x"}
    ),
    Endpoint("delete project", "DELETE", lambda w, p: f"/api/v1/projects/{p}/", DELETE_PROJECT),
    Endpoint("list members", "GET", lambda w, p: f"/api/v1/projects/{p}/members/", VIEW_MEMBERS),
    Endpoint(
        "retrieve member",
        "GET",
        lambda w, p: f"/api/v1/projects/{p}/members/{_developer_membership(w, p)}/",
        VIEW_MEMBERS,
    ),
    Endpoint(
        "add member",
        "POST",
        lambda w, p: f"/api/v1/projects/{p}/members/",
        ADD_MEMBER,
        {"username": "newbie", "role": "guest"},
        _newbie,
    ),
    Endpoint(
        "change member role",
        "PATCH",
        lambda w, p: f"/api/v1/projects/{p}/members/{_developer_membership(w, p)}/",
        CHANGE_MEMBER,
        {"role": "guest"},
    ),
    Endpoint(
        "remove member",
        "DELETE",
        lambda w, p: f"/api/v1/projects/{p}/members/{_developer_membership(w, p)}/",
        REMOVE_MEMBER,
    ),
    Endpoint("list audit events", "GET", lambda w, p: f"/api/v1/projects/{p}/audit-events/", VIEW_MEMBERS),
    Endpoint(
        "export audit events", "GET", lambda w, p: f"/api/v1/projects/{p}/audit-events/export/", EXPORT_AUDIT
    ),
]


def test_every_table_covers_every_persona() -> None:
    for endpoint in PROJECT_ENDPOINTS:
        assert set(endpoint.table) == set(PERSONAS), endpoint.name


@pytest.mark.parametrize("persona", sorted(TEAM_PERSONAS))
def test_team_personas_hold_no_role_of_their_own_only_through_teams(persona: str, world: World) -> None:
    user = world.user(persona)
    assert not Membership.objects.filter(user=user).exists()
    in_teams = set(TeamMember.objects.filter(user=user).values_list("team__name", flat=True))
    assert len(in_teams) == {"two_teams": 2, "left_team": 0}.get(persona, 1)


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
@pytest.mark.parametrize("endpoint", PROJECT_ENDPOINTS, ids=lambda e: e.name.replace(" ", "_"))
def test_project_endpoint_status(
    endpoint: Endpoint, persona: str, project: str, world: World, api: Any
) -> None:
    if endpoint.setup:
        endpoint.setup(world)
    record(AuditAction.PROJECT_UPDATE, actor=Actor.system(), project=world.private)
    record(AuditAction.PROJECT_UPDATE, actor=Actor.system(), project=world.public)
    expected = endpoint.table[row_of(persona)][0 if project == "acme" else 1]

    response = api(persona).request(endpoint.method, endpoint.path(world, project), endpoint.body or None)

    assert response.status_code == expected, response.content
    if expected >= 400:
        assert response["Content-Type"] == "application/json"
        assert "detail" in response.json()


# persona: status, for endpoints outside any project
ANY_USER: dict[str, int] = {
    "sysadmin": 200,
    "padmin": 200,
    "maintainer": 200,
    "developer": 200,
    "guest": 200,
    "limited": 200,
    "outsider": 200,
    "anonymous": 401,
}
SYSADMIN_ONLY: dict[str, int] = {
    "sysadmin": 200,
    "padmin": 403,
    "maintainer": 403,
    "developer": 403,
    "guest": 403,
    "limited": 403,
    "outsider": 403,
    "anonymous": 401,
}


def _status(table: dict[str, int], persona: str, success: int) -> int:
    expected = table[row_of(persona)]
    return success if expected == 200 else expected


def _victim_url(suffix: str = "") -> Callable[[World], str]:
    def url(world: World) -> str:
        return f"/api/v1/users/{world.users['outsider'].pk}/{suffix}"

    return url


GLOBAL_ENDPOINTS: list[
    tuple[str, str, Callable[[World], str] | str, dict[str, Any] | None, dict[str, int], int]
] = [
    ("list projects", "GET", "/api/v1/projects/", None, ANY_USER, 200),
    ("me", "GET", "/api/v1/me/", None, ANY_USER, 200),
    ("list tokens", "GET", "/api/v1/tokens/", None, ANY_USER, 200),
    ("create token", "POST", "/api/v1/tokens/", {"name": "ci"}, ANY_USER, 201),
    ("list all audit events", "GET", "/api/v1/audit-events/", None, SYSADMIN_ONLY, 200),
    ("export all audit events", "GET", "/api/v1/audit-events/export/", None, SYSADMIN_ONLY, 200),
    ("list users", "GET", "/api/v1/users/", None, SYSADMIN_ONLY, 200),
    ("create user", "POST", "/api/v1/users/", {"username": "newbie"}, SYSADMIN_ONLY, 201),
    ("retrieve user", "GET", _victim_url(), None, SYSADMIN_ONLY, 200),
    ("update user", "PATCH", _victim_url(), {"email": "o@example.org"}, SYSADMIN_ONLY, 200),
    ("reset password", "POST", _victim_url("reset-password/"), {}, SYSADMIN_ONLY, 200),
]


@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
@pytest.mark.parametrize(
    ("method", "path", "body", "table", "success"),
    [pytest.param(*case[1:], id=case[0].replace(" ", "_")) for case in GLOBAL_ENDPOINTS],
)
def test_global_endpoint_status(
    method: str,
    path: Callable[[World], str] | str,
    body: dict[str, Any] | None,
    table: dict[str, int],
    success: int,
    persona: str,
    world: World,
    api: Any,
) -> None:
    url = path if isinstance(path, str) else path(world)

    response = api(persona).request(method, url, body)

    assert response.status_code == _status(table, persona, success), response.content
    if response.status_code >= 400:
        assert response["Content-Type"] == "application/json"


# Who may create projects, by the site's WHARF_PROJECT_CREATION policy.
CREATE_PROJECT: dict[str, dict[str, int]] = {
    "everyone": {
        "sysadmin": 201,
        "padmin": 201,
        "maintainer": 201,
        "developer": 201,
        "guest": 201,
        "limited": 201,
        "outsider": 201,
        "anonymous": 401,
    },
    "admins": {
        "sysadmin": 201,
        "padmin": 403,
        "maintainer": 403,
        "developer": 403,
        "guest": 403,
        "limited": 403,
        "outsider": 403,
        "anonymous": 401,
    },
}


@pytest.mark.parametrize("policy", ["everyone", "admins"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_create_project_status_follows_the_creation_policy(
    policy: str, persona: str, world: World, api: Any, settings: Any
) -> None:
    settings.WHARF_PROJECT_CREATION = policy

    response = api(persona).post("/api/v1/projects/", {"name": "fresh"})

    assert response.status_code == CREATE_PROJECT[policy][row_of(persona)], response.content


def test_anonymous_gets_json_401_not_a_login_redirect(world: World, api: Any) -> None:
    response = api("anonymous").get("/api/v1/projects/acme/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["detail"] == "Authentication credentials were not provided."


def test_unknown_project_is_404_even_for_a_system_admin(world: World, api: Any) -> None:
    assert api("sysadmin").get("/api/v1/projects/nope/").status_code == 404
    assert api("sysadmin").get("/api/v1/projects/nope/members/").status_code == 404
    assert api("sysadmin").get("/api/v1/projects/nope/audit-events/").status_code == 404


def test_outsider_gets_the_same_404_for_a_private_and_a_missing_project(world: World, api: Any) -> None:
    private = api("outsider").get("/api/v1/projects/acme/members/")
    missing = api("outsider").get("/api/v1/projects/nope/members/")

    assert private.status_code == missing.status_code == 404
    assert body_without_request_id(private) == body_without_request_id(missing)


def test_member_of_another_project_is_404(world: World, api: Any) -> None:
    other = Membership.objects.get(project=world.public, user=world.users["developer"])

    response = api("padmin").get(f"/api/v1/projects/acme/members/{other.pk}/")

    assert response.status_code == 404
