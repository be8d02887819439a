"""The database queries that list projects, and the token service, answer exactly what
`accounts.permissions.project_permissions` answers: for random users (anonymous,
inactive, superuser or not), random memberships (their own and through teams, two teams
with different roles, and a team the user was removed from) and random public/private projects.

The token service is checked twice: `compute_grants` reading the roles itself, and the way
the token endpoint does it, `authenticate()` with a password and with a personal access
token, whose one hand-written query (`registry_auth.lookup`) reads the own and team roles,
then `compute_grants` on what that query read. Granted must equal allowed: 0 over-grants.

The last tests change the role table and the public grants in `accounts.permissions`
and check that the queries and the token service follow: a copy of a rule kept
anywhere else would not.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import permissions
from accounts.models import Team, TeamMember, TokenScope, User
from accounts.permissions import Perm, Role, highest_role, project_permissions
from accounts.registry_auth import lookup
from accounts.registry_auth.authentication import Credentials, authenticate
from accounts.registry_auth.grants import Principal, allowed_actions, compute_grants, project_names
from accounts.registry_auth.scopes import parse_scopes
from accounts.services import teams as team_services
from accounts.services.robots import create_robot
from accounts.services.tokens import create_token
from audit.context import Actor
from repositories.access import permissions_for
from repositories.models import Membership, Project, ProjectTeam, Repository
from tests.factories import PASSWORD

ACTIONS = ("pull", "push", "delete")
BOUNDED = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Who asks: nobody (None), Django's anonymous user, or an account as (superuser, active).
WHO = st.one_of(st.sampled_from(["none", "anonymous"]), st.tuples(st.booleans(), st.booleans()))
ROLE = st.one_of(st.none(), st.sampled_from(list(Role)))
# Per project: public?, the asker's role, another user's role (which must not count), the
# roles of the asker's two teams, and of a team the asker is not in (which must not count).
PROJECTS = st.lists(st.tuples(st.booleans(), ROLE, ROLE, ROLE, ROLE, ROLE), max_size=5)


@dataclass
class Setup:
    user: Any
    projects: list[Project]
    roles: dict[int, str | None]  # project pk -> the asker's role
    token: str = ""  # the secret of the asker's personal access token (write_registry)

    def expected(self, project: Project) -> frozenset[Perm]:
        return project_permissions(self.user, role=self.roles[project.pk], is_public=project.is_public)

    def where(self, perm: Perm) -> set[int]:
        return {p.pk for p in self.projects if perm in self.expected(p)}


@contextmanager
def rolled_back() -> Iterator[None]:
    """Each example builds its rows in a savepoint and leaves nothing for the next one."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def build(who: Any, projects: list[Any], *, left: bool = False) -> Setup:
    """The asker, the projects, a repository in each, both users' memberships, and three
    teams (two with the asker, one with the other user) with their project roles. A case
    of three values has no team roles. `left`: the asker was in the third team too, and
    was removed from it (by the service, as the pages do) before anything is asked."""
    projects = [(*case, None, None, None)[:6] for case in projects]
    if who == "none":
        user = None
    elif who == "anonymous":
        user = AnonymousUser()
    else:
        superuser, active = who
        user = User.objects.create(username="asker", is_superuser=superuser, is_active=active)
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    other = User.objects.create(username="other")
    rows = Project.objects.bulk_create(
        Project(name=f"p{i}", is_public=public) for i, (public, *_) in enumerate(projects)
    )
    Repository.objects.bulk_create(Repository(project=p, name=f"{p.name}/app") for p in rows)
    memberships = [
        Membership(project=project, user=member, role=role)
        for project, (_, mine, theirs, *_) in zip(rows, projects, strict=True)
        for member, role in ((user, mine), (other, theirs))
        if role is not None and member is not None and member.is_authenticated
    ]
    Membership.objects.bulk_create(memberships)
    signed_in = user is not None and user.is_authenticated
    teams = Team.objects.bulk_create(Team(name=name) for name in ("t0", "t1", "tx"))
    TeamMember.objects.bulk_create(
        [TeamMember(team=team, user=user) for team in teams[:2] if signed_in]
        + [TeamMember(team=team, user=other) for team in teams]
    )
    ProjectTeam.objects.bulk_create(
        ProjectTeam(project=project, team=team, role=role)
        for project, case in zip(rows, projects, strict=True)
        for team, role in zip(teams, case[3:], strict=True)
        if role is not None
    )
    token = ""
    if signed_in:
        if left:
            actor = Actor.system("tests")
            joined = team_services.add_team_member(teams[2], actor=actor, username="asker")
            team_services.remove_team_member(joined, actor=actor)
        _, token = create_token(user, actor=Actor.system("tests"), name="cli", scopes=[TokenScope.WRITE_REGISTRY])
    roles = {
        p.pk: (highest_role([mine, t0, t1]) if signed_in else None)
        for p, (_, mine, _, t0, t1, _) in zip(rows, projects, strict=True)
    }
    return Setup(user=user, projects=rows, roles=roles, token=token)


