"""Robot accounts: their lifecycle (audited) and what they get at the token service."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import RobotAccount
from accounts.registry_auth.grants import Principal, compute_grants
from accounts.registry_auth.scopes import parse_scopes
from accounts.services.robots import create_robot, delete_robot, regenerate_secret, set_robot_enabled
from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from tests.conftest import World
from tests.token_service.conftest import basic
from tests.token_service.test_endpoint import access_of, ask


def _robot(world: World, *actions: str, **kwargs: Any) -> tuple[RobotAccount, str]:
    padmin = world.users["padmin"]
    kwargs.setdefault("project", world.private)
    return create_robot(actor=Actor.for_user(padmin), created_by=padmin, name="ci", actions=actions, **kwargs)


def test_project_robot_is_named_like_harbor_and_expires_in_30_days_by_default(world: World) -> None:
    robot, secret = _robot(world, "pull", "push")
    assert robot.full_name == "robot$acme+ci"
    assert robot.secret_hash != secret and len(secret) >= 40
    assert abs((robot.expires_at - timezone.now()) - dt.timedelta(days=30)) < dt.timedelta(minutes=1)
    event = AuditEvent.objects.get(action=AuditAction.ROBOT_CREATE)
    assert event.target_name == "robot$acme+ci" and event.project_id == world.private.pk
    assert event.details["actions"] == ["pull", "push"]


def test_robot_may_never_expire(world: World) -> None:
    robot, _ = _robot(world, "pull", expires_at=None)
    assert robot.expires_at is None and not robot.is_expired


def test_robot_needs_known_actions(world: World) -> None:
    with pytest.raises(ValidationError):
        _robot(world)
    with pytest.raises(ValidationError):
        _robot(world, "pull", "admin")


def test_only_system_admins_create_system_robots(world: World) -> None:
    with pytest.raises(PermissionDenied):
        _robot(world, "pull", project=None, project_names=["acme"])
    admin = world.users["sysadmin"]
    robot, _ = create_robot(
        actor=Actor.for_user(admin), created_by=admin, name="mirror", actions=["pull"], project_names=["acme", "pub"]
    )
    assert robot.full_name == "robot$mirror"


def test_pull_only_robot_cannot_push(world: World, key_files: tuple[Path, Path]) -> None:
    _, secret = _robot(world, "pull")
    response = ask("repository:acme/app:pull,push", auth=basic("robot$acme+ci", secret))
    assert access_of(response, key_files[1]) == [{"type": "repository", "name": "acme/app", "actions": ["pull"]}]


def test_push_robot_pushes_only_in_its_project_and_its_patterns(world: World, key_files: tuple[Path, Path]) -> None:
    _, secret = _robot(world, "pull", "push", repository_patterns=["app-*"])
    response = ask(
        "repository:acme/app-web:pull,push",
        "repository:acme/other:pull,push",
        "repository:pub/app-web:pull,push",
        auth=basic("robot$acme+ci", secret),
    )
    assert access_of(response, key_files[1]) == [
        {"type": "repository", "name": "acme/app-web", "actions": ["pull", "push"]},
        {"type": "repository", "name": "pub/app-web", "actions": ["pull"]},  # public: pull, like anyone
    ]


def test_expired_disabled_and_wrong_secret_robots_are_refused(world: World) -> None:
    robot, secret = _robot(world, "pull")
    assert ask("repository:acme/app:pull", auth=basic("robot$acme+ci", "x" + secret)).status_code == 401
    assert ask("repository:acme/app:pull", auth=basic("robot$other+ci", secret)).status_code == 401
    set_robot_enabled(robot, False, actor=Actor.system())
    response = ask("repository:acme/app:pull", auth=basic("robot$acme+ci", secret))
    assert response.status_code == 401 and response.json()["errors"][0]["message"] == "This robot account is disabled."
    set_robot_enabled(robot, True, actor=Actor.system())
    RobotAccount.objects.filter(pk=robot.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = ask("repository:acme/app:pull", auth=basic("robot$acme+ci", secret))
    assert response.status_code == 401 and response.json()["errors"][0]["message"] == "This robot account has expired."


def test_regenerated_secret_replaces_the_old_one(world: World) -> None:
    robot, old = _robot(world, "pull")
    new = regenerate_secret(robot, actor=Actor.system())
    assert ask("repository:acme/app:pull", auth=basic("robot$acme+ci", old)).status_code == 401
    assert ask("repository:acme/app:pull", auth=basic("robot$acme+ci", new)).status_code == 200
    robot.refresh_from_db()
    assert robot.last_used_at is not None


def test_lifecycle_is_audited(world: World) -> None:
    robot, _ = _robot(world, "pull")
    regenerate_secret(robot, actor=Actor.system())
    set_robot_enabled(robot, False, actor=Actor.system())
    set_robot_enabled(robot, False, actor=Actor.system())  # no change, no event
    delete_robot(robot, actor=Actor.system())
    actions = list(AuditEvent.objects.filter(target_type="robot").order_by("id").values_list("action", flat=True))
    assert actions == [AuditAction.ROBOT_CREATE, AuditAction.ROBOT_REGENERATE, AuditAction.ROBOT_DISABLE, AuditAction.ROBOT_DELETE]
    assert not RobotAccount.objects.exists()


def test_system_robot_acts_only_in_its_listed_projects(world: World) -> None:
    admin = world.users["sysadmin"]
    robot, _ = create_robot(
        actor=Actor.for_user(admin), created_by=admin, name="mirror", actions=["pull", "push"], project_names=["acme"]
    )
    granted = compute_grants(Principal.for_robot(robot), parse_scopes(["repository:acme/a:push", "registry:catalog:*"]))
    assert [(g.access.name, g.access.actions) for g in granted] == [("acme/a", ("push",))]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    actions=st.sets(st.sampled_from(["pull", "push", "delete"]), min_size=1),
    patterns=st.lists(st.sampled_from(["app", "app-*", "x/*", "*"]), max_size=2),
    asked=st.lists(
        st.tuples(
            st.sampled_from(["acme", "pub", "ghost"]),
            st.sampled_from(["app", "app-1", "x/y", "z"]),
            st.sets(st.sampled_from(["pull", "push", "delete"]), min_size=1),
        ),
        max_size=6,
    ),
)
def test_property_robot_grants_never_exceed_its_permissions_patterns_or_project(
    world: World, actions: set[str], patterns: list[str], asked: list[tuple[str, str, set[str]]]
) -> None:
    RobotAccount.objects.all().delete()
    robot, _ = _robot(world, *actions, repository_patterns=patterns)
    scopes = [f"repository:{p}/{r}:{','.join(sorted(a))}" for p, r, a in asked]
    for grant in compute_grants(Principal.for_robot(robot), parse_scopes(scopes)):
        project, path = grant.access.name.split("/", 1)
        extra = set(grant.access.actions) - {"pull"} if project == "pub" else set(grant.access.actions)
        if extra:  # beyond what a public project gives everyone, only its own project, actions, patterns
            assert project == "acme"
            assert extra <= actions
            assert robot.matches(path)
