"""The project list, creation, settings and deletion pages."""

from __future__ import annotations

import pytest

from accounts.permissions import Role
from audit.models import AuditAction, AuditEvent
from repositories.models import Membership, Project
from tests.factories import MembershipFactory, ProjectFactory
from tests.support.keyset_pages import nth_page


def test_project_list_counts_members_and_shows_my_role(world):
    response = world.client("developer").get("/projects/")

    rows = {p.name: p for p in response.context["page"].object_list}
    assert rows["acme"].member_count == 5
    assert rows["acme"].my_role_label == "Developer"
    assert b"Public" in response.content


def test_project_list_counts_all_members_of_a_public_project_for_an_outsider(world):
    response = world.client("outsider").get("/projects/")

    rows = {p.name: p for p in response.context["page"].object_list}
    assert rows["pub"].member_count == 5
    assert rows["pub"].my_role_label == ""


def test_project_list_search_filters_by_name_and_description(world):
    ProjectFactory(name="other", description="hello ACME users", is_public=True)

    response = world.client("developer").get("/projects/", {"q": "acme"})

    assert sorted(p.name for p in response.context["page"].object_list) == ["acme", "other"]


def test_project_list_htmx_request_gets_only_the_table(world):
    response = world.client("developer").get("/projects/", {"q": "pub"}, HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert body.lstrip().startswith('<div id="project-table"')
    assert "<nav" not in body.split('id="project-table"')[0]
    assert "<html" not in body


def test_project_list_full_page_includes_the_search_box_and_table(world):
    body = world.client("developer").get("/projects/").content.decode()

    assert 'hx-trigger="input changed delay:250ms, search"' in body
    assert 'id="project-table"' in body
    assert "htmx" in body and 'id="modal"' in body


@pytest.mark.parametrize(
    ("sort", "first"),
    [
        ("name", "a-first"),
        ("-name", "z-last"),
        ("members", "z-last"),
        ("-created", "z-last"),
        ("role", "a-first"),
    ],
)
def test_project_list_sorts(world, sort, first):
    a = ProjectFactory(name="a-first", is_public=True)
    z = ProjectFactory(name="z-last", is_public=True)
    MembershipFactory.create_batch(6, project=z)
    MembershipFactory(project=a, user=world.users["outsider"], role=Role.PROJECT_ADMIN)
    # created_at: z is newest
    Project.objects.filter(pk=a.pk).update(created_at=a.created_at.replace(year=2000))

    response = world.client("outsider").get("/projects/", {"sort": sort})

    assert response.context["page"].object_list[0].name == first


def test_project_list_paginates(world):
    ProjectFactory.create_batch(30, is_public=True)

    first = world.client("developer").get("/projects/")
    second = nth_page(world.client("developer"), "/projects/", {}, 2)

    assert len(first.context["page"].object_list) == 25
    assert len(second.context["page"].object_list) == 32 - 25
    assert f"cursor={first.context['page'].next}".encode() in first.content


def test_new_project_button_follows_the_creation_policy(world, settings):
    settings.WHARF_PROJECT_CREATION = "admins"
    assert b"New project" not in world.client("developer").get("/projects/").content
    assert b"New project" in world.client("sysadmin").get("/projects/").content


def test_creating_a_project_makes_the_creator_its_admin_and_audits_it(world):
    client = world.client("developer")

    response = client.post("/projects/new/", {"name": "fresh", "description": "new one", "is_public": "on"})

    assert response.status_code == 302
    assert response["Location"] == "/projects/fresh/"
    project = Project.objects.get(name="fresh")
    assert project.is_public and project.created_by == world.users["developer"]
    assert Membership.objects.get(project=project).role == Role.PROJECT_ADMIN
    actions = list(AuditEvent.objects.filter(project_id=project.pk).values_list("action", "actor_name"))
    assert (AuditAction.PROJECT_CREATE, "developer") in actions
    assert (AuditAction.MEMBER_ADD, "developer") in actions
    assert "created" in client.get(response["Location"]).content.decode()


def test_creating_a_project_with_an_invalid_name_shows_the_error_inline(world):
    response = world.client("developer").post("/projects/new/", {"name": "Bad Name!"})

    assert response.status_code == 200
    assert "name" in response.context["form"].errors
    assert b"invalid-feedback" in response.content
    assert not Project.objects.filter(name__iexact="bad name!").exists()
    assert not AuditEvent.objects.filter(action=AuditAction.PROJECT_CREATE).exists()


def test_creating_a_project_with_a_taken_name_shows_the_error_inline(world):
    response = world.client("developer").post("/projects/new/", {"name": "acme"})

    assert response.status_code == 200
    assert response.context["form"].errors["name"] == ["A project with this name already exists."]
    assert Project.objects.filter(name="acme").count() == 1


def test_creating_a_project_is_refused_when_only_admins_may(world, settings):
    settings.WHARF_PROJECT_CREATION = "admins"

    response = world.client("developer").post("/projects/new/", {"name": "sneaky"})

    assert response.status_code == 403
    assert not Project.objects.filter(name="sneaky").exists()


def test_project_page_shows_settings_only_to_those_who_may_change_them(world):
    admin_page = world.client("padmin").get("/projects/acme/").content.decode()
    guest_page = world.client("guest").get("/projects/acme/").content.decode()

    assert "/projects/acme/edit/" in admin_page and "/projects/acme/delete/" in admin_page
    assert "/projects/acme/edit/" not in guest_page and "/projects/acme/delete/" not in guest_page


def test_project_tabs_follow_permissions(world):
    limited = world.client("limited").get("/projects/acme/").context["tabs"]
    guest = world.client("guest").get("/projects/acme/").context["tabs"]

    # Labels, statistics and signing keys are read by whoever reads the repositories, policies by whoever sees the project.
    assert [tab["key"] for tab in limited] == [
        "summary", "repositories", "labels", "statistics", "security", "signing", "policies"
    ]
    assert [tab["key"] for tab in guest] == [
        "summary", "repositories", "labels", "statistics", "security", "signing", "policies", "members", "retention", "logs"
    ]


def test_updating_a_project_saves_and_audits(world):
    response = world.client("padmin").post(
        "/projects/acme/edit/", {"description": "new words", "is_public": "on"}
    )

    assert response.status_code == 302
    world.private.refresh_from_db()
    assert world.private.description == "new words" and world.private.is_public
    event = AuditEvent.objects.get(action=AuditAction.PROJECT_UPDATE)
    assert event.actor_name == "padmin" and event.details["is_public"] == {"from": False, "to": True}


def test_delete_confirmation_comes_as_a_modal_dialog_for_htmx(world):
    response = world.client("padmin").get("/projects/acme/delete/", HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert body.lstrip().startswith('<div class="modal-dialog">')
    assert "Delete project acme?" in body


def test_deleting_a_project_redirects_to_the_list_and_audits(world):
    response = world.client("padmin").post("/projects/acme/delete/")

    assert response.status_code == 302 and response["Location"] == "/projects/"
    assert not Project.objects.filter(name="acme").exists()
    assert AuditEvent.objects.filter(action=AuditAction.PROJECT_DELETE, target_name="acme").exists()


def test_deleting_a_project_with_htmx_redirects_the_client(world):
    response = world.client("padmin").post("/projects/acme/delete/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert response["HX-Redirect"] == "/projects/"


def test_developer_cannot_delete_a_project(world):
    assert world.client("developer").post("/projects/acme/delete/").status_code == 403
    assert Project.objects.filter(name="acme").exists()


def test_user_text_is_escaped(world):
    ProjectFactory(name="xss", is_public=True, description="<script>alert(1)</script>")

    list_page = world.client("developer").get("/projects/").content.decode()
    project_page = world.client("developer").get("/projects/xss/").content.decode()

    for body in (list_page, project_page):
        assert "<script>alert(1)</script>" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_list_pages_vary_on_the_htmx_header(world):
    response = world.client("developer").get("/projects/")

    assert "HX-Request" in response["Vary"]


def test_an_htmx_history_restore_gets_the_whole_page(world):
    response = world.client("developer").get(
        "/projects/", {"q": "pub"}, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )

    assert "<html" in response.content.decode()


def test_a_bad_sort_value_keeps_the_search(world):
    response = world.client("developer").get("/projects/", {"q": "pub", "sort": "bogus", "page": "x"})

    assert [p.name for p in response.context["page"].object_list] == ["pub"]
