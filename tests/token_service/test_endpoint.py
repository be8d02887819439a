"""`GET /service/token`: answers, refusals, audit, counting, throttling and query cost."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.registry_auth import grant_audit, throttle
from accounts.services.tokens import create_token, revoke_token
from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from tests.conftest import World
from tests.factories import PASSWORD
from tests.token_service.conftest import basic, decode_token

URL = "/service/token"
SERVICE = "wharf-registry"


def ask(*scopes: str, auth: str | None = None, **params: str) -> Any:
    headers = {"HTTP_AUTHORIZATION": auth} if auth else {}
    return Client().get(URL, {"service": SERVICE, "scope": list(scopes), **params}, **headers)


def access_of(response: Any, cert: Path) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    return decode_token(response.json()["token"], cert)[1]["access"]


def test_answer_has_token_access_token_expiry_and_rfc3339_issue_time(
    world: World, key_files: tuple[Path, Path]
) -> None:
    response = ask("repository:pub/app:pull")
    body = response.json()
    assert body["token"] == body["access_token"]
    assert body["expires_in"] == 300
    issued = dt.datetime.fromisoformat(body["issued_at"].replace("Z", "+00:00"))
    assert abs((timezone.now() - issued).total_seconds()) < 5
    assert body["issued_at"].endswith("Z")
    assert response["Cache-Control"].startswith("max-age=0")
    _, claims = decode_token(body["token"], key_files[1])
    assert claims["sub"] == "" and claims["aud"] == SERVICE


def test_anonymous_gets_pull_on_a_public_project_and_nothing_on_a_private_one(
    world: World, key_files: tuple[Path, Path]
) -> None:
    response = ask("repository:pub/app:pull,push", "repository:acme/app:pull")
    assert access_of(response, key_files[1]) == [{"type": "repository", "name": "pub/app", "actions": ["pull"]}]


def test_developer_with_password_gets_push_and_the_grant_is_audited(
    world: World, key_files: tuple[Path, Path]
) -> None:
    response = ask("repository:acme/app:pull,push,delete", auth=basic("developer", PASSWORD))
    assert access_of(response, key_files[1]) == [{"type": "repository", "name": "acme/app", "actions": ["pull", "push"]}]
    assert grant_audit.flush() == 1  # aggregated per minute: written when the minute closes (here: now)
    event = AuditEvent.objects.get(action=AuditAction.REGISTRY_TOKEN_GRANTED)
    assert event.actor_name == "developer"
    assert event.project_id == world.private.pk
    assert event.details["access"] == [{"type": "repository", "name": "acme/app", "actions": ["pull", "push"]}]
    assert event.details["count"] == 1


def test_pull_tokens_are_counted_and_audited_in_aggregate(world: World) -> None:
    day = f"{timezone.now():%Y-%m-%d}"
    before = throttle.pull_tokens_on(day)
    assert ask("repository:acme/app:pull", auth=basic("guest", PASSWORD)).status_code == 200
    assert throttle.pull_tokens_on(day) >= before + 1
    assert not AuditEvent.objects.filter(action=AuditAction.REGISTRY_TOKEN_GRANTED).exists()
    grant_audit.flush()
    event = AuditEvent.objects.get(action=AuditAction.REGISTRY_TOKEN_GRANTED)
    assert (event.actor_name, event.details["count"]) == ("guest", 1)


def test_guest_asking_push_gets_only_pull(world: World, key_files: tuple[Path, Path]) -> None:
    response = ask("repository:acme/app:pull,push", auth=basic("guest", PASSWORD))
    assert access_of(response, key_files[1]) == [{"type": "repository", "name": "acme/app", "actions": ["pull"]}]


def test_wrong_password_is_401_with_a_basic_challenge_and_audited(world: World) -> None:
    response = ask("repository:acme/app:pull", auth=basic("developer", "nope"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="Wharf registry"'
    assert response.json()["errors"][0]["message"] == "Incorrect username or password."
    event = AuditEvent.objects.get(action=AuditAction.REGISTRY_TOKEN_REFUSED)
    assert event.target_name == "developer"
    assert event.details["scopes"] == ["repository:acme/app:pull"]


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(world: World) -> None:
    response = ask("repository:acme/app:pull", auth=basic("nobody", PASSWORD))
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == "Incorrect username or password."


def test_disabled_user_is_refused_with_a_clear_message(world: World) -> None:
    user = world.users["maintainer"]
    user.is_active = False
    user.save()
    response = ask("repository:pub/app:pull", auth=basic("maintainer", PASSWORD))
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == "This account is disabled."


@pytest.mark.parametrize(
    "header", ["Bearer abc", "Basic", "Basic !!!notbase64", "Basic " + "bm9jb2xvbg==", "Basic //79"]
)
def test_malformed_credentials_are_401_not_an_error_page(world: World, header: str) -> None:
    response = ask("repository:pub/app:pull", auth=header)
    assert response.status_code == 401
    assert "Malformed" in response.json()["errors"][0]["message"]


def test_personal_access_token_works_as_the_password(world: World, key_files: tuple[Path, Path]) -> None:
    user = world.users["maintainer"]
    _, secret = create_token(user, actor=Actor.for_user(user), name="ci")
    response = ask("repository:acme/app:delete", auth=basic("maintainer", secret))
    assert access_of(response, key_files[1]) == [{"type": "repository", "name": "acme/app", "actions": ["delete"]}]


def test_revoked_expired_or_foreign_access_tokens_are_refused(world: World) -> None:
    user = world.users["maintainer"]
    token, revoked = create_token(user, actor=Actor.for_user(user), name="old")
    revoke_token(token, actor=Actor.for_user(user))
    expiring, expired = create_token(
        user, actor=Actor.for_user(user), name="short", expires_at=timezone.now() + dt.timedelta(seconds=60)
    )
    type(expiring).objects.filter(pk=expiring.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    _, valid = create_token(user, actor=Actor.for_user(user), name="valid")
    for username, secret in [("maintainer", revoked), ("maintainer", expired), ("developer", valid)]:
        response = ask("repository:acme/app:pull", auth=basic(username, secret))
        assert response.status_code == 401
        assert "access token" in response.json()["errors"][0]["message"]


def test_unknown_service_is_refused(world: World) -> None:
    assert ask("repository:pub/app:pull", service="someone-else").status_code == 400


def test_offline_token_and_client_id_are_accepted(world: World, key_files: tuple[Path, Path]) -> None:
    response = ask("repository:pub/app:pull", offline_token="true", client_id="docker")
    assert access_of(response, key_files[1]) == [{"type": "repository", "name": "pub/app", "actions": ["pull"]}]


def test_only_get_is_allowed(world: World) -> None:
    assert Client().post(URL, {"service": SERVICE}).status_code == 405


def test_ten_thousand_hostile_scopes_are_answered_with_a_token(world: World, key_files: tuple[Path, Path]) -> None:
    hostile = ["", ":::", "repository:../../x:pull", "repository:pub/app\u00e9:pull"] * 2500
    response = ask(*hostile, "repository:pub/app:pull")
    assert access_of(response, key_files[1]) == []  # the good scope came after the first 100


def test_a_token_request_with_fifty_scopes_costs_at_most_four_queries(
    world: World, django_assert_max_num_queries: Any, key_files: tuple[Path, Path]
) -> None:
    scopes = [f"repository:{'acme' if i % 2 else 'pub'}/app{i}:pull" for i in range(50)]
    with django_assert_max_num_queries(4):
        response = ask(*scopes, auth=basic("guest", PASSWORD))
    assert len(access_of(response, key_files[1])) == 50


def test_a_pat_token_request_with_fifty_scopes_costs_at_most_four_queries(
    world: World, django_assert_max_num_queries: Any, key_files: tuple[Path, Path]
) -> None:
    user = world.users["guest"]
    _, secret = create_token(user, actor=Actor.for_user(user), name="ci")
    ask("repository:pub/app:pull", auth=basic("guest", secret))  # the first use writes last_used_at
    scopes = [f"repository:{'acme' if i % 2 else 'pub'}/app{i}:pull" for i in range(50)]
    with django_assert_max_num_queries(2):
        response = ask(*scopes, auth=basic("guest", secret))
    assert len(access_of(response, key_files[1])) == 50


def test_repeated_failures_lock_the_account_with_429_and_are_audited_once(world: World, settings: Any) -> None:
    settings.WHARF_TOKEN_FAILURES_PER_ACCOUNT = 10
    settings.WHARF_TOKEN_FAILURE_WINDOW = 300
    for _ in range(10):
        assert ask("repository:acme/app:pull", auth=basic("developer", "guess")).status_code == 401
    locked = ask("repository:acme/app:pull", auth=basic("developer", PASSWORD))  # even the right password
    assert locked.status_code == 429
    assert locked["Retry-After"] == "300"
    assert AuditEvent.objects.filter(action=AuditAction.REGISTRY_TOKEN_THROTTLED).count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.REGISTRY_TOKEN_REFUSED).count() == 10
    # The lock is on the account: another account from the same address still gets in.
    assert ask("repository:acme/app:pull", auth=basic("guest", PASSWORD)).status_code == 200


def test_a_locked_account_and_address_still_take_valid_tokens_and_robots(world: World, settings: Any) -> None:
    """The lock guards passwords; a token or robot secret (256 random bits) skips it, so a
    CI pipeline is not locked out by someone guessing the owner's password, while wrong
    token guesses still count towards the lock."""
    from accounts.services.robots import create_robot

    settings.WHARF_TOKEN_FAILURES_PER_ACCOUNT = 3
    settings.WHARF_TOKEN_FAILURES_PER_ADDRESS = 4
    developer, padmin = world.users["developer"], world.users["padmin"]
    _, secret = create_token(developer, actor=Actor.for_user(developer), name="ci")
    robot, robot_secret = create_robot(
        actor=Actor.for_user(padmin), created_by=padmin, name="ci", actions=["pull"], project=world.private
    )
    for _ in range(2):
        assert ask("repository:acme/app:pull", auth=basic("developer", "guess")).status_code == 401
    assert ask("repository:acme/app:pull", auth=basic("developer", "wharf_wrong")).status_code == 401
    assert ask("repository:acme/app:pull", auth=basic("developer", PASSWORD)).status_code == 429  # account locked
    assert ask("repository:acme/app:pull", auth=basic(robot.full_name, "wrong")).status_code == 401
    assert ask("repository:acme/app:pull", auth=basic("guest", PASSWORD)).status_code == 429  # address locked

    assert ask("repository:acme/app:pull", auth=basic("developer", secret)).status_code == 200
    assert ask(f"repository:{world.private.name}/app:pull", auth=basic(robot.full_name, robot_secret)).status_code == 200
    assert ask("repository:acme/app:pull", auth=basic("developer", "wharf_wrong-again")).status_code == 401


def test_failures_across_accounts_lock_the_client_address(world: World, settings: Any) -> None:
    settings.WHARF_TOKEN_FAILURES_PER_ADDRESS = 5
    for i in range(5):
        assert ask("repository:acme/app:pull", auth=basic(f"user{i}", "guess")).status_code == 401
    response = ask("repository:acme/app:pull", auth=basic("guest", PASSWORD))
    assert response.status_code == 429
    assert "address" in response.json()["errors"][0]["message"]


def test_anonymous_requests_are_never_throttled(world: World, settings: Any) -> None:
    settings.WHARF_TOKEN_FAILURES_PER_ADDRESS = 1
    ask("repository:acme/app:pull", auth=basic("x", "guess"))
    assert ask("repository:pub/app:pull").status_code == 200
