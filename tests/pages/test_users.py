"""User administration pages for system admins."""

from __future__ import annotations

import pytest

from accounts.models import User
from audit.models import AuditAction, AuditEvent
from tests.factories import PASSWORD


def _messages(response):
    return [str(m) for m in response.context["messages"]]


def _shown_password(response, username):
    """The generated password, from the one-time "secret" flash message."""
    [message] = [m for m in response.context["messages"] if f"new-password-of-{username}" in m.extra_tags]
    assert f'value="{message.message}"' in response.content.decode()
    return message.message


def test_user_list_shows_flags_and_searches(world):
    world.users["guest"].is_active = False
    world.users["guest"].save()
    client = world.client("sysadmin")

    everyone = client.get("/users/").content.decode()
    found = client.get("/users/", {"q": "main"})

    assert "System admin" in everyone and "Deactivated" in everyone
    assert [u.username for u in found.context["page"].object_list] == ["maintainer"]


def test_user_list_htmx_search_gets_only_the_table(world):
    response = world.client("sysadmin").get("/users/", {"q": "dev"}, HTTP_HX_REQUEST="true")

    assert response.content.decode().lstrip().startswith('<div id="user-table"')


def test_admin_creates_a_user_with_a_chosen_password(world, client):
    response = world.client("sysadmin").post(
        "/users/new/", {"username": "carol", "email": "carol@example.com", "password": PASSWORD}
    )

    carol = User.objects.get(username="carol")
    assert response["Location"] == f"/users/{carol.pk}/"
    assert client.login(username="carol", password=PASSWORD)
    assert AuditEvent.objects.filter(
        action=AuditAction.USER_CREATE, target_name="carol", actor_name="sysadmin"
    ).exists()


def test_admin_creates_a_user_with_a_generated_password_shown_once(world, client):
    admin = world.client("sysadmin")

    response = admin.post("/users/new/", {"username": "dave"}, follow=True)

    password = _shown_password(response, "dave")
    assert client.login(username="dave", password=password)
    assert password not in admin.get(response.redirect_chain[-1][0]).content.decode()


def test_creating_a_taken_username_is_an_inline_error(world):
    response = world.client("sysadmin").post("/users/new/", {"username": "Developer", "password": PASSWORD})

    assert response.status_code == 200
    assert "taken" in response.context["form"].errors["username"][0]


def test_creating_a_user_with_a_weak_password_is_an_inline_error(world):
    response = world.client("sysadmin").post("/users/new/", {"username": "erin", "password": "123"})

    assert response.context["form"].errors["password"]
    assert not User.objects.filter(username="erin").exists()


def test_admin_deactivates_and_reactivates_a_user(world):
    admin = world.client("sysadmin")
    target = world.users["developer"]

    admin.post(f"/users/{target.pk}/active/", {"active": "0"})
    target.refresh_from_db()
    assert not target.is_active
    admin.post(f"/users/{target.pk}/active/", {"active": "1"})
    target.refresh_from_db()
    assert target.is_active
    actions = list(AuditEvent.objects.filter(target_name="developer").values_list("action", flat=True))
    assert actions == [AuditAction.USER_ACTIVATE, AuditAction.USER_DEACTIVATE]


def test_admin_cannot_deactivate_themself(world):
    admin = world.users["sysadmin"]

    response = world.client("sysadmin").post(f"/users/{admin.pk}/active/", {"active": "0"}, follow=True)

    admin.refresh_from_db()
    assert admin.is_active
    assert "You cannot deactivate your own account." in _messages(response)


def test_admin_resets_a_password_by_generating_one(world, client):
    target = world.users["guest"]

    response = world.client("sysadmin").post(f"/users/{target.pk}/password/", {"password": ""}, follow=True)

    assert client.login(username="guest", password=_shown_password(response, "guest"))
    assert not client.login(username="guest", password=PASSWORD)
    assert AuditEvent.objects.filter(action=AuditAction.USER_PASSWORD_RESET, target_name="guest").exists()


def test_admin_sets_a_chosen_password(world, client):
    target = world.users["guest"]

    world.client("sysadmin").post(f"/users/{target.pk}/password/", {"password": "another-long-passphrase-9"})

    assert client.login(username="guest", password="another-long-passphrase-9")


def test_a_weak_chosen_password_is_an_inline_error(world):
    target = world.users["guest"]

    response = world.client("sysadmin").post(f"/users/{target.pk}/password/", {"password": "guest"})

    assert response.status_code == 200
    assert response.context["password_form"].errors["password"]


def test_admin_grants_and_revokes_system_admin(world):
    admin = world.client("sysadmin")
    target = world.users["developer"]

    admin.post(f"/users/{target.pk}/admin/", {"admin": "1"})
    target.refresh_from_db()
    assert target.is_superuser
    admin.post(f"/users/{target.pk}/admin/", {"admin": "0"})
    target.refresh_from_db()
    assert not target.is_superuser
    assert AuditEvent.objects.filter(action=AuditAction.USER_GRANT_ADMIN, target_name="developer").exists()
    assert AuditEvent.objects.filter(action=AuditAction.USER_REVOKE_ADMIN, target_name="developer").exists()


def test_admin_changes_an_email_and_sees_invalid_ones_inline(world):
    admin = world.client("sysadmin")
    target = world.users["developer"]

    bad = admin.post(f"/users/{target.pk}/email/", {"email": "not-an-address"})
    admin.post(f"/users/{target.pk}/email/", {"email": "dev@new.example"})

    assert bad.context["email_form"].errors["email"]
    target.refresh_from_db()
    assert target.email == "dev@new.example"


@pytest.mark.parametrize(
    "url",
    [
        "/users/new/",
        "/users/{pk}/active/",
        "/users/{pk}/password/",
        "/users/{pk}/admin/",
        "/users/{pk}/email/",
    ],
)
def test_non_admins_cannot_post_user_administration(world, url):
    target = world.users["guest"]

    response = world.client("padmin").post(
        url.format(pk=target.pk), {"username": "x", "active": "0", "admin": "1", "email": "a@b.c"}
    )

    assert response.status_code == 403
    target.refresh_from_db()
    assert target.is_active and not target.is_superuser and target.email == "guest@example.com"
