"""Verified passwords are remembered in the process, and nothing that changes what a
principal may do waits for the cache: password changes, token revocation, deactivation,
membership removal and a disabled robot take effect on the very next token. Both databases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from accounts.registry_auth import password_cache
from accounts.services.robots import create_robot, set_robot_enabled
from accounts.services.tokens import create_token, revoke_token
from accounts.services.users import set_active, set_password
from audit.context import Actor
from repositories.models import Membership
from repositories.services.projects import remove_member
from tests.conftest import World
from tests.factories import PASSWORD
from tests.token_service.conftest import basic, decode_token

NEW_PASSWORD = "another-Secret-4711"
ACME_PULL = "repository:acme/app:pull"


def ask(auth: str, *scopes: str) -> Any:
    return Client().get("/service/token", {"service": "wharf-registry", "scope": list(scopes or [ACME_PULL])},
                        HTTP_AUTHORIZATION=auth)


def actions(response: Any, cert: Path) -> list[str]:
    assert response.status_code == 200, response.content
    access = decode_token(response.json()["token"], cert)[1]["access"]
    return [action for entry in access for action in entry["actions"]]


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the password checks that hash (User.check_password), still doing them."""
    calls: list[str] = []
    original = User.check_password

    def counting(self: User, raw_password: str | None) -> bool:
        calls.append(self.username)
        return original(self, raw_password)

    monkeypatch.setattr(User, "check_password", counting)
    return calls


def test_a_verified_password_is_not_hashed_again(world: World, hashes: list[str], key_files: tuple[Path, Path]) -> None:
    for _ in range(3):
        assert actions(ask(basic("developer", PASSWORD)), key_files[1]) == ["pull"]
    assert hashes == ["developer"]


def test_a_wrong_password_is_never_remembered(world: World, hashes: list[str]) -> None:
    for _ in range(2):
        assert ask(basic("developer", "wrong")).status_code == 401
    assert hashes == ["developer", "developer"]


def test_the_cache_key_is_an_hmac_not_the_password(world: World) -> None:
    assert ask(basic("developer", PASSWORD)).status_code == 200
    [key] = password_cache._entries
    assert PASSWORD.encode() not in key and len(key) == 32


def test_zero_seconds_disables_the_cache(world: World, hashes: list[str], settings: Any) -> None:
    settings.WHARF_TOKEN_PASSWORD_CACHE_SECONDS = 0
    for _ in range(2):
        assert ask(basic("developer", PASSWORD)).status_code == 200
    assert hashes == ["developer", "developer"]


def test_an_entry_expires_after_the_setting(
    world: World, hashes: list[str], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.WHARF_TOKEN_PASSWORD_CACHE_SECONDS = 60
    now = [1000.0]
    monkeypatch.setattr(password_cache, "_clock", lambda: now[0])
    assert ask(basic("developer", PASSWORD)).status_code == 200
    now[0] += 59
    assert ask(basic("developer", PASSWORD)).status_code == 200
    assert hashes == ["developer"]
    now[0] += 2
    assert ask(basic("developer", PASSWORD)).status_code == 200
    assert hashes == ["developer", "developer"]


def test_a_password_change_invalidates_the_remembered_password(world: World, key_files: tuple[Path, Path]) -> None:
    user = world.users["developer"]
    assert ask(basic("developer", PASSWORD)).status_code == 200
    set_password(user, actor=Actor.system(), password=NEW_PASSWORD)
    refused = ask(basic("developer", PASSWORD))
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["message"] == "Incorrect username or password."
    assert actions(ask(basic("developer", NEW_PASSWORD)), key_files[1]) == ["pull"]


def test_a_password_change_elsewhere_invalidates_too(world: World) -> None:
    """Another process changes the password: only the row changes, no message reaches this one."""
    assert ask(basic("developer", PASSWORD)).status_code == 200
    User.objects.filter(username="developer").update(password=User(username="x").password or "!unusable")
    assert ask(basic("developer", PASSWORD)).status_code == 401


def test_deactivation_refuses_a_remembered_password_and_the_users_tokens(world: World) -> None:
    user = world.users["developer"]
    _, secret = create_token(user, actor=Actor.for_user(user), name="ci")
    assert ask(basic("developer", PASSWORD)).status_code == 200
    assert ask(basic("developer", secret)).status_code == 200
    set_active(user, actor=Actor.system(), active=False)
    disabled = ask(basic("developer", PASSWORD))
    assert disabled.status_code == 401
    assert disabled.json()["errors"][0]["message"] == "This account is disabled."
    assert ask(basic("developer", secret)).status_code == 401


def test_token_revocation_takes_effect_on_the_next_token(world: World) -> None:
    user = world.users["developer"]
    token, secret = create_token(user, actor=Actor.for_user(user), name="ci")
    assert ask(basic("developer", secret)).status_code == 200
    revoke_token(token, actor=Actor.for_user(user))
    assert ask(basic("developer", secret)).status_code == 401


def test_membership_removal_takes_effect_on_the_next_token(world: World, key_files: tuple[Path, Path]) -> None:
    user = world.users["developer"]
    _, secret = create_token(user, actor=Actor.for_user(user), name="ci")
    for auth in (basic("developer", PASSWORD), basic("developer", secret)):
        assert actions(ask(auth, "repository:acme/app:pull,push"), key_files[1]) == ["pull", "push"]
    remove_member(Membership.objects.get(project=world.private, user=user), actor=Actor.system())
    for auth in (basic("developer", PASSWORD), basic("developer", secret)):
        assert actions(ask(auth, "repository:acme/app:pull,push"), key_files[1]) == []


def test_a_disabled_robot_is_refused_on_the_next_token(world: World) -> None:
    robot, secret = create_robot(
        actor=Actor.system(), created_by=world.users["padmin"], project=world.private, name="ci", actions=["pull"]
    )
    assert ask(basic(robot.full_name, secret)).status_code == 200
    set_robot_enabled(robot, False, actor=Actor.system())
    assert ask(basic(robot.full_name, secret)).status_code == 401
