"""Refused input: 400 with the offending field's name, and nothing written."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import AuditAction, AuditEvent
from repositories.models import Membership, Project
from tests.conftest import World


@pytest.fixture
def no_new_events(world: World) -> Any:
    """Fails the test if it audited anything but the test client's logins."""
    before = AuditEvent.objects.count()
    yield
    assert AuditEvent.objects.exclude(action=AuditAction.LOGIN).count() == before


def _field_errors(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert all(isinstance(messages, list) and messages for messages in body.values())
    return body


def test_invalid_project_name_is_400_on_name(api: Any, no_new_events: None) -> None:
    errors = _field_errors(api("developer").post("/api/v1/projects/", {"name": "Bad Name!"}))

    assert list(errors) == ["name"]
    assert "lowercase" in errors["name"][0]
    assert not Project.objects.filter(name__iexact="bad name!").exists()


def test_missing_project_name_is_400_on_name(api: Any, no_new_events: None) -> None:
    errors = _field_errors(api("developer").post("/api/v1/projects/", {"description": "no name"}))

    assert list(errors) == ["name"]


def test_duplicate_project_is_400_on_name(api: Any, no_new_events: None) -> None:
    errors = _field_errors(api("developer").post("/api/v1/projects/", {"name": "acme"}))

    assert errors == {"name": ["A project with this name already exists."]}


def test_too_long_description_is_400_on_description(api: Any, no_new_events: None) -> None:
    errors = _field_errors(api("padmin").patch("/api/v1/projects/acme/", {"description": "x" * 2001}))

    assert list(errors) == ["description"]


def test_adding_an_unknown_username_is_400_on_username(api: Any, no_new_events: None) -> None:
    errors = _field_errors(
        api("padmin").post("/api/v1/projects/acme/members/", {"username": "ghost", "role": "guest"})
    )

    assert errors == {"username": ["There is no user called “ghost”."]}


def test_adding_with_a_bad_role_is_400_on_role(api: Any, world: World, no_new_events: None) -> None:
    errors = _field_errors(
        api("padmin").post("/api/v1/projects/acme/members/", {"username": "outsider", "role": "owner"})
    )

    assert list(errors) == ["role"]
    assert not Membership.objects.filter(user=world.users["outsider"]).exists()


def test_changing_to_a_bad_role_is_400_on_role(api: Any, world: World, no_new_events: None) -> None:
    membership = Membership.objects.get(project=world.private, user=world.users["developer"])

    errors = _field_errors(
        api("padmin").patch(f"/api/v1/projects/acme/members/{membership.pk}/", {"role": "x"})
    )

    assert list(errors) == ["role"]


def test_adding_an_existing_member_is_400_on_username(api: Any, no_new_events: None) -> None:
    errors = _field_errors(
        api("padmin").post("/api/v1/projects/acme/members/", {"username": "guest", "role": "developer"})
    )

    assert errors == {"username": ["guest is already a member of acme."]}


def test_removing_the_last_project_admin_is_400_on_role(api: Any, world: World, no_new_events: None) -> None:
    membership = Membership.objects.get(project=world.private, user=world.users["padmin"])

    errors = _field_errors(api("padmin").delete(f"/api/v1/projects/acme/members/{membership.pk}/"))

    assert list(errors) == ["role"]
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_demoting_the_last_project_admin_is_400_on_role(api: Any, world: World, no_new_events: None) -> None:
    membership = Membership.objects.get(project=world.private, user=world.users["padmin"])

    errors = _field_errors(
        api("sysadmin").patch(f"/api/v1/projects/acme/members/{membership.pk}/", {"role": "guest"})
    )

    assert list(errors) == ["role"]
    membership.refresh_from_db()
    assert membership.role == "project_admin"


def test_token_without_name_is_400_on_name(api: Any, no_new_events: None) -> None:
    assert list(_field_errors(api("developer").post("/api/v1/tokens/", {"name": "  "}))) == ["name"]


def test_token_expiring_in_the_past_is_400_on_expires_at(api: Any, no_new_events: None) -> None:
    response = api("developer").post("/api/v1/tokens/", {"name": "ci", "expires_at": "2000-01-01T00:00:00Z"})

    assert list(_field_errors(response)) == ["expires_at"]


def test_taken_username_is_400_on_username(api: Any, no_new_events: None) -> None:
    response = api("sysadmin").post("/api/v1/users/", {"username": "GUEST"})

    assert list(_field_errors(response)) == ["username"]


def test_weak_password_is_400_on_password(api: Any, no_new_events: None) -> None:
    response = api("sysadmin").post("/api/v1/users/", {"username": "newbie", "password": "123"})

    assert list(_field_errors(response)) == ["password"]


def test_invalid_email_is_400_on_email(api: Any, world: World, no_new_events: None) -> None:
    response = api("sysadmin").patch(f"/api/v1/users/{world.users['guest'].pk}/", {"email": "nope"})

    assert list(_field_errors(response)) == ["email"]


def test_admin_cannot_deactivate_themselves(api: Any, world: World, no_new_events: None) -> None:
    response = api("sysadmin").patch(f"/api/v1/users/{world.users['sysadmin'].pk}/", {"is_active": False})

    assert list(_field_errors(response)) == ["is_active"]


def test_a_refused_change_rolls_back_the_accepted_ones(api: Any, world: World, no_new_events: None) -> None:
    me = world.users["sysadmin"]

    response = api("sysadmin").patch(
        f"/api/v1/users/{me.pk}/", {"email": "new@example.com", "is_superuser": False}
    )

    assert list(_field_errors(response)) == ["is_superuser"]
    me.refresh_from_db()
    assert me.email == "sysadmin@example.com"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=yesterday", "since"),
        ("action=user.nonsense", "action"),
        ("since=2026-02-02&until=2026-01-01", "until"),
    ],
)
def test_bad_audit_filter_is_400_on_that_filter(api: Any, query: str, field: str) -> None:
    for url in ("/api/v1/projects/acme/audit-events/", "/api/v1/audit-events/"):
        response = api("sysadmin").get(f"{url}?{query}")

        assert list(_field_errors(response)) == [field]
