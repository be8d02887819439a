"""What each persona is granted, written out by hand, and a property: never more than allowed."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.permissions import Role, project_permissions
from accounts.registry_auth.grants import Principal, allowed_actions, compute_grants
from accounts.registry_auth.scopes import Scope, parse_scopes
from repositories.models import Membership, Project
from tests.conftest import World
from tests.factories import ProjectFactory, UserFactory

ALL = "pull,push,delete"
EXPECTED: dict[str, dict[str, set[str]]] = {
    # persona: {project: granted actions when asking pull,push,delete}
    "sysadmin": {"acme": {"pull", "push", "delete"}, "pub": {"pull", "push", "delete"}},
    "padmin": {"acme": {"pull", "push", "delete"}, "pub": {"pull", "push", "delete"}},
    "maintainer": {"acme": {"pull", "push", "delete"}, "pub": {"pull", "push", "delete"}},
    "developer": {"acme": {"pull", "push"}, "pub": {"pull", "push"}},
    "guest": {"acme": {"pull"}, "pub": {"pull"}},
    "limited": {"acme": {"pull"}, "pub": {"pull"}},
    "outsider": {"acme": set(), "pub": {"pull"}},
    "anonymous": {"acme": set(), "pub": {"pull"}},
}


def _principal(world: World, persona: str) -> Principal:
    return Principal.anonymous() if persona == "anonymous" else Principal.for_user(world.users[persona])


def _granted(principal: Principal, *scopes: str) -> dict[str, set[str]]:
    return {g.access.name: set(g.access.actions) for g in compute_grants(principal, parse_scopes(scopes))}


@pytest.mark.parametrize("persona", list(EXPECTED))
def test_grants_per_persona_in_private_and_public_projects(world: World, persona: str) -> None:
    granted = _granted(_principal(world, persona), f"repository:acme/app:{ALL}", f"repository:pub/app:{ALL}")
    for project, expected in EXPECTED[persona].items():
        assert granted.get(f"{project}/app", set()) == expected, (persona, project)


@pytest.mark.parametrize("persona", list(EXPECTED))
def test_granted_is_the_intersection_with_what_was_asked(world: World, persona: str) -> None:
    granted = _granted(_principal(world, persona), "repository:acme/app:pull", "repository:pub/app:push")
    assert granted.get("acme/app", set()) == EXPECTED[persona]["acme"] & {"pull"}
    assert granted.get("pub/app", set()) == EXPECTED[persona]["pub"] & {"push"}


@pytest.mark.parametrize("persona", list(EXPECTED))
def test_catalog_only_for_system_admins(world: World, persona: str) -> None:
    granted = _granted(_principal(world, persona), "registry:catalog:*")
    assert granted == ({"catalog": {"*"}} if persona == "sysadmin" else {})


def test_wharf_itself_gets_exactly_what_it_asked_including_the_catalog(db: Any) -> None:
    granted = _granted(Principal.wharf(), "registry:catalog:*", "repository:nowhere/app:delete")
    assert granted == {"catalog": {"*"}, "nowhere/app": {"delete"}}


def test_unknown_projects_grant_nothing_even_to_system_admins(world: World) -> None:
    assert _granted(Principal.for_user(world.users["sysadmin"]), f"repository:ghost/app:{ALL}") == {}


def test_single_component_names_belong_to_the_default_project(world: World) -> None:
    library = ProjectFactory(name="library", is_public=True)
    assert library.pk
    assert _granted(Principal.anonymous(), "repository:alpine:pull,push") == {"alpine": {"pull"}}
    assert _granted(Principal.for_user(world.users["developer"]), "repository:alpine:push") == {}


def test_a_disabled_user_is_granted_nothing_even_in_public_projects(world: World) -> None:
    user = world.users["maintainer"]
    user.is_active = False
    user.save()
    assert _granted(Principal.for_user(user), f"repository:pub/app:{ALL}", f"repository:acme/app:{ALL}") == {}


def test_fifty_scopes_over_many_projects_cost_one_query(
    world: World, django_assert_num_queries: Any
) -> None:
    for i in range(10):
        ProjectFactory(name=f"team{i}", is_public=i % 2 == 0)
    scopes = [f"repository:team{i % 10}/app{i}:pull,push" for i in range(48)]
    scopes += ["repository:acme/app:pull", "registry:catalog:*"]
    principal = Principal.for_user(world.users["developer"])
    parsed = parse_scopes(scopes)
    with django_assert_num_queries(1):
        granted = compute_grants(principal, parsed)
    assert {g.access.name for g in granted} == {"acme/app"} | {f"team{i % 10}/app{i}" for i in range(48) if i % 2 == 0}


# --- property: whatever the roles, visibility and scopes, never more than the permission module allows

ROLES = st.one_of(st.none(), st.sampled_from(list(Role)))
PROJECT_NAMES = ["p0", "p1", "p2"]
SCOPE_TEXT = st.one_of(
    st.builds(
        lambda project, repo, actions: f"repository:{project}/{repo}:{','.join(actions)}",
        st.sampled_from([*PROJECT_NAMES, "ghost"]),
        st.sampled_from(["app", "x/y", "a-b"]),
        st.lists(st.sampled_from(["pull", "push", "delete", "*", "junk"]), max_size=4),
    ),
    st.just("registry:catalog:*"),
    st.text(max_size=30),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    setup=st.lists(st.tuples(st.booleans(), ROLES), min_size=3, max_size=3),
    superuser=st.booleans(),
    active=st.booleans(),
    anonymous=st.booleans(),
    scopes=st.lists(SCOPE_TEXT, max_size=8),
)
def test_property_granted_never_exceeds_the_permission_module(
    db: Any,
    setup: list[tuple[bool, Role | None]],
    superuser: bool,
    active: bool,
    anonymous: bool,
    scopes: list[str],
) -> None:
    user = UserFactory(username="prop")
    user.is_superuser, user.is_active = superuser, active
    user.save()
    Membership.objects.filter(user=user).delete()
    allowed: dict[str, frozenset[str]] = {}
    for name, (is_public, role) in zip(PROJECT_NAMES, setup, strict=True):
        project, _ = Project.objects.update_or_create(name=name, defaults={"is_public": is_public})
        if role is not None:
            Membership.objects.create(project=project, user=user, role=role)
        subject = None if anonymous else user
        allowed[name] = allowed_actions(project_permissions(subject, role=role, is_public=is_public))
    principal = Principal.anonymous() if anonymous else Principal.for_user(user)
    asked: dict[tuple[str, str], set[str]] = {}
    for scope in parse_scopes(scopes):
        asked.setdefault((scope.type, scope.name), set()).update(scope.actions)
    for grant in compute_grants(principal, parse_scopes(scopes)):
        access = grant.access
        assert set(access.actions) <= asked[(access.type, access.name)]  # never more than asked
        if access.type == "registry":
            assert not anonymous and superuser and active
        else:
            assert set(access.actions) <= allowed[access.name.split("/", 1)[0]]


def test_scope_type_is_kept_apart_from_names(db: Any) -> None:
    # A repository literally named like the catalog does not get the catalog's '*'.
    assert parse_scopes(["repository:catalog:*"]) == []
    assert parse_scopes(["registry:catalog:*"]) == [Scope("registry", "catalog", frozenset({"*"}))]
