"""Every page × every persona × (private `acme`, public `pub`): the status code
follows accounts/permissions.py. Outsiders get 404 for what they may not see,
members 403 for what their role does not allow, anonymous visitors the login page.
The team personas (tests/conftest.py: access only through teams) get the row of the
persona they map to."""

from __future__ import annotations

import pytest

from tests.conftest import MATRIX_PERSONAS, row_of

# Expected status per persona for a page needing one project permission.
# `outsider` is listed per project: 404 on the private one; on the public one they
# hold the public permissions (those of a Limited Guest).
VIEW_PROJECT = {
    "sysadmin": 200,
    "padmin": 200,
    "maintainer": 200,
    "developer": 200,
    "guest": 200,
    "limited": 200,
    "outsider": {"acme": 404, "pub": 200},
}
VIEW_MEMBERS = {
    "sysadmin": 200,
    "padmin": 200,
    "maintainer": 200,
    "developer": 200,
    "guest": 200,
    "limited": 403,
    "outsider": {"acme": 404, "pub": 403},
}
VIEW_AUDIT = VIEW_MEMBERS
EXPORT_AUDIT = {
    "sysadmin": 200,
    "padmin": 200,
    "maintainer": 200,
    "developer": 403,
    "guest": 403,
    "limited": 403,
    "outsider": {"acme": 404, "pub": 403},
}
PROJECT_ADMIN_ONLY = {
    "sysadmin": 200,
    "padmin": 200,
    "maintainer": 403,
    "developer": 403,
    "guest": 403,
    "limited": 403,
    "outsider": {"acme": 404, "pub": 403},
}

PROJECT_PAGES = [
    ("/projects/{name}/", VIEW_PROJECT),
    ("/projects/{name}/members/", VIEW_MEMBERS),
    ("/projects/{name}/logs/", VIEW_AUDIT),
    ("/projects/{name}/logs/export.csv", EXPORT_AUDIT),
    ("/projects/{name}/delete/", PROJECT_ADMIN_ONLY),
]


def _expected(table: dict, persona: str, project: str) -> int:
    if persona == "anonymous":
        return 302
    value = table[row_of(persona)]
    return value[project] if isinstance(value, dict) else value


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
@pytest.mark.parametrize(("url", "table"), PROJECT_PAGES, ids=[url for url, _ in PROJECT_PAGES])
def test_project_page_status_follows_the_role_table(world, persona, project, url, table):
    response = world.client(persona).get(url.format(name=project))

    expected = _expected(table, persona, project)
    assert response.status_code == expected
    if expected == 302:
        assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_only_project_admins_may_post_project_settings(world, persona, project):
    response = world.client(persona).post(
        f"/projects/{project}/edit/",
        {"description": "changed", "is_public": "on" if project == "pub" else ""},
    )

    expected = _expected(PROJECT_ADMIN_ONLY, persona, project)
    assert response.status_code == (302 if expected == 200 else expected)


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_only_project_admins_may_add_members(world, persona, project, django_user_model):
    django_user_model.objects.create_user("newcomer", password="x-unused-x")

    response = world.client(persona).post(
        f"/projects/{project}/members/add/", {"username": "newcomer", "role": "guest"}
    )

    expected = _expected(PROJECT_ADMIN_ONLY, persona, project)
    assert response.status_code == (302 if expected == 200 else expected)
    added = (
        world.private.memberships.filter(user__username="newcomer").exists()
        if project == "acme"
        else (world.public.memberships.filter(user__username="newcomer").exists())
    )
    assert added == (expected == 200)


@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_project_list_is_for_logged_in_users(world, persona):
    response = world.client(persona).get("/projects/")

    assert response.status_code == (302 if persona == "anonymous" else 200)


@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_project_list_shows_private_projects_to_their_members_only(world, persona):
    response = world.client(persona).get("/projects/")
    if persona == "anonymous":
        return
    names = {project.name for project in response.context["page"].object_list}

    assert "pub" in names
    assert ("acme" in names) == (row_of(persona) != "outsider")


def test_anonymous_visitors_see_the_public_list_when_the_site_allows_it(world, settings):
    settings.WHARF_ANONYMOUS_PUBLIC_LIST = True

    response = world.client("anonymous").get("/projects/")

    assert response.status_code == 200
    assert [p.name for p in response.context["page"].object_list] == ["pub"]


def test_anonymous_visitors_still_need_to_log_in_for_a_public_project_page(world, settings):
    settings.WHARF_ANONYMOUS_PUBLIC_LIST = True

    assert world.client("anonymous").get("/projects/pub/").status_code == 302


@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
@pytest.mark.parametrize("url", ["/audit/", "/audit/export.csv", "/users/", "/users/new/"])
def test_system_pages_are_for_system_admins_only(world, persona, url):
    response = world.client(persona).get(url)

    expected = {"sysadmin": 200, "anonymous": 302}.get(persona, 403)
    assert response.status_code == expected


@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_user_detail_is_for_system_admins_only(world, persona):
    response = world.client(persona).get(f"/users/{world.users['developer'].pk}/")

    assert response.status_code == {"sysadmin": 200, "anonymous": 302}.get(persona, 403)


@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_every_user_has_a_token_page(world, persona):
    response = world.client(persona).get("/account/tokens/")

    assert response.status_code == (302 if persona == "anonymous" else 200)


@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_new_project_page_follows_the_creation_policy(world, persona, settings):
    settings.WHARF_PROJECT_CREATION = "admins"
    admins_only = world.client(persona).get("/projects/new/").status_code
    settings.WHARF_PROJECT_CREATION = "everyone"
    everyone = world.client(persona).get("/projects/new/").status_code

    if persona == "anonymous":
        assert (admins_only, everyone) == (302, 302)
    elif persona == "sysadmin":
        assert (admins_only, everyone) == (200, 200)
    else:
        assert (admins_only, everyone) == (403, 200)


def test_root_redirects_to_the_project_list(world):
    response = world.client("developer").get("/")

    assert response.status_code == 302
    assert response["Location"] == "/projects/"


def test_login_page_is_open_to_everyone(db, client):
    response = client.get("/login/")

    assert response.status_code == 200
    assert b'name="password"' in response.content


@pytest.mark.parametrize(
    "url",
    [
        "/projects/",
        "/projects/new/",
        "/projects/acme/",
        "/projects/acme/members/",
        "/projects/acme/logs/",
        "/projects/acme/delete/",
        "/audit/",
        "/users/",
        "/users/new/",
        "/account/tokens/",
        "/login/",
    ],
)
def test_pages_render_no_template_syntax(world, url):
    persona = "anonymous" if url == "/login/" else "sysadmin"

    body = world.client(persona).get(url).content.decode()

    assert "{#" not in body and "{%" not in body and "{{" not in body


@pytest.mark.parametrize(
    ("persona", "url", "status"),
    [("outsider", "/projects/acme/", 404), ("limited", "/projects/acme/members/", 403)],
)
def test_error_pages_are_friendly_and_keep_the_layout(world, persona, url, status, settings):
    settings.DEBUG = False

    response = world.client(persona).get(url)

    assert response.status_code == status
    body = response.content.decode()
    assert 'id="user-menu"' in body
    assert ("Nothing here" if status == 404 else "You may not do this") in body
