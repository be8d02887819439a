"""The Members tab: adding, changing and removing members, with htmx and without."""

from __future__ import annotations

from accounts.permissions import Role
from audit.models import AuditAction, AuditEvent
from repositories.models import Membership
from tests.factories import UserFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


def _membership(world, persona, project="acme"):
    return Membership.objects.get(project__name=project, user=world.users[persona])


def test_members_tab_lists_members_with_their_roles(world):
    response = world.client("guest").get("/projects/acme/members/")

    body = response.content.decode()
    for persona in ["padmin", "maintainer", "developer", "guest", "limited"]:
        assert f'data-username="{persona}"' in body
    assert "Limited Guest" in body
    assert "member-add-form" not in body  # guests cannot manage


def test_members_tab_shows_the_management_controls_to_project_admins(world):
    body = world.client("padmin").get("/projects/acme/members/").content.decode()

    assert 'id="member-add-form"' in body
    assert 'hx-post="/projects/acme/members/add/"' in body
    assert "role-select" in body
    assert f"/projects/acme/members/{_membership(world, 'guest').pk}/remove/" in body


def test_adding_a_member_with_htmx_renders_the_new_row_and_audits(world):
    UserFactory(username="newbie")

    response = world.client("padmin").post(
        "/projects/acme/members/add/", {"username": "newbie", "role": "maintainer"}, **HTMX
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="members-section"')
    assert 'data-username="newbie"' in body
    assert 'hx-swap-oob="true"' in body and "newbie is now Maintainer" in body
    assert Membership.objects.get(project=world.private, user__username="newbie").role == Role.MAINTAINER
    event = AuditEvent.objects.get(action=AuditAction.MEMBER_ADD, target_name="newbie")
    assert event.actor_name == "padmin" and event.project_id == world.private.pk
    assert event.details == {"role": "maintainer"}


def test_adding_a_member_without_javascript_redirects_back(world):
    UserFactory(username="newbie")

    response = world.client("padmin").post(
        "/projects/acme/members/add/", {"username": "newbie", "role": "guest"}
    )

    assert response.status_code == 302 and response["Location"] == "/projects/acme/members/"


def test_adding_an_unknown_user_shows_an_inline_error(world):
    response = world.client("padmin").post(
        "/projects/acme/members/add/", {"username": "nobody", "role": "guest"}, **HTMX
    )

    assert response.status_code == 200
    assert response.context["form"].errors["username"] == ["There is no user called “nobody”."]
    assert "is-invalid" in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.MEMBER_ADD).exists()


def test_adding_an_existing_member_shows_an_inline_error(world):
    response = world.client("padmin").post(
        "/projects/acme/members/add/", {"username": "guest", "role": "developer"}, **HTMX
    )

    assert "already a member" in response.context["form"].errors["username"][0]
    assert _membership(world, "guest").role == Role.GUEST


def test_adding_with_an_unknown_role_is_a_form_error(world):
    UserFactory(username="newbie")

    response = world.client("padmin").post(
        "/projects/acme/members/add/", {"username": "newbie", "role": "king"}
    )

    assert "role" in response.context["form"].errors
    assert not Membership.objects.filter(user__username="newbie").exists()


def test_changing_a_role_with_htmx_rerenders_the_section_and_audits(world):
    guest = _membership(world, "guest")

    response = world.client("padmin").post(
        f"/projects/acme/members/{guest.pk}/role/", {"role": "developer", "page": "1"}, **HTMX
    )

    assert response.status_code == 200
    guest.refresh_from_db()
    assert guest.role == Role.DEVELOPER
    event = AuditEvent.objects.get(action=AuditAction.MEMBER_CHANGE)
    assert (event.target_name, event.details) == ("guest", {"from": "guest", "to": "developer"})
    assert "guest is now Developer" in response.content.decode()


def test_demoting_the_last_project_admin_is_refused_with_a_message(world):
    padmin = _membership(world, "padmin")

    response = world.client("padmin").post(
        f"/projects/acme/members/{padmin.pk}/role/", {"role": "guest"}, **HTMX
    )

    padmin.refresh_from_db()
    assert padmin.role == Role.PROJECT_ADMIN
    assert "at least one Project Admin" in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.MEMBER_CHANGE).exists()


def test_changing_a_role_without_javascript_redirects_back(world):
    guest = _membership(world, "guest")

    response = world.client("padmin").post(f"/projects/acme/members/{guest.pk}/role/", {"role": "maintainer"})

    assert response.status_code == 302
    guest.refresh_from_db()
    assert guest.role == Role.MAINTAINER


def test_a_membership_of_another_project_is_not_found(world):
    other = _membership(world, "guest", project="pub")

    response = world.client("padmin").post(f"/projects/acme/members/{other.pk}/role/", {"role": "developer"})

    assert response.status_code == 404


def test_remove_confirmation_comes_as_a_modal_dialog(world):
    guest = _membership(world, "guest")

    response = world.client("padmin").get(f"/projects/acme/members/{guest.pk}/remove/", **HTMX)

    assert response.content.decode().lstrip().startswith('<div class="modal-dialog">')
    assert "Remove guest?" in response.content.decode()


def test_removing_a_member_audits_and_redirects(world):
    guest = _membership(world, "guest")

    response = world.client("padmin").post(f"/projects/acme/members/{guest.pk}/remove/", **HTMX)

    assert response["HX-Redirect"] == "/projects/acme/members/"
    assert not Membership.objects.filter(pk=guest.pk).exists()
    event = AuditEvent.objects.get(action=AuditAction.MEMBER_REMOVE)
    assert (event.target_name, event.actor_name, event.details) == ("guest", "padmin", {"role": "guest"})


def test_removing_the_last_project_admin_is_refused(world):
    padmin = _membership(world, "padmin")

    response = world.client("padmin").post(f"/projects/acme/members/{padmin.pk}/remove/", follow=True)

    assert Membership.objects.filter(pk=padmin.pk).exists()
    assert "at least one Project Admin" in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.MEMBER_REMOVE).exists()


def test_a_guest_cannot_remove_members(world):
    developer = _membership(world, "developer")

    assert world.client("guest").post(f"/projects/acme/members/{developer.pk}/remove/").status_code == 403
    assert Membership.objects.filter(pk=developer.pk).exists()
