"""Every API write leaves exactly the audit events it should, attributed to the caller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from accounts.models import ApiToken
from audit.models import AuditEvent
from repositories.models import Membership
from tests.api.conftest import JsonClient
from tests.conftest import World

Row = tuple[str, str, str, str, str, dict[str, Any]]


class Recorder:
    """Runs one call and returns the audit events it wrote, oldest first."""

    def __init__(self, client: JsonClient, last_event_id: Callable[[], int]) -> None:
        self.client = client
        self.last_event_id = last_event_id

    def __call__(self, method: str, url: str, body: Any = None, status: int = 200) -> tuple[Any, list[Row]]:
        since = self.last_event_id()
        response = self.client.request(method, url, body)
        assert response.status_code == status, response.content
        events = AuditEvent.objects.filter(id__gt=since).order_by("id")
        self.events = list(events)
        return response, [
            (e.action, e.actor_name, e.project_name, e.target_type, e.target_name, e.details) for e in events
        ]


@pytest.fixture
def as_user(api: Any, last_event_id: Callable[[], int]) -> Callable[[str], Recorder]:
    def make(persona: str) -> Recorder:
        # Built before the call, so the client's login event is not counted.
        return Recorder(api(persona), last_event_id)

    return make


def test_create_project_audits_the_project_and_its_first_admin(as_user: Any) -> None:
    _, rows = as_user("developer")("POST", "/api/v1/projects/", {"name": "fresh", "is_public": True}, 201)

    assert rows == [
        ("project.create", "developer", "fresh", "project", "fresh", {"is_public": True}),
        ("member.add", "developer", "fresh", "user", "developer", {"role": "project_admin"}),
    ]


def test_update_project_audits_the_changes(as_user: Any) -> None:
    _, rows = as_user("padmin")("PATCH", "/api/v1/projects/acme/", {"is_public": True})

    assert rows == [
        ("project.update", "padmin", "acme", "project", "acme", {"is_public": {"from": False, "to": True}}),
    ]


def test_update_without_changes_audits_nothing(as_user: Any) -> None:
    _, rows = as_user("padmin")("PATCH", "/api/v1/projects/acme/", {"is_public": False})

    assert rows == []


def test_delete_project_audits_it(as_user: Any) -> None:
    _, rows = as_user("sysadmin")("DELETE", "/api/v1/projects/acme/", status=204)

    assert rows == [("project.delete", "sysadmin", "acme", "project", "acme", {"members": 5})]


def test_add_member_audits_it(as_user: Any) -> None:
    body = {"username": "outsider", "role": "developer"}
    response, rows = as_user("padmin")("POST", "/api/v1/projects/acme/members/", body, 201)

    assert rows == [("member.add", "padmin", "acme", "user", "outsider", {"role": "developer"})]
    assert response.json()["username"] == "outsider"
    assert response.json()["role"] == "developer"


def test_change_member_role_audits_it(as_user: Any, world: World) -> None:
    membership = Membership.objects.get(project=world.private, user=world.users["guest"])

    _, rows = as_user("padmin")(
        "PATCH", f"/api/v1/projects/acme/members/{membership.pk}/", {"role": "maintainer"}
    )

    assert rows == [
        ("member.change", "padmin", "acme", "user", "guest", {"from": "guest", "to": "maintainer"})
    ]


def test_remove_member_audits_it(as_user: Any, world: World) -> None:
    membership = Membership.objects.get(project=world.private, user=world.users["guest"])

    _, rows = as_user("padmin")("DELETE", f"/api/v1/projects/acme/members/{membership.pk}/", status=204)

    assert rows == [("member.remove", "padmin", "acme", "user", "guest", {"role": "guest"})]
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_create_user_audits_it(as_user: Any) -> None:
    body = {"username": "newbie", "email": "n@example.com"}
    response, rows = as_user("sysadmin")("POST", "/api/v1/users/", body, 201)

    assert rows == [
        ("user.create", "sysadmin", "", "user", "newbie", {"is_superuser": False, "email": "n@example.com"})
    ]
    assert response.json()["password"]


def test_update_user_audits_each_change(as_user: Any, world: World) -> None:
    body = {"email": "g@example.org", "is_active": False, "is_superuser": True}
    _, rows = as_user("sysadmin")("PATCH", f"/api/v1/users/{world.users['guest'].pk}/", body)

    assert rows == [
        (
            "user.update",
            "sysadmin",
            "",
            "user",
            "guest",
            {"email": {"from": "guest@example.com", "to": "g@example.org"}},
        ),
        ("user.deactivate", "sysadmin", "", "user", "guest", {}),
        ("user.grant_admin", "sysadmin", "", "user", "guest", {}),
    ]


def test_reset_password_audits_it(as_user: Any, world: World) -> None:
    _, rows = as_user("sysadmin")("POST", f"/api/v1/users/{world.users['guest'].pk}/reset-password/", {})

    assert rows == [("user.password_reset", "sysadmin", "", "user", "guest", {})]


def test_create_and_revoke_token_audit_them(as_user: Any) -> None:
    recorder = as_user("developer")
    response, created = recorder("POST", "/api/v1/tokens/", {"name": "ci"}, 201)
    _, revoked = recorder("DELETE", f"/api/v1/tokens/{response.json()['id']}/", status=204)

    assert created == [
        (
            "api_token.create",
            "developer",
            "",
            "api_token",
            "developer/ci",
            {"expires_at": None, "scopes": ["api", "read_api", "read_registry", "write_registry"]},
        )
    ]
    assert revoked == [("api_token.revoke", "developer", "", "api_token", "developer/ci", {})]
    assert ApiToken.objects.get().revoked_at is not None


def test_audit_event_carries_client_address_and_request_id(as_user: Any) -> None:
    recorder = as_user("padmin")
    response, _ = recorder("PATCH", "/api/v1/projects/acme/", {"description": "new"})

    (event,) = recorder.events
    assert event.actor_kind == "user"
    assert event.actor_ip == "127.0.0.1"
    assert event.request_id == response["X-Request-ID"]
    assert event.project_id == Membership.objects.filter(project__name="acme").first().project_id
