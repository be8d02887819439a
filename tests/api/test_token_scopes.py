"""Scopes of personal access tokens at the API: `api` writes, `read_api` only reads,
a registry-only token is refused; creating tokens with scopes, and their validation."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from accounts.models import ApiToken
from accounts.services.tokens import create_token
from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from tests.api.conftest import JsonClient
from tests.conftest import World


def _bearer(user: Any, *scopes: str) -> JsonClient:
    _, secret = create_token(user, actor=Actor.for_user(user), name="script", scopes=scopes)
    # enforce_csrf_checks: token calls must not depend on a CSRF token.
    return JsonClient(Client(enforce_csrf_checks=True), Authorization=f"Bearer {secret}")


def test_read_api_token_may_read(world: World) -> None:
    client = _bearer(world.users["padmin"], "read_api")

    response = client.get("/api/v1/projects/acme/")

    assert response.status_code == 200
    assert response.json()["name"] == "acme"


def test_read_api_token_may_not_write_and_is_told_why(world: World) -> None:
    client = _bearer(world.users["padmin"], "read_api")

    response = client.patch("/api/v1/projects/acme/", {"description": "via token"})

    assert response.status_code == 403
    assert "read_api" in response.json()["detail"] and "'api' scope" in response.json()["detail"]
    world.private.refresh_from_db()
    assert world.private.description != "via token"
    assert not AuditEvent.objects.filter(action=AuditAction.PROJECT_UPDATE).exists()


def test_read_api_token_may_not_create_another_token(world: World) -> None:
    client = _bearer(world.users["developer"], "read_api")

    response = client.post("/api/v1/tokens/", {"name": "escalated", "scopes": ["api"]})

    assert response.status_code == 403
    assert not ApiToken.objects.filter(name="escalated").exists()


def test_api_token_may_write(world: World) -> None:
    client = _bearer(world.users["padmin"], "api")

    response = client.patch("/api/v1/projects/acme/", {"description": "via token"})

    assert response.status_code == 200
    world.private.refresh_from_db()
    assert world.private.description == "via token"


def test_registry_only_token_cannot_call_the_api(world: World) -> None:
    client = _bearer(world.users["developer"], "read_registry", "write_registry")

    response = client.get("/api/v1/me/")

    assert response.status_code == 403
    assert "no API scope" in response.json()["detail"]


def test_a_role_still_limits_an_api_token(world: World) -> None:
    client = _bearer(world.users["guest"], "api")

    assert client.patch("/api/v1/projects/acme/", {"description": "nope"}).status_code == 403


def test_created_token_reports_its_scopes_in_canonical_order(world: World, api: Any) -> None:
    response = api("developer").post(
        "/api/v1/tokens/", {"name": "ci", "scopes": ["write_registry", "read_api", "read_api"]}
    )

    assert response.status_code == 201
    assert response.json()["scopes"] == ["read_api", "write_registry"]
    listed = api("developer").get("/api/v1/tokens/").json()["results"]
    assert listed[0]["scopes"] == ["read_api", "write_registry"]
    assert ApiToken.objects.get(name="ci").scopes == ["read_api", "write_registry"]


def test_a_token_created_without_scopes_field_gets_all_of_them(world: World, api: Any) -> None:
    response = api("developer").post("/api/v1/tokens/", {"name": "ci"})

    assert response.status_code == 201
    assert response.json()["scopes"] == ["api", "read_api", "read_registry", "write_registry"]


def test_an_empty_scope_list_is_400_on_scopes(world: World, api: Any) -> None:
    response = api("developer").post("/api/v1/tokens/", {"name": "ci", "scopes": []})

    assert response.status_code == 400
    assert response.json() == {"scopes": ["Choose at least one scope."]}
    assert not ApiToken.objects.exists()


def test_an_unknown_scope_is_400_on_scopes(world: World, api: Any) -> None:
    response = api("developer").post("/api/v1/tokens/", {"name": "ci", "scopes": ["api", "sudo"]})

    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == ["scopes"]
    assert "Unknown scope 'sudo'" in errors["scopes"][0]
    assert not ApiToken.objects.exists()


def test_the_scope_check_costs_the_api_no_query(world: World, django_assert_num_queries: Any) -> None:
    """Scopes come in the row that authenticates the token: /me/ stays one query."""
    client = _bearer(world.users["developer"], "read_api")
    client.get("/api/v1/me/")  # the first use writes last_used_at

    with django_assert_num_queries(1):
        assert client.get("/api/v1/me/").status_code == 200


def test_tokens_made_before_scopes_existed_get_all_four(transactional_db: Any) -> None:
    """Roll the accounts app back before the scopes migration, add a token, migrate forward."""
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    before = [("accounts", "0002_robotaccount")]
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    old_user = old_apps.get_model("accounts", "User").objects.create(username="old-timer")
    old_apps.get_model("accounts", "ApiToken").objects.create(
        user=old_user, name="legacy", key_hash="0" * 64, hint="abcd"
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(latest)

    assert ApiToken.objects.get(name="legacy").scopes == ["api", "read_api", "read_registry", "write_registry"]
