"""Personal API tokens: `Authorization: Bearer wharf_...`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import ApiToken
from accounts.services.tokens import create_token, revoke_token
from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from tests.api.conftest import JsonClient
from tests.conftest import World


def _token(user: Any, name: str = "ci", **kwargs: Any) -> tuple[ApiToken, str]:
    return create_token(user, actor=Actor.for_user(user), name=name, **kwargs)


def _bearer(value: str) -> JsonClient:
    # enforce_csrf_checks: token calls must not depend on a CSRF token.
    return JsonClient(Client(enforce_csrf_checks=True), Authorization=value)


def test_valid_token_authenticates_as_its_owner(world: World) -> None:
    _, secret = _token(world.users["developer"])

    response = _bearer(f"Bearer {secret}").get("/api/v1/me/")

    assert response.status_code == 200
    assert response.json()["username"] == "developer"
    assert response.json()["is_superuser"] is False


def test_token_keyword_is_also_accepted(world: World) -> None:
    _, secret = _token(world.users["developer"])

    assert _bearer(f"Token {secret}").get("/api/v1/me/").status_code == 200


def test_token_caller_sees_the_projects_of_its_owner(world: World) -> None:
    _, secret = _token(world.users["outsider"])

    response = _bearer(f"Bearer {secret}").get("/api/v1/projects/")

    assert [p["name"] for p in response.json()["results"]] == ["pub"]


def test_token_can_write_without_csrf_token_and_is_audited_as_its_owner(world: World) -> None:
    _, secret = _token(world.users["padmin"])

    response = _bearer(f"Bearer {secret}").patch("/api/v1/projects/acme/", {"description": "via token"})

    assert response.status_code == 200
    event = AuditEvent.objects.get(action=AuditAction.PROJECT_UPDATE)
    assert event.actor_name == "padmin"
    assert event.actor_kind == "user"


def test_session_write_without_csrf_token_is_refused(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["padmin"])

    response = client.patch("/api/v1/projects/acme/", {"description": "x"}, content_type="application/json")

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_revoked_token_is_refused(world: World) -> None:
    token, secret = _token(world.users["developer"])
    revoke_token(token, actor=Actor.for_user(world.users["developer"]))

    response = _bearer(f"Bearer {secret}").get("/api/v1/me/")

    assert response.status_code == 401
    assert response.json()["detail"] == "The token is unknown, expired or revoked."


def test_expired_token_is_refused(world: World) -> None:
    token, secret = _token(world.users["developer"], expires_at=timezone.now() + timedelta(hours=1))
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert _bearer(f"Bearer {secret}").get("/api/v1/me/").status_code == 401


def test_token_of_deactivated_user_is_refused(world: World) -> None:
    user = world.users["developer"]
    _, secret = _token(user)
    user.is_active = False
    user.save()

    assert _bearer(f"Bearer {secret}").get("/api/v1/me/").status_code == 401


@pytest.mark.parametrize(
    "header",
    ["Bearer garbage", "Bearer wharf_not-a-real-token", "Bearer", "Bearer two tokens"],
)
def test_garbage_token_is_refused_with_json_401(world: World, header: str) -> None:
    response = _bearer(header).get("/api/v1/me/")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_token_use_is_recorded_as_last_used(world: World) -> None:
    token, secret = _token(world.users["developer"])

    _bearer(f"Bearer {secret}").get("/api/v1/me/")

    token.refresh_from_db()
    assert token.last_used_at is not None
