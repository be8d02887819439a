"""Every robot page and POST × every persona × (private `acme`, public `pub`).

Expectations are written out by hand from the role table: Developers and up see a
project's robots (VIEW_ROBOTS), Project Admins and system admins change them
(MANAGE_ROBOTS); outsiders get 404 on the private project and 403 on the public
one; anonymous visitors are sent to the login page. The system robots page is for
system admins only.
"""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import RobotAccount
from tests.conftest import MATRIX_PERSONAS, World, row_of
from tests.robots.helpers import make_robot, make_system_robot

VIEW_ROBOTS = {
    "sysadmin": 200,
    "padmin": 200,
    "maintainer": 200,
    "developer": 200,
    "guest": 403,
    "limited": 403,
    "outsider": {"acme": 404, "pub": 403},
    "anonymous": 302,
}


def _manage(ok: int) -> dict[str, Any]:
    return {
        "sysadmin": ok,
        "padmin": ok,
        "maintainer": 403,
        "developer": 403,
        "guest": 403,
        "limited": 403,
        "outsider": {"acme": 404, "pub": 403},
        "anonymous": 302,
    }


def _expected(table: dict[str, Any], persona: str, project: str) -> int:
    value = table[row_of(persona)]
    return value[project] if isinstance(value, dict) else value


def _robot_of(world: World, project: str) -> RobotAccount:
    return make_robot(world, "pull", project=world.private if project == "acme" else world.public)[0]


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_robots_tab_is_for_developers_and_up(world: World, persona: str, project: str) -> None:
    response = world.client(persona).get(f"/projects/{project}/robots/")
    expected = _expected(VIEW_ROBOTS, persona, project)
    assert response.status_code == expected
    if expected == 302:
        assert response["Location"].startswith("/login/?next=")


# (method, url template, POST data, status when allowed). {pk} is a robot of the project.
MANAGE_REQUESTS = [
    ("post", "/projects/{name}/robots/", {"name": "new", "actions": ["pull"], "expiry": "default"}, 200),
    ("post", "/projects/{name}/robots/{pk}/enabled/", {"enabled": "0"}, 302),
    ("get", "/projects/{name}/robots/{pk}/regenerate/", None, 200),
    ("post", "/projects/{name}/robots/{pk}/regenerate/", {}, 200),
    ("get", "/projects/{name}/robots/{pk}/delete/", None, 200),
    ("post", "/projects/{name}/robots/{pk}/delete/", {}, 302),
]


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
@pytest.mark.parametrize(
    ("method", "url", "data", "ok"), MANAGE_REQUESTS, ids=[f"{m} {u}" for m, u, _, _ in MANAGE_REQUESTS]
)
def test_changing_robots_is_for_project_admins(
    world: World, persona: str, project: str, method: str, url: str, data: Any, ok: int
) -> None:
    robot = _robot_of(world, project)
    client = world.client(persona)
    target = url.format(name=project, pk=robot.pk)
    response = client.post(target, data) if method == "post" else client.get(target)
    expected = _expected(_manage(ok), persona, project)
    assert response.status_code == expected
    if expected in (403, 404):
        robot.refresh_from_db()  # refused: nothing changed
        assert robot.enabled and RobotAccount.objects.filter(project__name=project).count() == 1


def test_a_robot_of_another_project_is_404_even_for_its_admin(world: World) -> None:
    other = make_robot(world, "pull", project=world.public, name="other")[0]
    response = world.client("padmin").post(f"/projects/acme/robots/{other.pk}/delete/")
    assert response.status_code == 404
    assert RobotAccount.objects.filter(pk=other.pk).exists()


SYSTEM = {
    "sysadmin": 200,
    "padmin": 403,
    "maintainer": 403,
    "developer": 403,
    "guest": 403,
    "limited": 403,
    "outsider": 403,
    "anonymous": 302,
}


@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
@pytest.mark.parametrize(
    ("method", "url", "data", "ok"),
    [
        ("get", "/robots/", None, 200),
        (
            "post",
            "/robots/",
            {"name": "mirror2", "actions": ["pull"], "expiry": "never", "projects": ["acme"]},
            200,
        ),
        ("post", "/robots/{pk}/enabled/", {"enabled": "0"}, 302),
        ("get", "/robots/{pk}/regenerate/", None, 200),
        ("post", "/robots/{pk}/regenerate/", {}, 200),
        ("get", "/robots/{pk}/delete/", None, 200),
        ("post", "/robots/{pk}/delete/", {}, 302),
    ],
)
def test_system_robots_page_is_for_system_admins_only(
    world: World, persona: str, method: str, url: str, data: Any, ok: int
) -> None:
    robot = make_system_robot(world, "acme", "pub")[0]
    client = world.client(persona)
    target = url.format(pk=robot.pk)
    response = client.post(target, data) if method == "post" else client.get(target)
    expected = ok if SYSTEM[row_of(persona)] == 200 else SYSTEM[row_of(persona)]
    assert response.status_code == expected
    if expected != ok:
        robot.refresh_from_db()
        assert robot.enabled and RobotAccount.objects.filter(project__isnull=True).count() == 1


PUSH_PANEL = {  # persona: (panel on acme, panel on pub); None = no page (404) / login
    "sysadmin": ("push", "push"),
    "padmin": ("push", "push"),
    "maintainer": ("push", "push"),
    "developer": ("push", "push"),
    "guest": ("pull", "pull"),
    "limited": ("pull", "pull"),
    "outsider": (None, "pull"),
}


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", list(PUSH_PANEL))
def test_summary_shows_push_help_to_pushers_and_pull_help_to_the_rest(
    world: World, persona: str, project: str
) -> None:
    response = world.client(persona).get(f"/projects/{project}/")
    panel = PUSH_PANEL[row_of(persona)][0 if project == "acme" else 1]
    if panel is None:
        assert response.status_code == 404
        return
    content = response.content.decode()
    assert f'id="{panel}-help"' in content
    other = "pull" if panel == "push" else "push"
    assert f'id="{other}-help"' not in content
    assert ("docker push" in content) is (panel == "push")
