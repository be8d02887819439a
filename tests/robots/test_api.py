"""The robots API: secrets once, updates, validation (400), audit rows, the token service."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.test import Client
from django.utils import timezone

from accounts.models import RobotAccount, hash_token_secret
from accounts.services.tokens import create_token
from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from tests.api.conftest import JsonClient
from tests.conftest import World
from tests.robots.helpers import make_robot, make_system_robot, token_status

URL = "/api/v1/projects/acme/robots/"


def test_create_answers_the_secret_once_and_stores_only_its_hash(
    world: World, api: Callable[[str], JsonClient]
) -> None:
    client = api("padmin")
    response = client.post(
        URL, {"name": "ci", "permissions": ["push", "pull"], "repository_patterns": ["app-*"]}
    )
    assert response.status_code == 201
    body = response.json()
    secret = body["secret"]
    assert body["full_name"] == "robot$acme+ci" and body["project"] == "acme"
    assert body["permissions"] == ["pull", "push"] and body["repository_patterns"] == ["app-*"]
    assert body["enabled"] is True and body["is_expired"] is False and body["created_by"] == "padmin"
    expires = dt.datetime.fromisoformat(body["expires_at"])
    assert abs(expires - (timezone.now() + dt.timedelta(days=30))) < dt.timedelta(minutes=1)
    assert RobotAccount.objects.get().secret_hash == hash_token_secret(secret)
    listed = client.get(URL)
    assert secret not in listed.content.decode() and "secret" not in listed.json()["results"][0]
    assert "secret" not in client.get(f"{URL}{body['id']}/").json()
    assert token_status("robot$acme+ci", secret, "repository:acme/app-web:pull,push") == 200


def test_expires_at_null_means_never(world: World, api: Callable[[str], JsonClient]) -> None:
    response = api("padmin").post(URL, {"name": "ci", "permissions": ["pull"], "expires_at": None})
    assert response.status_code == 201 and response.json()["expires_at"] is None


def test_invalid_input_is_a_400_with_field_messages(world: World, api: Callable[[str], JsonClient]) -> None:
    client = api("padmin")
    assert "permissions" in client.post(URL, {"name": "ci", "permissions": ["admin"]}).json()
    assert "permissions" in client.post(URL, {"name": "ci"}).json()
    empty = client.post(URL, {"name": "ci", "permissions": []})
    # The service's `actions` error lands on the field the client sent: `permissions`.
    assert empty.status_code == 400
    assert empty.json()["permissions"] == ["Choose one or more of pull, push, delete."]
    bad_name = client.post(URL, {"name": "Bad Name", "permissions": ["pull"]})
    assert bad_name.status_code == 400 and "name" in bad_name.json()
    past = client.post(URL, {"name": "ci", "permissions": ["pull"], "expires_at": "2000-01-01T00:00:00Z"})
    assert past.status_code == 400 and "expires_at" in past.json()
    client.post(URL, {"name": "ci", "permissions": ["pull"]})
    duplicate = client.post(URL, {"name": "ci", "permissions": ["pull"]})
    assert duplicate.status_code == 400
    assert RobotAccount.objects.count() == 1


def test_patch_changes_description_permissions_patterns_expiry_and_is_audited(
    world: World, api: Callable[[str], JsonClient]
) -> None:
    robot, secret = make_robot(world, "pull")
    response = api("padmin").patch(
        f"{URL}{robot.pk}/",
        {
            "description": "CI",
            "permissions": ["pull", "push"],
            "repository_patterns": ["app-*"],
            "expires_at": None,
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["description"] == "CI" and body["permissions"] == ["pull", "push"]
    assert body["repository_patterns"] == ["app-*"] and body["expires_at"] is None
    event = AuditEvent.objects.get(action=AuditAction.ROBOT_UPDATE)
    assert event.target_name == "robot$acme+ci" and event.actor_name == "padmin"
    assert event.details["changed"]["actions"] == ["pull", "push"]
    assert token_status("robot$acme+ci", secret, "repository:acme/app-x:push") == 200


def test_patch_that_changes_nothing_writes_no_audit_row(
    world: World, api: Callable[[str], JsonClient]
) -> None:
    robot, _ = make_robot(world, "pull")
    assert api("padmin").patch(f"{URL}{robot.pk}/", {"permissions": ["pull"]}).status_code == 200
    assert not AuditEvent.objects.filter(action=AuditAction.ROBOT_UPDATE).exists()


def test_patch_enabled_false_disables_and_the_robot_is_refused(
    world: World, api: Callable[[str], JsonClient]
) -> None:
    robot, secret = make_robot(world, "pull")
    response = api("padmin").patch(f"{URL}{robot.pk}/", {"enabled": False})
    assert response.status_code == 200 and response.json()["enabled"] is False
    assert (
        AuditEvent.objects.filter(action=AuditAction.ROBOT_DISABLE, target_name="robot$acme+ci").count() == 1
    )
    assert token_status("robot$acme+ci", secret) == 401


def test_patch_rejects_bad_values(world: World, api: Callable[[str], JsonClient]) -> None:
    robot, _ = make_robot(world, "pull")
    client = api("padmin")
    assert client.patch(f"{URL}{robot.pk}/", {"permissions": []}).status_code == 400
    assert client.patch(f"{URL}{robot.pk}/", {"expires_at": "2000-01-01T00:00:00Z"}).status_code == 400
    robot.refresh_from_db()
    assert robot.actions == {"pull"} and robot.expires_at is not None


def test_regenerate_answers_a_new_secret_and_the_old_one_stops_working(
    world: World, api: Callable[[str], JsonClient]
) -> None:
    robot, old = make_robot(world, "pull")
    response = api("padmin").post(f"{URL}{robot.pk}/regenerate/")
    assert response.status_code == 200
    new = response.json()["secret"]
    assert new != old
    assert token_status("robot$acme+ci", old) == 401
    assert token_status("robot$acme+ci", new) == 200
    assert AuditEvent.objects.filter(action=AuditAction.ROBOT_REGENERATE).count() == 1


def test_delete_removes_the_robot_and_audits(world: World, api: Callable[[str], JsonClient]) -> None:
    robot, secret = make_robot(world, "pull")
    assert api("padmin").delete(f"{URL}{robot.pk}/").status_code == 204
    assert not RobotAccount.objects.exists()
    assert (
        AuditEvent.objects.filter(action=AuditAction.ROBOT_DELETE, target_name="robot$acme+ci").count() == 1
    )
    assert token_status("robot$acme+ci", secret) == 401


def test_expired_robot_is_listed_as_expired_and_refused(
    world: World, api: Callable[[str], JsonClient]
) -> None:
    robot, secret = make_robot(world, "pull")
    RobotAccount.objects.filter(pk=robot.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert api("developer").get(f"{URL}{robot.pk}/").json()["is_expired"] is True
    assert token_status("robot$acme+ci", secret) == 401


def test_system_robot_spans_the_listed_projects(world: World, api: Callable[[str], JsonClient]) -> None:
    response = api("sysadmin").post(
        "/api/v1/robots/", {"name": "mirror", "permissions": ["pull"], "projects": ["acme", "pub"]}
    )
    assert response.status_code == 201
    body = response.json()
    assert (
        body["full_name"] == "robot$mirror"
        and body["project"] is None
        and body["projects"] == ["acme", "pub"]
    )
    assert token_status("robot$mirror", body["secret"], "repository:acme/app:pull") == 200
    event = AuditEvent.objects.get(action=AuditAction.ROBOT_CREATE)
    assert event.details["projects"] == ["acme", "pub"]


def test_system_robot_projects_must_exist_and_can_be_changed(
    world: World, api: Callable[[str], JsonClient]
) -> None:
    client = api("sysadmin")
    unknown = client.post(
        "/api/v1/robots/", {"name": "mirror", "permissions": ["pull"], "projects": ["acme", "nope"]}
    )
    assert unknown.status_code == 400 and "nope" in unknown.json()["projects"][0]
    assert (
        client.post(
            "/api/v1/robots/", {"name": "mirror", "permissions": ["pull"], "projects": []}
        ).status_code
        == 400
    )
    robot, _ = make_system_robot(world, "acme")
    changed = client.patch(f"/api/v1/robots/{robot.pk}/", {"projects": ["pub"]})
    assert changed.status_code == 200 and changed.json()["projects"] == ["pub"]
    assert client.patch(f"/api/v1/robots/{robot.pk}/", {"projects": ["nope"]}).status_code == 400


def test_token_in_the_bearer_header_works_for_the_robots_api(world: World) -> None:
    user = world.users["padmin"]
    _, token = create_token(user, actor=Actor.for_user(user), name="script")
    response = Client().post(
        URL,
        {"name": "ci", "permissions": ["pull"]},
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201
    assert AuditEvent.objects.get(action=AuditAction.ROBOT_CREATE).actor_name == "padmin"
