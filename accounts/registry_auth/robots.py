"""Robot accounts at the token service: checking their secret and bounding their grants."""

from __future__ import annotations

from collections.abc import Sequence

from accounts.models import ROBOT_PREFIX, RobotAccount, hash_token_secret
from accounts.permissions import public_permissions

from .grants import allowed_actions
from .last_used import touch_last_used
from .lookup import Projects, robot_by_hash

BAD_ROBOT = "Incorrect robot name or secret."
ROBOT_DISABLED = "This robot account is disabled."
ROBOT_EXPIRED = "This robot account has expired."


def authenticate_robot(
    username: str, secret: str, project_names: Sequence[str] = ()
) -> tuple[RobotAccount | None, str, Projects]:
    """The robot with this name and secret if it may be used, else None and the reason;
    with the facts of `project_names` (see `lookup`).

    One indexed query (the unique secret hash) that also reads the projects; the name
    must match too, so a leaked secret is not usable under another robot's name.
    """
    if not username.startswith(ROBOT_PREFIX) or not secret:
        return None, BAD_ROBOT, {}
    robot, projects = robot_by_hash(hash_token_secret(secret), project_names)
    if robot is None or robot.full_name != username:
        return None, BAD_ROBOT, {}
    if not robot.enabled:
        return None, ROBOT_DISABLED, {}
    if robot.is_expired:
        return None, ROBOT_EXPIRED, {}
    touch_last_used(RobotAccount, robot.pk)
    return robot, "", projects


def robot_allowed_actions(robot: RobotAccount, project_name: str, repository: str, is_public: bool) -> frozenset[str]:
    """What the robot may do on `repository` of `project_name`.

    Its own actions where it covers the project and the repository matches its
    patterns, plus, like everyone, what `accounts.permissions` gives everyone in the
    project (pull on a public one).
    """
    allowed: frozenset[str] = frozenset()
    if robot.enabled and not robot.is_expired and robot.covers(project_name):
        path = repository.split("/", 1)[1] if "/" in repository else repository
        if robot.matches(path):
            allowed = robot.actions
    return allowed | allowed_actions(public_permissions(is_public))
