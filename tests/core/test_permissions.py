"""The role table, checked against an expectation table written out by hand
(Harbor's meaning of each role), so a change to the table has to change this too."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from accounts.permissions import ALL_PERMISSIONS, Perm, Role, can_create_projects, project_permissions

P = Perm
EXPECTED: dict[Role, set[Perm]] = {
    Role.LIMITED_GUEST: {P.VIEW_PROJECT, P.VIEW_REPOSITORIES, P.PULL, P.VIEW_SCANS},
    Role.GUEST: {P.VIEW_PROJECT, P.VIEW_REPOSITORIES, P.PULL, P.VIEW_SCANS, P.VIEW_MEMBERS, P.VIEW_AUDIT, P.VIEW_RETENTION},
    Role.DEVELOPER: {
        P.VIEW_PROJECT, P.VIEW_REPOSITORIES, P.PULL, P.VIEW_SCANS, P.VIEW_MEMBERS, P.VIEW_AUDIT,
        P.VIEW_RETENTION, P.PUSH, P.VIEW_ROBOTS,
    },
    Role.MAINTAINER: {
        P.VIEW_PROJECT, P.VIEW_REPOSITORIES, P.PULL, P.VIEW_SCANS, P.VIEW_MEMBERS, P.VIEW_AUDIT,
        P.VIEW_RETENTION, P.PUSH, P.VIEW_ROBOTS, P.DELETE_ARTIFACT, P.SYNC, P.EXPORT_AUDIT,
        P.RUN_RETENTION, P.RUN_SCANS,
    },
    Role.PROJECT_ADMIN: set(Perm),
}


def user(*, active: bool = True, superuser: bool = False, authenticated: bool = True) -> SimpleNamespace:
    return SimpleNamespace(is_active=active, is_superuser=superuser, is_authenticated=authenticated)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("is_public", [False, True])
def test_each_role_gets_exactly_its_permissions(role: Role, is_public: bool) -> None:
    assert project_permissions(user(), role=role, is_public=is_public) == EXPECTED[role]


def test_non_member_sees_nothing_in_a_private_project() -> None:
    assert project_permissions(user(), role=None, is_public=False) == frozenset()


def test_non_member_may_view_and_pull_a_public_project_only() -> None:
    assert project_permissions(user(), role=None, is_public=True) == EXPECTED[Role.LIMITED_GUEST]


def test_anonymous_may_pull_public_but_not_private() -> None:
    anon = user(authenticated=False)
    assert Perm.PULL in project_permissions(anon, role=None, is_public=True)
    assert Perm.PUSH not in project_permissions(anon, role=None, is_public=True)
    assert project_permissions(anon, role=None, is_public=False) == frozenset()


def test_system_admin_may_do_everything_without_membership() -> None:
    assert project_permissions(user(superuser=True), role=None, is_public=False) == ALL_PERMISSIONS


@pytest.mark.parametrize("superuser", [False, True])
def test_deactivated_user_may_do_nothing_even_as_admin(superuser: bool) -> None:
    inactive = user(active=False, superuser=superuser)
    assert project_permissions(inactive, role=Role.PROJECT_ADMIN, is_public=True) == frozenset()


def test_project_creation_policy() -> None:
    assert can_create_projects(user(), "everyone")
    assert not can_create_projects(user(), "admins")
    assert can_create_projects(user(superuser=True), "admins")
    assert not can_create_projects(user(active=False), "everyone")
    assert not can_create_projects(user(authenticated=False), "everyone")
