"""What a principal gets of what it asked: the intersection with `accounts.permissions`.

Repository `team/app` belongs to project `team`; a single-component name such as
`alpine` to settings.WHARF_DEFAULT_PROJECT. A project that does not exist grants
nothing (projects are created in Wharf before anyone pushes to them). The
projects of all scopes, with the user's role in each, are read in one query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from accounts.permissions import Perm, is_system_admin, project_permissions

from .jwt import Access
from .lookup import ProjectFacts, Projects
from .scopes import CATALOG, DELETE, PULL, PUSH, REGISTRY, REPOSITORY, Scope

ACTION_PERMS: dict[str, Perm] = {PULL: Perm.PULL, PUSH: Perm.PUSH, DELETE: Perm.DELETE_ARTIFACT}
WHARF_SUBJECT = "wharf"


@dataclass(frozen=True)
class Principal:
    """Who asks for a token: anonymous, a user, a robot account, or Wharf itself.

    `sub` is the token's subject, which the registry reports as the actor of its
    notifications. `token_actions` is the cap of a user who came with a personal
    access token (its registry scopes); None for a password, which has no cap.
    """

    kind: str  # "anonymous", "user", "robot" or "wharf"
    sub: str
    user: Any = None
    robot: Any = field(default=None, compare=False)
    token_actions: frozenset[str] | None = None

    @classmethod
    def anonymous(cls) -> Principal:
        return cls("anonymous", "")

    @classmethod
    def for_user(cls, user: Any) -> Principal:
        return cls("user", user.get_username(), user=user)

    @classmethod
    def for_token(cls, token: Any) -> Principal:
        """The token's user, capped by the token's registry scopes."""
        return cls("user", token.user.get_username(), user=token.user, token_actions=token.registry_actions)

    @classmethod
    def for_robot(cls, robot: Any) -> Principal:
        return cls("robot", robot.full_name, robot=robot)

    @classmethod
    def wharf(cls) -> Principal:
        return cls("wharf", WHARF_SUBJECT)


@dataclass(frozen=True)
class GrantedAccess:
    """A granted access and the project it belongs to (None for the catalog)."""

    access: Access
    project_id: int | None = None
    project_name: str = ""


def project_of(repository: str) -> str:
    """`team/app` belongs to `team`; a single-component name to the default project."""
    return repository.split("/", 1)[0] if "/" in repository else settings.WHARF_DEFAULT_PROJECT


def allowed_actions(perms: frozenset[Perm]) -> frozenset[str]:
    """The registry actions a set of project permissions allows."""
    return frozenset(action for action, perm in ACTION_PERMS.items() if perm in perms)


def project_names(scopes: Sequence[Scope]) -> list[str]:
    """The projects the repository scopes name, each once, sorted."""
    return sorted({project_of(s.name) for s in scopes if s.type == REPOSITORY})


def _projects(principal: Principal, names: Sequence[str]) -> Projects:
    """The facts of the existing projects among `names`, for a principal whose own row was
    not read with them (Wharf itself, tests, callers other than the endpoint). One query."""
    from repositories.models import Project  # the app registry is ready by the time tokens are asked

    if not names:
        return {}
    queryset = Project.objects.filter(name__in=names)
    if principal.kind == "user":
        # `my_role` is annotated by with_role(), which the type checker cannot see.
        rows = queryset.with_role(principal.user).values_list("name", "pk", "is_public", "my_role")  # type: ignore[misc]
        return {name: ProjectFacts(pk, is_public, role) for name, pk, is_public, role in rows}
    return {name: ProjectFacts(pk, is_public) for name, pk, is_public in queryset.values_list("name", "pk", "is_public")}


WRITE_ACTIONS = frozenset({PUSH, DELETE})


def push_frozen_now() -> bool:
    """Whether a garbage collection sweeps now (read-only maintenance: no push or delete)."""
    from repositories.services.gc import push_frozen  # the app registry is ready by the time tokens are asked

    return push_frozen()


def _is_system_admin(principal: Principal) -> bool:
    return principal.kind == "user" and is_system_admin(principal.user)


def compute_grants(
    principal: Principal, scopes: Sequence[Scope], projects: Projects | None = None
) -> list[GrantedAccess]:
    """Per scope, the asked actions the principal may have; scopes granting nothing are left out.

    `projects` are the facts of the projects the scopes name when the caller has read them
    already (the endpoint reads them with the principal, `lookup`); else they are read here.
    """
    if principal.kind == "wharf":
        # Wharf itself may do everything; it still gets only what it asked.
        return [GrantedAccess(Access(s.type, s.name, tuple(sorted(s.actions)))) for s in scopes]
    granted: list[GrantedAccess] = []
    repository_scopes = [s for s in scopes if s.type == REPOSITORY]
    if projects is None:
        projects = _projects(principal, project_names(repository_scopes))
    # While a garbage collection sweeps, nobody pushes or deletes (an upload could lose
    # blobs the sweep thinks unreferenced). Only a request asking to write pays the lookup.
    frozen = any(s.actions & WRITE_ACTIONS for s in repository_scopes) and push_frozen_now()
    for scope in scopes:
        if scope.type == REGISTRY and scope.name == CATALOG:
            if _is_system_admin(principal):
                granted.append(GrantedAccess(Access(scope.type, scope.name, tuple(sorted(scope.actions)))))
            continue
        if scope.type != REPOSITORY:
            continue
        project_name = project_of(scope.name)
        project = projects.get(project_name)
        if project is None:
            continue
        pk, is_public, role = project.pk, project.is_public, project.role
        if principal.kind == "robot":
            from .robots import robot_allowed_actions

            allowed = robot_allowed_actions(principal.robot, project_name, scope.name, is_public)
        else:
            user = principal.user if principal.kind == "user" else None
            allowed = allowed_actions(project_permissions(user, role=role, is_public=is_public))
            if principal.token_actions is not None:
                # A personal access token never does more than its scopes, nor than its user.
                allowed &= principal.token_actions
        actions = scope.actions & allowed
        if frozen:
            actions -= WRITE_ACTIONS
        if actions:
            granted.append(GrantedAccess(Access(scope.type, scope.name, tuple(sorted(actions))), pk, project_name))
    return granted