def principal_of(user: Any) -> Principal:
    return Principal.for_user(user) if user is not None and user.is_authenticated else Principal.anonymous()


def assert_queries_agree(setup: Setup, *, anonymous_list: bool = True) -> None:
    """Every query helper and the token service against `project_permissions`."""
    user = setup.user
    for perm in Perm:
        found = set(Project.objects.where_user_may(user, perm).values_list("pk", flat=True))
        assert found == setup.where(perm), perm

    with override_settings(WHARF_ANONYMOUS_PUBLIC_LIST=anonymous_list):
        visible = set(Project.objects.for_user(user).values_list("pk", flat=True))
        repositories = set(Repository.objects.for_user(user).values_list("project_id", flat=True))
    listed = setup.where(Perm.VIEW_PROJECT)
    if (user is None or not user.is_authenticated) and not anonymous_list:
        listed = set()  # the site keeps its list from anonymous visitors: a listing switch only
    assert visible == listed
    assert repositories == listed

    annotated = list(Project.objects.with_role(user))
    assert {p.pk: p.my_role for p in annotated} == setup.roles
    for project in annotated:
        assert permissions_for(user, project) == setup.expected(project)

    scopes = parse_scopes([f"repository:{p.name}/app:{','.join(ACTIONS)}" for p in setup.projects])
    granted = {g.project_id: set(g.access.actions) for g in compute_grants(principal_of(user), scopes)}
    expected = {p.pk: set(allowed_actions(setup.expected(p))) for p in setup.projects}
    assert granted == {pk: actions for pk, actions in expected.items() if actions}
    assert_token_endpoint_path_agrees(setup)


def assert_token_endpoint_path_agrees(setup: Setup) -> None:
    """What the token endpoint grants, read the way it reads it: `authenticate()` (one
    query through `lookup`, own and team roles) then `compute_grants` on those facts.
    With the user's password and with their write_registry token: each grants exactly
    the actions `project_permissions` allows for the highest role, so 0 over-grants."""
    user = setup.user
    scopes = parse_scopes([f"repository:{p.name}/app:{','.join(ACTIONS)}" for p in setup.projects])
    names = project_names(scopes)
    expected = {pk: actions for pk, actions in
                ((p.pk, set(allowed_actions(setup.expected(p)))) for p in setup.projects) if actions}
    if user is None or not user.is_authenticated:
        grants = compute_grants(Principal.anonymous(), scopes, lookup.anonymous_projects(names))
        assert {g.project_id: set(g.access.actions) for g in grants} == expected
        return
    for secret in (PASSWORD, setup.token):
        outcome = authenticate(Credentials(user.username, secret), names)
        if not user.is_active:
            assert outcome.principal is None  # refused: a disabled account gets no token at all
            continue
        assert outcome.principal is not None, outcome.reason
        assert {name: f.role for name, f in outcome.projects.items()} == {
            p.name: setup.roles[p.pk] for p in setup.projects
        }
        grants = compute_grants(outcome.principal, scopes, outcome.projects)
        granted = {g.project_id: set(g.access.actions) for g in grants}
        over = {pk: actions - expected.get(pk, set()) for pk, actions in granted.items()}
        assert not any(over.values()), f"over-granted: {over}"
        assert granted == expected


