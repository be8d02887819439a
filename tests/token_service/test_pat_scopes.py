"""Personal access token scopes at `GET /service/token`: the grant is always
asked ∩ the user's role ∩ the token's registry scopes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.test import Client

from accounts.registry_auth import throttle
from accounts.services.tokens import create_token
from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from tests.conftest import World
from tests.factories import PASSWORD
from tests.token_service.conftest import basic, decode_token

URL = "/service/token"
SERVICE = "wharf-registry"


def _secret(world: World, persona: str, *scopes: str) -> str:
    user = world.users[persona]
    return create_token(user, actor=Actor.for_user(user), name="ci", scopes=scopes)[1]


def ask(*scopes: str, auth: str) -> Any:
    return Client().get(URL, {"service": SERVICE, "scope": list(scopes)}, HTTP_AUTHORIZATION=auth)


def access_of(response: Any, cert: Path) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    return decode_token(response.json()["token"], cert)[1]["access"]


def test_read_registry_token_gets_pull_but_not_push_even_for_a_developer(
    world: World, key_files: tuple[Path, Path]
) -> None:
    secret = _secret(world, "developer", "read_registry")

    response = ask("repository:acme/app:pull,push", auth=basic("developer", secret))

    assert access_of(response, key_files[1]) == [{"type": "repository", "name": "acme/app", "actions": ["pull"]}]


def test_read_registry_token_gets_no_delete_even_for_a_maintainer(world: World, key_files: tuple[Path, Path]) -> None:
    secret = _secret(world, "maintainer", "read_registry", "api")

    response = ask("repository:acme/app:delete", auth=basic("maintainer", secret))

    assert access_of(response, key_files[1]) == []


def test_write_registry_token_of_a_developer_gets_pull_and_push(world: World, key_files: tuple[Path, Path]) -> None:
    secret = _secret(world, "developer", "write_registry")

    response = ask("repository:acme/app:pull,push,delete", auth=basic("developer", secret))

    assert access_of(response, key_files[1]) == [
        {"type": "repository", "name": "acme/app", "actions": ["pull", "push"]}
    ]


def test_write_registry_token_of_a_maintainer_may_delete(world: World, key_files: tuple[Path, Path]) -> None:
    secret = _secret(world, "maintainer", "write_registry")

    response = ask("repository:acme/app:delete", auth=basic("maintainer", secret))

    assert access_of(response, key_files[1]) == [{"type": "repository", "name": "acme/app", "actions": ["delete"]}]


def test_write_registry_token_of_a_guest_still_only_pulls(world: World, key_files: tuple[Path, Path]) -> None:
    secret = _secret(world, "guest", "write_registry")

    response = ask("repository:acme/app:pull,push,delete", auth=basic("guest", secret))

    assert access_of(response, key_files[1]) == [{"type": "repository", "name": "acme/app", "actions": ["pull"]}]


def test_token_without_a_registry_scope_is_401_and_audited(world: World) -> None:
    secret = _secret(world, "developer", "api", "read_api")

    response = ask("repository:acme/app:pull", auth=basic("developer", secret))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="Wharf registry"'
    message = response.json()["errors"][0]["message"]
    assert "no registry scope" in message and "read_registry" in message
    event = AuditEvent.objects.get(action=AuditAction.REGISTRY_TOKEN_REFUSED)
    assert event.target_name == "developer"
    assert event.details == {"reason": message, "scopes": ["repository:acme/app:pull"]}


def test_token_without_a_registry_scope_gets_nothing_even_on_a_public_project(world: World) -> None:
    secret = _secret(world, "developer", "api")

    assert ask("repository:pub/app:pull", auth=basic("developer", secret)).status_code == 401


def test_a_right_token_without_registry_scope_does_not_lock_the_account(world: World, settings: Any) -> None:
    """The secret was right: that is a misconfigured pipeline, not a password guess."""
    settings.WHARF_TOKEN_FAILURES_PER_ACCOUNT = 3
    secret = _secret(world, "developer", "api")
    for _ in range(5):
        assert ask("repository:acme/app:pull", auth=basic("developer", secret)).status_code == 401

    assert throttle.check("developer", "127.0.0.1") is None
    assert not AuditEvent.objects.filter(action=AuditAction.REGISTRY_TOKEN_THROTTLED).exists()


def test_a_password_is_not_capped_by_any_token(world: World, key_files: tuple[Path, Path]) -> None:
    _secret(world, "developer", "read_registry")

    response = ask("repository:acme/app:pull,push", auth=basic("developer", PASSWORD))

    assert access_of(response, key_files[1]) == [
        {"type": "repository", "name": "acme/app", "actions": ["pull", "push"]}
    ]
