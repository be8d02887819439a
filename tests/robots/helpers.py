"""Making robots for the tests, and asking the token service with their credentials."""

from __future__ import annotations

from typing import Any

from django.test import Client

from accounts.models import RobotAccount
from accounts.services.robots import create_robot
from audit.context import Actor
from tests.conftest import World
from tests.token_service.conftest import basic

SERVICE = "wharf-registry"


def make_robot(
    world: World, *actions: str, name: str = "ci", project: Any = None, **kwargs: Any
) -> tuple[RobotAccount, str]:
    """A robot of `acme` (unless `project`) made by its Project Admin; returns it and its secret."""
    padmin = world.users["padmin"]
    return create_robot(
        actor=Actor.for_user(padmin),
        created_by=padmin,
        project=project or world.private,
        name=name,
        actions=actions or ("pull",),
        **kwargs,
    )


def make_system_robot(world: World, *projects: str, name: str = "mirror") -> tuple[RobotAccount, str]:
    admin = world.users["sysadmin"]
    return create_robot(
        actor=Actor.for_user(admin), created_by=admin, name=name, actions=["pull"], project_names=projects
    )


def token_status(username: str, secret: str, scope: str = "repository:acme/app:pull") -> int:
    """The status of `/service/token` for these Basic credentials."""
    response = Client().get(
        "/service/token", {"service": SERVICE, "scope": scope}, HTTP_AUTHORIZATION=basic(username, secret)
    )
    return int(response.status_code)