@BOUNDED
@given(who=WHO, projects=PROJECTS, anonymous_list=st.booleans(), left=st.booleans())
def test_query_helpers_and_token_grants_answer_what_project_permissions_answers(
    db: Any, who: Any, projects: list[Any], anonymous_list: bool, left: bool
) -> None:
    with rolled_back():
        assert_queries_agree(build(who, projects, left=left), anonymous_list=anonymous_list)


def robot_grants(public: list[bool], covered: set[int], actions: set[str]) -> tuple[list[Project], dict[int, set[str]]]:
    """A system robot holding `actions` in the `covered` projects, asking for everything in each."""
    admin = User.objects.create(username="root", is_superuser=True)
    rows = Project.objects.bulk_create(Project(name=f"p{i}", is_public=flag) for i, flag in enumerate(public))
    robot, _ = create_robot(
        actor=Actor.for_user(admin),
        created_by=admin,
        name="ci",
        actions=actions,
        project_names=[rows[i].name for i in covered if i < len(rows)],
        expires_at=None,
    )
    scopes = parse_scopes([f"repository:{p.name}/app:{','.join(ACTIONS)}" for p in rows])
    granted = {g.project_id: set(g.access.actions) for g in compute_grants(Principal.for_robot(robot), scopes)}
    return rows, granted


@BOUNDED
@given(
    public=st.lists(st.booleans(), min_size=1, max_size=4),
    covered=st.sets(st.integers(0, 3)),
    actions=st.sets(st.sampled_from(ACTIONS), min_size=1),
)
def test_robots_get_their_own_actions_plus_what_everyone_gets_in_a_public_project(
    db: Any, public: list[bool], covered: set[int], actions: set[str]
) -> None:
    with rolled_back():
        rows, granted = robot_grants(public, covered, actions)
        for i, project in enumerate(rows):
            # What anyone gets there, read from the same rule as an anonymous client's pull.
            everyone = allowed_actions(project_permissions(None, role=None, is_public=project.is_public))
            own = actions if i in covered else set()
            assert granted.get(project.pk, set()) == own | everyone


# --- the rules live in one place: change them there, and every query follows ------------------------

EVERY_CASE = [(public, mine, None) for public in (False, True) for mine in (None, *Role)]
# Every pair of own and team role, and a team role alone, in private projects.
TEAM_CASES = [(False, mine, None, team, None, None) for mine in (None, *Role) for team in Role]
TEAM_CASES += [(False, None, None, None, team, strongest) for team in Role for strongest in (Role.PROJECT_ADMIN,)]
WHO_CASES = ["none", "anonymous", (False, True), (True, True), (False, False), (True, False)]


def _assert_everyone_agrees() -> None:
    for who in WHO_CASES:
        with rolled_back():
            assert_queries_agree(build(who, EVERY_CASE))
        with rolled_back():
            assert_queries_agree(build(who, TEAM_CASES, left=True))


