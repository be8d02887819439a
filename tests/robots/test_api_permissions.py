"""The robot endpoints × every persona × (private `acme`, public `pub`).

Written out by hand from the role table: reading a project's robots needs
VIEW_ROBOTS (Developers and up), changing them MANAGE_ROBOTS (Project Admins);
outsiders get 404 on the private project, 403 on the public one; anonymous 401.
`/api/v1/robots/` (system robots) is for system admins only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from accounts.models import RobotAccount
from tests.api.conftest import JsonClient
from tests.conftest import MATRIX_PERSONAS, World, row_of
from tests.robots.helpers import make_robot, make_system_robot

# persona: (status on private `acme`, status on public `pub`)
Table = dict[str, tuple[int, int]]


def _view(ok: int) -> Table:
    return {
        "sysadmin": (ok, ok),
        "padmin": (ok, ok),
        "maintainer": (ok, ok),
        "developer": (ok, ok),
        "guest": (403, 403),
        "limited": (403, 403),
        "outsider": (404, 403),
        "anonymous": (401, 401),
    }


def _manage(ok: int) -> Table:
    return {
        "sysadmin": (ok, ok),
        "padmin": (ok, ok),
        "maintainer": (403, 403),
        "developer": (403, 403),
        "guest": (403, 403),
        "limited": (403, 403),
        "outsider": (404, 403),
        "anonymous": (401, 401),
    }


PROJECT_REQUESTS = [
    ("get", "/api/v1/projects/{name}/robots/", None, _view(200)),
    ("get", "/api/v1/projects/{name}/robots/{pk}/", None, _view(200)),
    ("post", "/api/v1/projects/{name}/robots/", {"name": "new", "permissions": ["pull"]}, _manage(201)),
    ("patch", "/api/v1/projects/{name}/robots/{pk}/", {"description": "changed"}, _manage(200)),
    ("post", "/api/v1/projects/{name}/robots/{pk}/regenerate/", None, _manage(200)),
    ("delete", "/api/v1/projects/{name}/robots/{pk}/", None, _manage(204)),
]


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
@pytest.mark.parametrize(
    ("method", "url", "data", "table"), PROJECT_REQUESTS, ids=[f"{m} {u}" for m, u, _, _ in PROJECT_REQUESTS]
)
def test_project_robot_endpoints_follow_the_role_table(
    world: World,
    api: Callable[[str], JsonClient],
    persona: str,
    project: str,
    method: str,
    url: str,
    data: Any,
    table: Table,
) -> None:
    robot, _ = make_robot(world, "pull", project=world.private if project == "acme" else world.public)
    response = api(persona).request(method, url.format(name=project, pk=robot.pk), data)
    expected = table[row_of(persona)][0 if project == "acme" else 1]
    assert response.status_code == expected, response.content
    if expected >= 400:
        robot.refresh_from_db()  # refused: nothing changed, no secret handed out
        assert robot.description == "" and RobotAccount.objects.count() == 1
        assert b"secret" not in response.content


SYSTEM_REQUESTS = [
    ("get", "/api/v1/robots/", None, 200),
    ("get", "/api/v1/robots/{pk}/", None, 200),
    ("post", "/api/v1/robots/", {"name": "other", "permissions": ["pull"], "projects": ["acme"]}, 201),
    ("patch", "/api/v1/robots/{pk}/", {"description": "changed"}, 200),
    ("post", "/api/v1/robots/{pk}/regenerate/", None, 200),
    ("delete", "/api/v1/robots/{pk}/", None, 204),
]


@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
@pytest.mark.parametrize(
    ("method", "url", "data", "ok"), SYSTEM_REQUESTS, ids=[f"{m} {u}" for m, u, _, _ in SYSTEM_REQUESTS]
)
def test_system_robot_endpoints_are_for_system_admins(
    world: World, api: Callable[[str], JsonClient], persona: str, method: str, url: str, data: Any, ok: int
) -> None:
    robot, _ = make_system_robot(world, "acme", "pub")
    response = api(persona).request(method, url.format(pk=robot.pk), data)
    expected = ok if persona == "sysadmin" else 401 if persona == "anonymous" else 403
    assert response.status_code == expected, response.content
    if expected >= 400:
        robot.refresh_from_db()
        assert robot.description == "" and RobotAccount.objects.count() == 1


def test_system_robots_are_not_reachable_under_a_project(
    world: World, api: Callable[[str], JsonClient]
) -> None:
    robot, _ = make_system_robot(world, "acme")
    assert api("sysadmin").get(f"/api/v1/projects/acme/robots/{robot.pk}/").status_code == 404
    project_robot, _ = make_robot(world, "pull")
    assert api("sysadmin").get(f"/api/v1/robots/{project_robot.pk}/").status_code == 404
