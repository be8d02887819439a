"""`/api/v1/users/` (system admins) and `/api/v1/me/`."""

from __future__ import annotations

from typing import Any

from tests.conftest import World


def test_me_describes_the_caller(world: World, api: Any) -> None:
    assert api("sysadmin").get("/api/v1/me/").json() == {
        "id": world.users["sysadmin"].pk,
        "username": "sysadmin",
        "email": "sysadmin@example.com",
        "is_superuser": True,
    }


def test_users_can_be_searched_by_username_or_email(world: World, api: Any) -> None:
    world.users["guest"].email = "someone@corp.test"
    world.users["guest"].save()
    client = api("sysadmin")

    by_name = client.get("/api/v1/users/", {"search": "admin"}).json()["results"]
    by_email = client.get("/api/v1/users/", {"search": "corp.test"}).json()["results"]

    assert [u["username"] for u in by_name] == ["padmin", "sysadmin"]
    assert [u["username"] for u in by_email] == ["guest"]


def test_user_without_password_gets_a_generated_one_shown_once(world: World, api: Any, client: Any) -> None:
    response = api("sysadmin").post("/api/v1/users/", {"username": "newbie", "email": "n@example.com"})

    assert response.status_code == 201
    password = response.json()["password"]
    assert len(password) >= 16
    assert client.login(username="newbie", password=password)
    detail = api("sysadmin").get(f"/api/v1/users/{response.json()['id']}/").json()
    assert "password" not in detail


def test_user_with_chosen_password_does_not_echo_it(world: World, api: Any, client: Any) -> None:
    response = api("sysadmin").post(
        "/api/v1/users/", {"username": "newbie", "password": "a-long-chosen-phrase"}
    )

    assert response.status_code == 201
    assert response.json()["password"] is None
    assert client.login(username="newbie", password="a-long-chosen-phrase")


def test_new_system_admin_can_be_created(world: World, api: Any) -> None:
    response = api("sysadmin").post("/api/v1/users/", {"username": "boss", "is_superuser": True})

    assert response.json()["is_superuser"] is True


def test_patch_changes_email_activity_and_admin_rights(world: World, api: Any) -> None:
    guest = world.users["guest"]

    response = api("sysadmin").patch(
        f"/api/v1/users/{guest.pk}/", {"email": "g@example.org", "is_active": False, "is_superuser": True}
    )

    assert response.status_code == 200
    guest.refresh_from_db()
    assert (guest.email, guest.is_active, guest.is_superuser) == ("g@example.org", False, True)
    assert response.json()["is_active"] is False


def test_reset_password_generates_one_unless_given(world: World, api: Any, client: Any) -> None:
    url = f"/api/v1/users/{world.users['guest'].pk}/reset-password/"

    generated = api("sysadmin").post(url, {}).json()["password"]
    assert client.login(username="guest", password=generated)

    assert api("sysadmin").post(url, {"password": "another-long-phrase"}).json() == {"password": None}
    assert client.login(username="guest", password="another-long-phrase")