def test_taking_view_from_guests_in_the_role_table_hides_their_private_projects(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = dict(permissions.ROLE_PERMISSIONS)
    table[Role.GUEST] = table[Role.GUEST] - {Perm.VIEW_PROJECT}
    monkeypatch.setattr(permissions, "ROLE_PERMISSIONS", table)
    with rolled_back():
        setup = build((False, True), [(False, Role.GUEST, None), (False, Role.DEVELOPER, None)])
        guest_project, developer_project = setup.projects
        assert list(Project.objects.for_user(setup.user)) == [developer_project]
        assert guest_project not in Project.objects.where_user_may(setup.user, Perm.VIEW_PROJECT)
    _assert_everyone_agrees()


def test_giving_sync_to_limited_guests_in_the_role_table_lists_their_projects(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = dict(permissions.ROLE_PERMISSIONS)
    table[Role.LIMITED_GUEST] = table[Role.LIMITED_GUEST] | {Perm.SYNC}
    monkeypatch.setattr(permissions, "ROLE_PERMISSIONS", table)
    with rolled_back():
        setup = build((False, True), [(False, Role.LIMITED_GUEST, None)])
        assert list(Project.objects.where_user_may(setup.user, Perm.SYNC)) == setup.projects
    _assert_everyone_agrees()


def test_public_projects_giving_nothing_hides_them_from_outsiders_anonymous_clients_and_robots(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(permissions, "PUBLIC_PERMISSIONS", frozenset())
    with rolled_back():
        setup = build((False, True), [(True, None, None)])
        assert not Project.objects.for_user(setup.user).exists()
        assert not Project.objects.where_user_may(None, Perm.PULL).exists()
    with rolled_back():
        _, granted = robot_grants([True], covered=set(), actions={"push"})
        assert granted == {}
    _assert_everyone_agrees()


def test_public_projects_giving_push_would_reach_robots_and_anonymous_clients_too(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(permissions, "PUBLIC_PERMISSIONS", permissions.PUBLIC_PERMISSIONS | {Perm.PUSH})
    with rolled_back():
        rows, granted = robot_grants([True], covered=set(), actions={"delete"})
        assert granted == {rows[0].pk: {"pull", "push"}}
    _assert_everyone_agrees()


def test_listing_a_users_projects_is_one_query(db: Any, django_assert_num_queries: Any) -> None:
    with rolled_back():
        setup = build((False, True), EVERY_CASE)
        with django_assert_num_queries(1):
            list(Project.objects.for_user(setup.user))
        with django_assert_num_queries(1):
            list(Project.objects.where_user_may(setup.user, Perm.SYNC))


# --- teams -----------------------------------------------------------------------------------------


def test_a_team_role_stronger_than_the_own_role_counts_and_a_weaker_one_does_not(db: Any) -> None:
    with rolled_back():
        setup = build((False, True), [(False, Role.GUEST, None, Role.MAINTAINER, None, None),
                                      (False, Role.MAINTAINER, None, Role.GUEST, None, None),
                                      (False, None, None, Role.LIMITED_GUEST, Role.DEVELOPER, None),
                                      (False, None, None, None, None, Role.PROJECT_ADMIN)])
        roles = dict(Project.objects.with_role(setup.user).values_list("name", "my_role"))
        assert roles == {"p0": Role.MAINTAINER, "p1": Role.MAINTAINER, "p2": Role.DEVELOPER, "p3": None}
        assert set(Project.objects.where_user_may(setup.user, Perm.PUSH).values_list("name", flat=True)) == {
            "p0", "p1", "p2"
        }


def test_leaving_a_team_takes_its_role_away_at_once(db: Any) -> None:
    with rolled_back():
        setup = build((False, True), [(False, None, None, Role.DEVELOPER, None, None)])
        assert Project.objects.where_user_may(setup.user, Perm.PUSH).exists()
        TeamMember.objects.filter(user=setup.user).delete()
        assert not Project.objects.for_user(setup.user).exists()
        scopes = parse_scopes(["repository:p0/app:pull,push"])
        assert compute_grants(principal_of(setup.user), scopes) == []


def test_an_inactive_team_member_holds_nothing_through_the_team(db: Any) -> None:
    with rolled_back():
        setup = build((False, False), [(False, None, None, Role.PROJECT_ADMIN, None, None)])
        assert not Project.objects.for_user(setup.user).exists()
        assert permissions_for(setup.user, setup.projects[0]) == frozenset()
